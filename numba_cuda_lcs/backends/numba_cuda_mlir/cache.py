"""Disk cache: numba-cuda-mlir's, with LC-S entries keyed per launch key.

What the package adds to a compiler's cache is compiler-neutral
(:mod:`numba_cuda_lcs.disk_cache`: the index extra, the saved key, the
``.lcs`` marker, faults as misses); this module binds it to numba-cuda-mlir's
``MLIRCache``.  The kernel itself uses :class:`LCSCache` with no launch key:
its index keys are numba-cuda-mlir's own (plain kernels hit and miss exactly
as without the package, and share entries with processes that do not use
it).  A specialization's cache holds its launch key for every entry.

numba-cuda-mlir skips its disk cache for every kernel while a
whole-function planner is registered; numba-cuda-lcs registers none, and
caches what is compiled meanwhile under keys that hold the planners'
identity (``planned_cache.py``).

Compile once across processes: numba-cuda-mlir's ``_compile_impl`` loads,
compiles and saves in one method, so the entry's lock is claimed where a
load misses (:meth:`LCSCache.load_overload`: while another process holds
it, wait and load what it saved) and released after the save
(:meth:`LCSCache.save_overload`), or by the wrapped ``_compile_impl`` /
``_compile_public`` when the compile fails or its result goes elsewhere
(:meth:`LCSCache.release_lock`).  A kernel found LC-S meanwhile (the holder
wrote the marker) asks the launch to route again (``state.launching.on_marked``).
"""

import threading

from ... import cache_locks, disk_cache, tls
from .manifest import NAMES
from .state import launching

#: Compile-result metadata numba-cuda-mlir's entries leave out that a
#: planner's kernel needs at launch (the dynamic shared memory it requires):
#: kept in LC-S entries under this payload field.
KEPT_METADATA = "numba_cuda_lcs_metadata"


class LCSCacheImpl(NAMES.MLIRCacheImpl):
    """Stores the launch key inside each LC-S entry (and the launch metadata
    numba-cuda-mlir's payload does not hold)."""

    lcs_launch_key = None

    def reduce(self, cres):
        payload = super().reduce(cres)
        if self.lcs_launch_key is not None:
            required = cres.metadata.get(NAMES.REQUIRED_DYNAMIC_SHARED_MEMORY_KEY)
            if required:
                payload = dict(
                    payload, **{KEPT_METADATA: {NAMES.REQUIRED_DYNAMIC_SHARED_MEMORY_KEY: required}}
                )
        return disk_cache.with_saved_key(payload, self.lcs_launch_key)

    def rebuild(self, target_context, payload):
        payload, saved_key = disk_cache.split_saved_key(payload)
        kept = payload.pop(KEPT_METADATA, None)
        cres = super().rebuild(target_context, payload)
        if kept:
            cres.metadata.update(kept)
        cres.metadata[disk_cache.SAVED_KEY] = saved_key
        return cres


class LCSCache(disk_cache.LCSDiskCache, NAMES.MLIRCache):
    """numba-cuda-mlir's MLIRCache, keyed per launch key for LC-S
    specializations (see the module docstring)."""

    _impl_class = LCSCacheImpl

    def __init__(self, py_func, targetoptions=None, launch_key=None, mask=0):
        super().__init__(py_func, targetoptions)
        self.lcs_launch_key = self._impl.lcs_launch_key = launch_key
        self.lcs_mask = mask
        self._lcs_held = {}  # thread id -> the entry lock it holds

    # -- what numba_cuda_lcs.disk_cache needs from numba-cuda-mlir's cache -------

    def lcs_location(self):
        return self._name, self._cache_path, self._impl.filename_base

    def lcs_ensure_directory(self):
        self._impl.locator.ensure_cache_path()

    def lcs_reset_unreadable_index(self):
        try:
            self._cache_file._load_index()
        except Exception:
            self._cache_file.flush()  # truncated or corrupted: start afresh

    def _index_key(self, sig, codegen):
        return self.lcs_index_key(super()._index_key(sig, codegen))

    # -- numba-cuda-mlir's load and save, through the shared layer ------------------

    def load_overload(self, sig, target_context):
        result = self._load(sig, target_context)
        if result is not None or not self._enabled:
            # A disabled cache (its marker could not be written) saves
            # nothing: no other process should wait for it.
            return result
        self.release_lock()
        path = self.lcs_lock_path(self._index_key(sig, target_context.codegen()))
        waiter = self.lcs_waiter()
        while True:
            claim = waiter.claim(path)
            if claim.outcome == cache_locks.UNLOCKED:
                return None  # compile without the lock
            if claim.outcome == cache_locks.HELD:
                try:
                    self._check_marker()
                    result = self._load(sig, target_context)
                except BaseException:
                    claim.lock.release()
                    raise
                if result is not None:
                    claim.lock.release()
                    return result
                # Released after the save, or by the compile's wrapper.
                self._lcs_held[threading.get_ident()] = claim.lock
                return None
            self._check_marker()  # RELEASED: what did the holder save?
            result = self._load(sig, target_context)
            if result is not None:
                return result

    def _load(self, sig, target_context):
        return self.lcs_load(
            lambda: super(LCSCache, self).load_overload(sig, target_context),
            lambda cres: cres.metadata.pop(disk_cache.SAVED_KEY, None),
        )

    def _check_marker(self):
        """The kernel's own cache (plain key): if another process found the
        kernel LC-S meanwhile, the launch compiling it routes again."""
        on_marked = launching.on_marked
        if on_marked is not None and self.lcs_launch_key is None:
            marker = self.read_marker()
            if marker:
                on_marked(marker)

    def holds_lock(self):
        """Whether this thread holds an entry lock of this cache (a miss
        claimed it: this thread compiles, others wait for its save)."""
        return threading.get_ident() in self._lcs_held

    def release_lock(self):
        """Release the entry lock this thread holds here, if any."""
        lock = self._lcs_held.pop(threading.get_ident(), None)
        if lock is not None:
            lock.release()

    def save_overload(self, sig, data):
        # A compile that marked fields this cache's key does not hold
        # (the kernel itself: any) is saved by the specialization it
        # moves to, under that key.
        if tls.in_compile() and tls.compile_marks() & ~self.lcs_mask:
            return
        if not self._enabled:  # disabled: numba-cuda-mlir would save nothing
            self.release_lock()
            return
        try:
            self.lcs_save(lambda: super(LCSCache, self).save_overload(sig, data))
        finally:
            self.release_lock()

    def save_moved(self, compiled, sig=None):
        """Save a result compiled elsewhere and moved here (under *sig*,
        default its own signature)."""
        cres = getattr(compiled, "cres", compiled)
        if not self._enabled:
            return
        sig = cres.signature if sig is None else sig
        self.lcs_save(lambda: super(LCSCache, self).save_overload(sig, cres))
