"""The disk cache while whole-function planners are registered.

numba-cuda-mlir skips its disk cache for every kernel while any planner is
registered, and keeps the kernels a planner made launch-dependent
(``require_launch_config``) in memory only: its cache key holds neither the
planners nor the launch.  With numba-cuda-lcs active, a ``cache=True``
kernel compiled while planners are registered is saved and loaded under a
key that holds both:

    ("planned", <fingerprint of the registered planners>,
     <our launch key (a specialization's) or None>,
     <numba-cuda-mlir's launch-config key, or None for a generic entry>)

(added to numba-cuda-mlir's own index key through the shared LC-S layer:
``numba_cuda_lcs.disk_cache``; the key is also stored inside each entry and
checked on load).  A changed, added or removed planner changes the
fingerprint (``planners.py``), so an old entry is never loaded.

numba-cuda-mlir's semantics stay: a kernel a planner makes launch-dependent
gets one specialization per launch configuration, in numba-cuda-mlir's own
tables; we only fill them from disk, exactly where its compile would have
put the result.  The first process that finds the kernel launch-dependent
writes a marker (``<index base>.planned-<fingerprint>``), so later processes
know it before compiling and load the configuration's entry directly.

Not covered (compiled as numba-cuda-mlir does, never cached): kernels with
literal-argument retries, eager compiles (``kernel.compile(sig)``), and
kernels while a planner that cannot be fingerprinted is registered (one
warning per kernel).  Processes sharing the cache compile each entry once
(the entry lock of ``numba_cuda_lcs.cache_locks``, claimed on a miss and
released after the save); processes started together on a kernel not yet
known to be launch-dependent wait on its generic entry, then find the
marker and load the configuration's entry.
"""

import json
import os
import threading

from ... import disk_cache, tls, user_warnings
from ..._version import __version__ as LCS_VERSION
from .cache import LCSCache
from .manifest import NAMES
from .planners import registered

_warned: set[int] = set()
_warned_lock = threading.Lock()


def _compile_result(cres):
    """What numba-cuda-mlir's ``_compile_impl`` returns for a compiled kernel."""
    metadata = cres.metadata
    return (metadata["cubin"], metadata["func_name"], metadata.get("use_cooperative", False))


class PlannedCompile:
    """One launch-triggered compile of a kernel while planners are registered:
    what it would load (:meth:`load`) and, after numba-cuda-mlir compiled,
    what it saves (:meth:`save`)."""

    def __init__(self, dispatcher, cache, planners, argtypes, launch_config, per_configuration):
        self.dispatcher = dispatcher
        self.cache = cache  # the kernel's LCSCache (None: count only)
        self.planners = planners
        self.argtypes = argtypes
        self.launch_config = launch_config  # numba-cuda-mlir's dict, or None
        # Whether numba-cuda-mlir compiles this for its launch configuration
        # (a planner required it, an extension uses it, or it is forced).
        self.per_configuration = per_configuration
        self.loaded = False
        self.claimed = None  # the entry cache whose lock this compile holds
        with dispatcher._launch_config_lock:
            self.generation = dispatcher._launch_config_generation
            self.required_before = dispatcher._requires_launch_config
            self.launch_entries_before = set(dispatcher._launch_config_overloads)
        self.generic_before = set(dispatcher.overloads)

    # -- keys ---------------------------------------------------------------------

    def _config_key(self):
        return NAMES.launch_config_key(NAMES.normalize_available_launch_config(self.launch_config))

    def _entry_cache(self, config_key, cache=None):
        """A cache object for one planned entry of this kernel (or of the
        specialization whose cache is *cache*)."""
        cache = self.cache if cache is None else cache
        return LCSCache(
            self.dispatcher.py_func,
            self.dispatcher.targetoptions,
            launch_key=(
                "planned",
                self.planners.fingerprint,
                cache.lcs_launch_key,  # a specialization's key, or None
                config_key,
            ),
            mask=cache.lcs_mask,
        )

    def _signature(self):
        """The signature numba-cuda-mlir indexes this compile's entry under."""
        return NAMES.typing.signature(NAMES.types.none, *self.argtypes)

    @property
    def _marker_path(self):
        _name, directory, base = self.cache.lcs_location()
        return os.path.join(directory, f"{base}.planned-{self.planners.fingerprint[:32]}")

    def _source_stamp(self):
        """The kernel's source stamp as numba's cache index records it (a
        marker written for another version of the kernel's source is
        ignored, as numba ignores that version's index)."""
        return repr(self.cache._cache_file._source_stamp)

    def _marked_launch_dependent(self):
        if not self.cache.lcs_trusted():
            return False
        try:
            with open(self._marker_path, "rb") as f:
                recorded = json.loads(f.read().decode("utf-8"))
            return (
                recorded.get("fingerprint") == self.planners.fingerprint
                and recorded.get("source_stamp") == self._source_stamp()
            )
        except Exception:  # none, unreadable or foreign: compile as if none
            return False

    def _write_marker(self):
        disk_cache.write_json(
            self._marker_path,
            {
                "numba_cuda_lcs": LCS_VERSION,
                "planners": list(self.planners.names),
                "fingerprint": self.planners.fingerprint,
                "source_stamp": self._source_stamp(),
                "requires_launch_config": True,
            },
            self.cache.lcs_ensure_directory,
        )

    # -- load -----------------------------------------------------------------

    def load(self):
        """The compiled kernel from disk, published where numba-cuda-mlir's
        compile would have put it; None on a miss."""
        if self.cache is None:
            return None
        dispatcher = self.dispatcher
        requires = self.per_configuration
        if not requires and self.launch_config is not None and self._marked_launch_dependent():
            # Another process found the planners make this kernel depend on
            # the launch: numba-cuda-mlir's own switch, as its compile flips it.
            dispatcher._mark_requires_launch_config()
            requires = True
        if requires:
            if self.launch_config is None:
                return None
            config_key = self._config_key()
            with dispatcher._launch_config_lock:
                if dispatcher._find_launch_config_overload_locked(self.argtypes, config_key):
                    return None  # in memory: numba-cuda-mlir returns it
        else:
            config_key = None
            if self.argtypes in dispatcher.overloads:
                return None
        cres = self._load_or_claim(config_key)
        if cres is None and config_key is None and self.launch_config is not None:
            # Started with other processes: the one that held the generic
            # entry's lock may have found the kernel launch-dependent (its
            # marker), and saved this configuration's entry.
            if self._marked_launch_dependent():
                self.release()
                dispatcher._mark_requires_launch_config()
                config_key = self._config_key()
                with dispatcher._launch_config_lock:
                    if dispatcher._find_launch_config_overload_locked(self.argtypes, config_key):
                        return None
                cres = self._load_or_claim(config_key)
        if cres is None:
            return None
        wrapped = NAMES.CompileResult(cres)
        with dispatcher._launch_config_lock:
            if dispatcher._launch_config_generation != self.generation:
                return None  # recompile() meanwhile: compile afresh
            dispatcher._propagate_compile_callbacks(cres.metadata)
            dispatcher._apply_shared_memory_carveout(wrapped)
            if config_key is None:
                dispatcher.overloads[self.argtypes] = wrapped
                dispatcher._cache_hits[self.argtypes] += 1
            else:
                overloads = dispatcher._launch_config_overloads
                overloads.setdefault((self.argtypes, config_key), wrapped)
                overloads.setdefault((tuple(cres.signature.args), config_key), wrapped)
        self.loaded = True
        return _compile_result(cres)

    def _load_or_claim(self, config_key):
        """The entry of *config_key*; on a miss this thread holds its lock
        (others wait for the save), unless another process compiled it
        meanwhile (then it is loaded) -- compile once across processes, as
        for every other entry (``numba_cuda_lcs.cache_locks``)."""
        entry = self._entry_cache(config_key)
        cres = entry.load_overload(self._signature(), NAMES.mlir_target.target_context)
        if cres is None and entry.holds_lock():
            self.claimed = entry
        return cres

    def release(self):
        """Release the entry lock this compile holds, if any (after the save,
        or when the compile failed)."""
        claimed, self.claimed = self.claimed, None
        if claimed is not None:
            claimed.release_lock()

    # -- save -----------------------------------------------------------------

    def new_results(self):
        """[(config key or None, compile result)] numba-cuda-mlir published
        for this compile's argument types."""
        dispatcher = self.dispatcher
        found = []
        with dispatcher._launch_config_lock:
            for (argtypes, config_key), wrapped in list(
                dispatcher._launch_config_overloads.items()
            ):
                if (argtypes, config_key) in self.launch_entries_before:
                    continue
                if argtypes == self.argtypes:
                    found.append((config_key, wrapped))
        generic = dispatcher.overloads.get(self.argtypes)
        if generic is not None and self.argtypes not in self.generic_before:
            found.append((None, generic))
        return found

    def save(self, results):
        """Save *results* (:meth:`new_results`) under their planned keys."""
        if self.cache is None or not results:
            return
        if not self.planners_unchanged():
            return  # planners changed while it compiled: which ones ran is unknown
        if not self.required_before and self.dispatcher._requires_launch_config:
            self._write_marker()
        if tls.compile_marks() & ~self.cache.lcs_mask:
            # Marked through numba-cuda-lcs beyond this cache's key: a generic
            # result moves to the specialization of its key (compile.py),
            # which saves it; launch-config results are keyed by the whole
            # configuration, finer than any marks.
            results = [(key, wrapped) for key, wrapped in results if key is not None]
        for config_key, wrapped in results:
            self.save_result(config_key, wrapped)
        # Saved (and the marker written): processes waiting for the lock
        # load what they need.
        self.release()

    def planners_unchanged(self):
        now = registered()
        return now is not None and now.fingerprint == self.planners.fingerprint

    def save_result(self, config_key, wrapped, cache=None):
        """Save *wrapped* under its planned key (in this kernel's cache, or
        in the specialization's whose cache is *cache*)."""
        entry = self._entry_cache(config_key, cache)
        entry.save_moved(getattr(wrapped, "cres", wrapped), self._signature())


def save_moved(plan, cache, compiled):
    """Save *compiled*, moved to the specialization whose cache is *cache*:
    under its planned key while planners are registered (*plan*), never
    under a key a process without them would load."""
    if plan is None:
        cache.save_moved(compiled)
    elif plan.cache is not None and plan.planners_unchanged():
        plan.save_result(None, compiled, cache)


def begin(dispatcher, args):
    """A :class:`PlannedCompile` for a launch-triggered compile of
    *dispatcher* while planners are registered; None otherwise."""
    planners = registered()
    if planners is None:
        return None
    cache = dispatcher._cache
    if not isinstance(cache, LCSCache) or not cache._enabled:
        cache = None
    elif planners.fingerprint is None:
        _warn_unidentified(dispatcher, planners)
        cache = None
    if dispatcher._literal_arg_positions:
        cache = None  # numba-cuda-mlir retypes literal arguments: not covered
    request = NAMES.compile_arg_types
    argtypes = getattr(request, "types", None)
    if argtypes is not None:
        argtypes = tuple(argtypes)
    else:
        argtypes = tuple(NAMES.typeof(arg) for arg in args)
    launch_config = getattr(request, "launch_config", None)
    if launch_config is None:
        launch_config = getattr(request, "available_launch_config", None)
    # What numba-cuda-mlir's _compile_impl keys by the configuration.
    extensions = getattr(request, "extensions", None)
    if extensions is None:
        extensions = dispatcher.extensions
    per_configuration = bool(
        getattr(request, "force_launch_config", False)
        or dispatcher._requires_launch_config
        or NAMES.extensions_use_launch_config(extensions)
    )
    if cache is not None:
        # We cache launch-config specializations: numba-cuda-mlir's notice
        # that it cannot would be wrong.
        dispatcher._launch_config_cache_notice_emitted = True
    return PlannedCompile(dispatcher, cache, planners, argtypes, launch_config, per_configuration)


def _warn_unidentified(dispatcher, planners):
    with _warned_lock:
        if id(dispatcher) in _warned:
            return
        _warned.add(id(dispatcher))
    user_warnings.warn(
        f"numba-cuda-lcs: the whole-function planner {planners.unidentified} refers "
        "to a callable whose behaviour cannot be read (not Python code, not a "
        "builtin, not picklable), so it cannot be part of a disk-cache key; kernel "
        f"{dispatcher.__name__!r} is not disk-cached while it is registered. Give "
        "the planner class an 'lcs_cache_key' (a string that changes whenever its "
        "behaviour does) to cache kernels compiled with it."
    )
