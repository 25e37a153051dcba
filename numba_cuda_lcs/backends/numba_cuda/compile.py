"""Compiling a kernel for the launch that needs it.

``CUDADispatcher.compile`` is replaced by :func:`compile_kernel`: it opens a
compile frame for the configured launch being compiled for (so every hook
sees it and marks land on this compilation only), builds or loads the
kernel, and tags an LC-S kernel with the fields it depends on and the key it
was compiled for.  Follows numba-cuda 0.30.4's ``CUDADispatcher.compile``
(signature normalisation, ``_specialized`` shortcut, overload reuse).
"""

import time

from ... import cache_locks, disk_cache, marks, tls
from ... import keys as _keys
from ... import launchconfig as _launchconfig
from ...errors import LaunchConfigUnavailableError
from .cache import LCSCache
from .manifest import BUILTIN_MISSING_CONFIG_TEXT
from .manifest import NAMES as nb
from .records import KernelTag, state_of
from .routing import JIT_OPTIONS, root_of, routing_of


def config_for_compile(root):
    """The configured launch a compile of *root* (or its child) serves."""
    config = tls.current_config()
    if config is None and not tls.in_compile():
        config = nb.builtin_current_config()
    if config is not None and getattr(config, "dispatcher", None) is not root:
        # Another kernel's launch is compiling (a hook compiling this kernel
        # eagerly): that configuration is not ours.
        config = None
    return config


def _is_missing_config_error(exc):
    return isinstance(exc, LaunchConfigUnavailableError) or (
        isinstance(exc, RuntimeError) and BUILTIN_MISSING_CONFIG_TEXT in str(exc)
    )


def compile_kernel(self, sig):
    """Replacement for ``CUDADispatcher.compile``."""
    argtypes, return_type = nb.normalize_signature(sig)
    if return_type is not None and return_type != nb.none_type:
        raise TypeError(f"CUDA kernels return None; got return type {return_type}")
    with nb.compiler_lock:
        if self._specialized and self.overloads:
            return next(iter(self.overloads.values()))
        kernel = self.overloads.get(argtypes)
        if kernel is not None:
            return kernel
        root = root_of(self)
        config = config_for_compile(root)
        try:
            with _launchconfig.compile_frame(root, config):
                kernel = _obtain_kernel(self, root, sig, argtypes, config)
        except RuntimeError as exc:
            if config is None and _is_missing_config_error(exc):
                raise LaunchConfigUnavailableError(
                    f"No launch config set for this thread: kernel "
                    f"{self.__name__!r} asked for its launch configuration "
                    f"while compiling {argtypes} with no launch in progress "
                    "(explicit signature, compile() or recompile()). It is "
                    "launch-config sensitive, so it can only compile for a "
                    "launch: declare it without a signature (@cuda.jit) and "
                    "launch it, or use kernel.specialize(...) / "
                    "kernel.forall(n), which compile at launch."
                ) from exc
            raise
        if kernel.launch_config_sensitive:
            routing = routing_of(root)
            routing.widen(kernel._lcs.mask)
            if self is root and routing.default_keys is None and routing.deferred_sigs is None:
                routing.default_keys = config._lcs_keys
                # The launch compiling it is the first one it serves (later
                # ones are counted on the launch path).
                root._lcs.hits += 1
        self.add_overload(kernel, argtypes)
        return kernel


def _tag(kernel, mask, config, compile_seconds=None):
    kernel.launch_config_sensitive = bool(mask)
    tag = kernel._lcs
    if tag is None:
        tag = kernel._lcs = KernelTag()
    if compile_seconds is not None:
        tag.compile_seconds = compile_seconds
    if mask:
        tag.mask = mask
        tag.key = config._lcs_keys[mask]
        tag.compiled_for = (config.griddim, config.blockdim, config.sharedmem)


def _launch_bounds_enabled(root):
    value = root.targetoptions.get("lcs_launch_bounds")
    if value is None:
        state = root._lcs
        value = state is not None and bool(state.launch_bounds)
    return bool(value)


def set_launch_bounds_from_block(root, enabled):
    state_of(root).launch_bounds = bool(enabled)


def _build_kernel(self, argtypes, config):
    root = root_of(self)
    options = {k: v for k, v in self.targetoptions.items() if k not in JIT_OPTIONS}
    if _launch_bounds_enabled(root):
        if options.get("launch_bounds") is not None:
            raise ValueError(
                f"kernel {root.__name__!r}: lcs_launch_bounds=True infers "
                "launch_bounds from the block size; do not also pass launch_bounds="
            )
        if config is None:
            raise LaunchConfigUnavailableError(
                f"No launch config set for this thread: kernel {root.__name__!r} "
                "infers its launch bounds from the block size "
                "(lcs_launch_bounds=True), so it can only compile for a launch"
            )
        blockdim = config.blockdim
        options["launch_bounds"] = blockdim[0] * blockdim[1] * blockdim[2]
        tls.add_marks(_keys.BLOCKDIM)
    started = time.perf_counter()
    kernel = nb.Kernel(self.py_func, argtypes, **options)
    kernel.bind()  # codegen now, so that there is a cubin to cache
    _tag(kernel, tls.compile_marks(), config, time.perf_counter() - started)
    state_of(root).compiles += 1
    return kernel


def _obtain_kernel(self, root, sig, argtypes, config):
    cache = self._cache
    if isinstance(cache, nb.CUDACache) and not isinstance(cache, LCSCache):
        # Caching was enabled before we were installed: upgrade it.
        cache = self._cache = LCSCache(self.py_func)
    if not isinstance(cache, LCSCache):
        if not self._can_compile:
            raise RuntimeError("Compilation disabled")
        return _build_kernel(self, argtypes, config)

    # Load, else compile once across processes: claim the entry's lock, and
    # while another process holds it wait, then load what it saved.  The
    # entry (its mask, so its key) is read afresh after every wait: the
    # holder may have found the kernel LC-S and written the marker.
    routing = root._lcs.routing if root._lcs is not None else None
    waiter = None
    lock = None
    try:
        while True:
            marker_mask = cache.read_marker()
            mask = (marker_mask or 0) | (routing.mask if routing is not None else 0)
            kernel, launch_key = _load(self, cache, sig, mask, config)
            if kernel is not None:
                self._cache_hits[sig] += 1
                state_of(root).cache_loads += 1
                if kernel.launch_config_sensitive:
                    # Saved under this mask's key: valid for every launch that
                    # has the same key.
                    _tag(kernel, mask, config)
                return kernel
            if mask and config is None:
                break  # nothing to key an entry by: compile in memory
            path = cache.lock_path_for(sig, self.targetctx.codegen(), launch_key)
            if lock is not None:
                if lock.path == path:
                    break  # held, and still a miss: compile it
                lock.release()  # the entry changed (the kernel turned LC-S)
                lock = None
            if waiter is None:
                waiter = cache.lcs_waiter()
            claim = waiter.claim(path)
            if claim.outcome == cache_locks.HELD:
                lock = claim.lock  # load once more under it
            elif claim.outcome != cache_locks.RELEASED:
                break  # compile without the lock

        self._cache_misses[sig] += 1
        if not self._can_compile:
            raise RuntimeError("Compilation disabled")
        kernel = _build_kernel(self, argtypes, config)
        if kernel.launch_config_sensitive:
            mask |= kernel._lcs.mask
        if mask:
            if marker_mask != mask and not cache.write_marker(mask):
                _disable_disk_cache(self, root, cache)
                return kernel
            if config is None:
                return kernel  # nothing to key an entry of an LC-S kernel by
            cache.save_for(sig, kernel, config._lcs_keys[mask])
        else:
            cache.save_for(sig, kernel, None)
        return kernel
    finally:
        if lock is not None:
            lock.release()


def _load(self, cache, sig, mask, config):
    """(the entry for *mask*'s key of *config*, or None; that key)."""
    if not mask:
        kernel = cache.load_for(sig, self.targetctx, None)
        if kernel is not None and kernel.launch_config_sensitive:
            # An LC-S entry without a marker: whoever wrote it, it cannot be
            # trusted for this configuration.  Recompile and re-mark.
            kernel = None
        return kernel, None
    if config is None:
        return None, None
    launch_key = config._lcs_keys[mask]
    return cache.load_for(sig, self.targetctx, launch_key), launch_key


def _disable_disk_cache(self, root, cache):
    disk_cache.warn_caching_disabled(root.__name__, cache)
    for dispatcher in (root, *root._launch_config_specializations.values(), self):
        dispatcher._cache = nb.NullCache()


def mark_launch_config_sensitive(self):
    """Replacement for ``CUDADispatcher.mark_launch_config_sensitive`` (the
    built-in marking API): marks the compilation in progress, all fields."""
    config = _launchconfig.current_launch_config()
    if config is None:
        raise LaunchConfigUnavailableError(
            "No launch config set for this thread: "
            "mark_launch_config_sensitive() " + _launchconfig.MISSING_CONFIG_HINT
        )
    if getattr(config, "dispatcher", None) is not root_of(self):
        raise RuntimeError(
            "mark_launch_config_sensitive() must be called on the active "
            "launch configuration's dispatcher"
        )
    marks.mark(config, _keys.ALL_FIELDS, "mark_launch_config_sensitive")
