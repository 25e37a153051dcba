"""Disk cache: numba-cuda-mlir's, with LC-S entries keyed per launch key.

What the package adds to a compiler's cache is compiler-neutral
(:mod:`numba_cuda_lcs.disk_cache`: the index extra, the saved key, the
``.lcs`` marker, faults as misses); this module binds it to numba-cuda-mlir's
``MLIRCache``.  The kernel itself uses :class:`LCSCache` with no launch key:
its index keys are numba-cuda-mlir's own (plain kernels hit and miss exactly
as without the package, and share entries with processes that do not use
it).  A specialization's cache holds its launch key for every entry.

numba-cuda-mlir skips its disk cache for every kernel while a
whole-function planner is registered; numba-cuda-lcs registers none.
"""

from ... import disk_cache, tls
from .manifest import NAMES


class LCSCacheImpl(NAMES.MLIRCacheImpl):
    """Stores the launch key inside each LC-S entry."""

    lcs_launch_key = None

    def reduce(self, cres):
        return disk_cache.with_saved_key(super().reduce(cres), self.lcs_launch_key)

    def rebuild(self, target_context, payload):
        payload, saved_key = disk_cache.split_saved_key(payload)
        cres = super().rebuild(target_context, payload)
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
        return self.lcs_load(
            lambda: super(LCSCache, self).load_overload(sig, target_context),
            lambda cres: cres.metadata.pop(disk_cache.SAVED_KEY, None),
        )

    def save_overload(self, sig, data):
        # A compile that marked fields this cache's key does not hold
        # (the kernel itself: any) is saved by the specialization it
        # moves to, under that key.
        if tls.in_compile() and tls.compile_marks() & ~self.lcs_mask:
            return
        self.lcs_save(lambda: super(LCSCache, self).save_overload(sig, data))

    def save_moved(self, compiled):
        """Save a result compiled elsewhere and moved here."""
        cres = getattr(compiled, "cres", compiled)
        self.lcs_save(lambda: super(LCSCache, self).save_overload(cres.signature, cres))
