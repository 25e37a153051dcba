"""The one module that touches numba-cuda internals.

Everything numba-cuda-lcs changes in numba-cuda is installed by
:func:`install` and removed by :func:`uninstall`; :data:`REPLACED` names each
attribute and why.  Nothing else in the package imports numba-cuda's private
modules.  Supported: numba-cuda 0.30.x (checked by :func:`check_version`).

How a launch works while installed
----------------------------------
``kernel[grid, block]`` returns a :class:`LaunchConfiguration` (numba-cuda's
``configure`` builds whatever ``numba.cuda.dispatcher._LaunchConfiguration``
names, so we replace that name).  Calling it reaches :func:`_call`:

1. Routing.  A dispatcher that has compiled a launch-config-sensitive (LC-S)
   kernel carries a :class:`_Routing` in ``_lcs_state``: the union of the
   fields its kernels depend on and a dict from launch key to the dispatcher
   that serves it -- the dispatcher itself for its default configuration, a
   child dispatcher (kept in numba-cuda's ``_launch_config_specializations``)
   for every other key.  Plain dispatchers have ``_lcs_state = None`` and pay
   one attribute read.
2. numba-cuda's C ``_cuda_call`` resolves (or compiles) the overload.  When it
   compiles, it publishes the configuration in numba-cuda's own TLS; our
   :func:`_compile` then opens a compile frame in our TLS, so every hook sees
   the configuration and marks land on this compilation only.
3. Verification.  Each LC-S kernel records the key it was compiled for.  A
   kernel is launched only if the launch's key (for the kernel's fields)
   equals it; otherwise the launch is re-routed to a specialization.  This is
   what makes concurrent first launches with different configurations
   correct: a thread that waited for another thread's compile and got its
   kernel notices the mismatch instead of launching it.
"""

import collections
import json
import os
import threading
import time
import warnings

import numba_cuda
from numba.cuda import dispatcher as _nb_dispatcher
from numba.cuda import launchconfig as _nb_launchconfig
from numba.cuda import types as _nb_types
from numba.cuda.cext import _dispatcher as _nb_cext
from numba.cuda.core import sigutils as _nb_sigutils
from numba.cuda.core.caching import NullCache as _NullCache
from numba.cuda.core import ir as _nb_ir
from numba.cuda.cudadrv import devices as _nb_devices
from numba.cuda.core.errors import NumbaPerformanceWarning
from numba.cuda.core.compiler_lock import global_compiler_lock as _compiler_lock
from numba.cuda.core.rewrites import Rewrite as _NbRewrite
from numba.cuda.core.rewrites import rewrite_registry as _nb_rewrite_registry

from ._version import __version__ as _lcs_version
from . import keys as _keys
from . import launch as _launch
from . import launchconfig as _launchconfig
from . import marks as _marks
from .configuration import LaunchConfigMarking, LazyLaunchKeys
from .errors import (
    LaunchConfigSpecializationError,
    LaunchConfigUnavailableError,
    UnsupportedNumbaCudaError,
)
from .patching import PatchSet
from .tls import impl as _tls

SUPPORTED_SERIES = (0, 30)

_CUDADispatcher = _nb_dispatcher.CUDADispatcher
_Kernel = _nb_dispatcher._Kernel
_ForAll = _nb_dispatcher.ForAll
_StockLaunchConfiguration = _nb_dispatcher._LaunchConfiguration
_StockCUDACache = _nb_dispatcher.CUDACache
_cuda_call = _nb_cext.Dispatcher._cuda_call
_CONFIG_KW = _nb_dispatcher._LAUNCH_CONFIG_KW
_builtin_current_config = _nb_cext.get_current_launch_config
_get_current_device = _nb_dispatcher.get_current_device
_get_context = _nb_dispatcher.get_context
_core_launch = _nb_dispatcher.launch
_CoreLaunchConfig = _nb_dispatcher.LaunchConfig
_CUDA_CORE_GE_1_0 = _nb_dispatcher.CUDA_CORE_GE_1_0
_attached_context = _nb_devices._runtime._get_attached_context

# Hot-path bindings.
_swap_args = _tls.swap_args
_current_config = _tls.current_config
_in_compile = _tls.in_compile
_ALL = _keys.ALL_FIELDS


def parse_version(text):
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_version(version=None):
    """Raise :class:`UnsupportedNumbaCudaError` unless *version* (default:
    the installed numba-cuda) is a 0.30.x release."""
    version = numba_cuda.__version__ if version is None else version
    if parse_version(version)[:2] != SUPPORTED_SERIES:
        raise UnsupportedNumbaCudaError(
            f"numba-cuda-lcs {_lcs_version} supports numba-cuda 0.30.x, but "
            f"numba-cuda {version} is installed. Install "
            "'numba-cuda>=0.30.4,<0.31', or set NUMBA_CUDA_LCS_DISABLE=1 to "
            "leave numba-cuda untouched."
        )


# --------------------------------------------------------------------------
# The configured launch
# --------------------------------------------------------------------------


class LaunchConfiguration(LaunchConfigMarking, _StockLaunchConfiguration):
    """What ``kernel[grid, block]`` returns while numba-cuda-lcs is active.

    numba-cuda's configured launch (``dispatcher``, ``griddim``, ``blockdim``
    as normalized 3-tuples, ``stream``, ``sharedmem``,
    ``pre_launch_callbacks``) plus the marking API.  ``args`` are the
    arguments of the launch in progress on this thread, visible while it
    compiles and in pre-launch callbacks; None otherwise.
    """

    @property
    def args(self):
        return _tls.current_args()

    def _push_args(self, args):
        return _swap_args(args)

    def _pop_args(self, prev):
        _swap_args(prev)

    def _launched_kernel_is_sensitive(self):
        state = self.dispatcher._lcs_state
        return state is not None and state.mask != 0

    def __repr__(self):
        name = getattr(self.dispatcher, "__name__", "?")
        return (
            f"<LaunchConfiguration {name}[griddim={self.griddim}, "
            f"blockdim={self.blockdim}, sharedmem={self.sharedmem}]>"
        )


# --------------------------------------------------------------------------
# Routing state
# --------------------------------------------------------------------------


MAX_SPECIALIZATIONS_ENV = "NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS"
DEFAULT_MAX_SPECIALIZATIONS = 32
#: jit options numba-cuda-lcs reads (and keeps away from numba-cuda's _Kernel).
JIT_OPTIONS = ("lcs_max_specializations", "lcs_launch_bounds")


def _check_max_specializations(value, source):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{source} must be a positive int (live specializations per kernel), "
            f"got {value!r}"
        )
    return value


def max_specializations_for(root):
    """The limit on live specializations of *root*: the jit option, else the
    per-kernel API value, else the environment variable, else 32."""
    value = root.targetoptions.get("lcs_max_specializations")
    if value is not None:
        return _check_max_specializations(value, "lcs_max_specializations")
    value = root.__dict__.get("_lcs_max_specializations")
    if value is not None:
        return value
    env = os.environ.get(MAX_SPECIALIZATIONS_ENV, "").strip()
    if env:
        try:
            return _check_max_specializations(int(env), MAX_SPECIALIZATIONS_ENV)
        except ValueError:
            raise ValueError(
                f"{MAX_SPECIALIZATIONS_ENV} must be a positive int, got {env!r}"
            ) from None
    return DEFAULT_MAX_SPECIALIZATIONS


class _Routing:
    """Per-dispatcher routing of launch keys to compiled dispatchers.

    Mutated only under numba-cuda's global compiler lock; read without a lock
    on the launch path (dict reads are atomic, and a stale read is caught by
    kernel verification).  ``routes`` is kept in least-recently-used order
    (launches move their key to the end), which is what eviction follows.
    """

    __slots__ = (
        "mask",
        "route_mask",
        "routes",
        "default_keys",
        "deferred_sigs",
        "evictions",
        "evicted_keys",
        "warned",
    )

    def __init__(self, deferred_sigs=None):
        self.mask = 0  # union of the fields the kernels depend on
        self.route_mask = _ALL  # mask used to key routes (ALL while unknown)
        self.routes = collections.OrderedDict()
        self.default_keys = None  # launch keys of the configuration the
        # dispatcher itself was compiled for
        # Signatures to compile per configuration for a dispatcher whose
        # eager compilation needed a launch configuration (specialize()).
        self.deferred_sigs = deferred_sigs
        self.evictions = 0
        self.evicted_keys = collections.deque(maxlen=8)
        self.warned = False

    def widen(self, mask):
        if mask & ~self.mask:
            self.mask |= mask
            old_routes, old_mask = self.routes, self.route_mask
            self.route_mask = self.mask
            # Routes keyed by more fields than now needed (a lazily
            # specialized dispatcher starts with all of them) still serve
            # their launches: re-key them.  Narrower ones cannot be re-keyed.
            routes = collections.OrderedDict()
            if not self.route_mask & ~old_mask:
                # list(): a snapshot taken atomically; launches may still be
                # reordering the old dict (move_to_end) without the lock.
                for key, target in list(old_routes.items()):
                    routes.setdefault(_keys.project(key, self.route_mask), target)
            self.routes = routes


def _root_of(dispatcher):
    return dispatcher._lcs_root or dispatcher


def _ensure_routing(root):
    state = root._lcs_state
    if state is None:
        state = root._lcs_state = _Routing()
    return state


def _new_child(root, state, key, launch):
    """Create the dispatcher that serves *key* (under the compiler lock)."""
    child = _CUDADispatcher(
        root.py_func,
        targetoptions=root.targetoptions,
        pipeline_class=root._compiler.pipeline_class,
    )
    child._lcs_root = root
    if isinstance(root._cache, _StockCUDACache):
        child.enable_caching()
    if state.deferred_sigs is not None:
        token = _tls.begin_compile(launch)
        try:
            for sig in state.deferred_sigs:
                child.compile(sig)
        finally:
            _tls.end_compile(token)
        child._can_compile = False
        child._specialized = root._specialized
    root._launch_config_specializations[key] = child
    return child


def _route_slow(root, launch, *, avoid_root=False):
    """Find or create the dispatcher for *launch* and remember the route."""
    with _compiler_lock:
        state = _ensure_routing(root)
        key = launch._lcs_keys[state.route_mask]
        target = None if avoid_root else state.routes.get(key)
        if target is None:
            default = state.default_keys
            if (
                not avoid_root
                and default is not None
                and default[state.route_mask] == key
            ):
                target = root
            else:
                target = root._launch_config_specializations.get(key)
                if target is None:
                    target = _new_child(root, state, key, launch)
                    _evict_beyond_limit(root, state, target)
            # Creating the child may have compiled and so narrowed or widened
            # the fields; remember the route only under a key it serves.
            current = launch._lcs_keys[state.route_mask]
            if current == key or _keys.project(key, state.route_mask) == current:
                state.routes[current] = target
        return target


def _evict_beyond_limit(root, state, keep):
    """Drop least recently used specializations beyond the kernel's limit
    (the dispatcher itself, serving the default configuration, stays)."""
    children = root._launch_config_specializations
    limit = max_specializations_for(root) - 1  # the default counts as one
    if len(children) <= limit:
        return
    # Snapshots (list() of a dict view is atomic): launches reorder routes
    # with move_to_end() without taking the lock.
    routes = list(state.routes.items())
    in_lru_order = [t for _k, t in routes if t is not root]
    routed = set(map(id, in_lru_order))
    # Children no route reaches (their fields were widened) go first.
    order = [c for c in children.values() if id(c) not in routed] + in_lru_order
    by_id = {id(child): key for key, child in children.items()}
    for victim in order:
        if len(children) <= limit:
            break
        if victim is keep or id(victim) not in by_id:
            continue
        key = by_id.pop(id(victim))
        del children[key]
        for route_key in [k for k, t in routes if t is victim]:
            state.routes.pop(route_key, None)
        state.evictions += 1
        state.evicted_keys.append(key)
    if state.evictions and not state.warned:
        state.warned = True
        recent = "; ".join(_keys.describe_key(k) for k in state.evicted_keys)
        warnings.warn(
            NumbaPerformanceWarning(
                f"numba-cuda-lcs: kernel {root.__name__!r} is launched with more "
                f"launch configurations than its limit of "
                f"{max_specializations_for(root)} live specializations, so "
                f"least recently used ones are dropped and recompiled when "
                f"launched again (evicted so far: {recent}). Raise the limit "
                f"with @cuda.jit(lcs_max_specializations=N), "
                f"numba_cuda_lcs.set_max_specializations(kernel, N) or "
                f"{MAX_SPECIALIZATIONS_ENV}, or mark fewer fields."
            ),
            stacklevel=5,
        )


def _kernel_from(target, args, launch):
    if target._specialized:
        return next(iter(target.overloads.values()))
    return _cuda_call(target, *args, **{_CONFIG_KW: launch})


def _reroute(root, args, launch, kernel):
    """*kernel* was compiled for another configuration: find the right one."""
    for _ in range(4):
        with _compiler_lock:
            _ensure_routing(root).widen(kernel._lcs_mask)
        target = _route_slow(root, launch, avoid_root=True)
        kernel = _kernel_from(target, args, launch)
        if (
            not kernel.launch_config_sensitive
            or launch._lcs_keys[kernel._lcs_mask] == kernel._lcs_key
        ):
            return kernel
    raise LaunchConfigSpecializationError(
        f"numba-cuda-lcs found no kernel of {root.__name__!r} compiled for "
        f"{launch!r}; refusing to launch one compiled for another "
        "configuration. Please report this."
    )


def _resolve(dispatcher, args, launch):
    """The kernel *launch* must run (compiling it if needed).  The caller
    publishes *args*."""
    state = dispatcher._lcs_state
    if state is None:
        target = dispatcher
    else:
        target = state.routes.get(launch._lcs_keys[state.route_mask])
        if target is None:
            target = _route_slow(dispatcher, launch)
    kernel = _kernel_from(target, args, launch)
    if (
        kernel.launch_config_sensitive
        and launch._lcs_keys[kernel._lcs_mask] != kernel._lcs_key
    ):
        kernel = _reroute(dispatcher, args, launch, kernel)
    return kernel


# --------------------------------------------------------------------------
# Replacements for CUDADispatcher methods
# --------------------------------------------------------------------------


def _call(self, args, launch):
    """Replacement for ``CUDADispatcher.call``: route, verify, launch."""
    prev = _swap_args(args)
    try:
        # _resolve(), inlined: this is every launch's path.
        state = self._lcs_state
        if state is None:
            target = self
        else:
            key = launch._lcs_keys[state.route_mask]
            routes = state.routes
            target = routes.get(key)
            if target is None:
                target = _route_slow(self, launch)
            else:
                try:
                    routes.move_to_end(key)  # least-recently-used order
                except KeyError:  # evicted meanwhile; the route still works
                    pass
            target._lcs_hits += 1
        if target._specialized:
            kernel = next(iter(target.overloads.values()))
        else:
            kernel = _cuda_call(target, *args, **{_CONFIG_KW: launch})
        if (
            kernel.launch_config_sensitive
            and launch._lcs_keys[kernel._lcs_mask] != kernel._lcs_key
        ):
            kernel = _reroute(self, args, launch, kernel)
        callbacks = launch.pre_launch_callbacks
        if callbacks:
            for callback in callbacks:
                callback(kernel, launch)
        # Launch with the state prepared for this (kernel, context) pair: the
        # cuda.core LaunchConfig and kernel handle are built once, not on
        # every launch as numba-cuda's _Kernel.launch does.
        # The CUDA context decides which loaded module (cufunc) to use: the
        # context numba-cuda attached to this thread, else the current one.
        context = _attached_context() or _get_context()
        prepared = launch._lcs_prepared
        if prepared is None or prepared[0] is not kernel or prepared[1] is not context:
            prepared = _prepare_launch(kernel, launch, context)
        core_kernel = prepared[2]
        if core_kernel is None:  # debug or argument extensions: numba-cuda's path
            kernel.launch(
                args, launch.griddim, launch.blockdim, launch.stream, launch.sharedmem
            )
        else:
            stream = launch.stream
            kernelargs = []
            retr = []
            if args:
                prepare_arg = kernel._prepare_args
                for argtype, value in zip(prepared[4], args):
                    prepare_arg(argtype, value, stream, retr, kernelargs)
            _core_launch(stream, prepared[3], core_kernel, *kernelargs)
            for writeback in retr:
                writeback()
    finally:
        _swap_args(prev)


def _prepare_launch(kernel, launch, context):
    """(kernel, context, cuda.core kernel or None, LaunchConfig, argument
    types), stored on the configured launch for the next launch."""
    if kernel.debug or kernel.extensions:
        prepared = (kernel, context, None, None, None)
    else:
        flag = "is_cooperative" if _CUDA_CORE_GE_1_0 else "cooperative_launch"
        config = _CoreLaunchConfig(
            grid=launch.griddim,
            block=launch.blockdim,
            shmem_size=launch.sharedmem,
            **{flag: kernel.cooperative},
        )
        core_kernel = kernel._codelibrary.get_cufunc().kernel
        prepared = (kernel, context, core_kernel, config, tuple(kernel.argument_types))
    launch._lcs_prepared = prepared
    return prepared


def _config_for_compile(root):
    """The configured launch a compile of *root* (or its child) serves."""
    config = _current_config()
    if config is None and not _in_compile():
        config = _builtin_current_config()
    if config is not None and getattr(config, "dispatcher", None) is not root:
        # Another kernel's launch is compiling (a hook compiling this kernel
        # eagerly): that configuration is not ours.
        config = None
    return config


def _is_missing_config_error(exc):
    return isinstance(exc, LaunchConfigUnavailableError) or (
        isinstance(exc, RuntimeError) and "No launch config set" in str(exc)
    )


def _compile(self, sig):
    """Replacement for ``CUDADispatcher.compile``.

    Compiles (or loads from the disk cache) inside a compile frame for the
    launch being compiled for, so hooks can read and mark it; records on the
    kernel which fields it depends on and the key it was compiled for.
    """
    argtypes, return_type = _nb_sigutils.normalize_signature(sig)
    if return_type is not None and return_type != _nb_types.none:
        raise TypeError(f"CUDA kernels return None; got return type {return_type}")
    with _compiler_lock:
        if self._specialized and self.overloads:
            return next(iter(self.overloads.values()))
        kernel = self.overloads.get(argtypes)
        if kernel is not None:
            return kernel
        root = _root_of(self)
        config = _config_for_compile(root)
        if config is not None and _launchconfig.observers:
            _launchconfig.notify_compile(root, config)
        token = _tls.begin_compile(config)
        try:
            if config is not None:
                _marks.apply_early_marks(config)
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
        finally:
            _tls.end_compile(token)
        if kernel.launch_config_sensitive:
            state = _ensure_routing(root)
            state.widen(kernel._lcs_mask)
            if (
                self is root
                and state.default_keys is None
                and state.deferred_sigs is None
            ):
                state.default_keys = config._lcs_keys
                # The launch compiling it is the first one it serves (later
                # ones are counted on the launch path).
                root._lcs_hits += 1
        self.add_overload(kernel, argtypes)
        return kernel


def _annotate(kernel, mask, config):
    kernel.launch_config_sensitive = bool(mask)
    if mask:
        kernel._lcs_mask = mask
        kernel._lcs_key = config._lcs_keys[mask]
        kernel._lcs_config = (config.griddim, config.blockdim, config.sharedmem)


def _launch_bounds_enabled(root):
    value = root.targetoptions.get("lcs_launch_bounds")
    if value is None:
        value = root.__dict__.get("_lcs_launch_bounds", False)
    return bool(value)


def _build_kernel(self, argtypes, config):
    root = _root_of(self)
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
        options["launch_bounds"] = config.blockdim[0] * config.blockdim[1] * config.blockdim[2]
        _tls.add_marks(_keys.BLOCKDIM)
    started = time.perf_counter()
    kernel = _Kernel(self.py_func, argtypes, **options)
    # Codegen now, so that there is a cubin to cache.
    kernel.bind()
    kernel._lcs_compile_seconds = time.perf_counter() - started
    _annotate(kernel, _tls.compile_marks(), config)
    _count(root, "compiles")
    return kernel


def _count(root, what):
    counters = root.__dict__.get("_lcs_counters")
    if counters is None:
        counters = root._lcs_counters = collections.Counter()
    counters[what] += 1


def _obtain_kernel(self, root, sig, argtypes, config):
    cache = self._cache
    if isinstance(cache, _StockCUDACache) and not isinstance(cache, LCSCache):
        # Caching was enabled before we were installed: upgrade it.
        cache = self._cache = LCSCache(self.py_func)
    if not isinstance(cache, LCSCache):
        if not self._can_compile:
            raise RuntimeError("Compilation disabled")
        return _build_kernel(self, argtypes, config)

    state = root._lcs_state
    marker_mask = cache.read_marker()
    mask = (marker_mask or 0) | (state.mask if state is not None else 0)
    kernel = None
    if not mask:
        kernel = cache.load_for(sig, self.targetctx, None)
        if kernel is not None and kernel.launch_config_sensitive:
            # An LC-S entry without a marker: whoever wrote it, it cannot be
            # trusted for this configuration.  Recompile and re-mark.
            kernel = None
    elif config is not None:
        kernel = cache.load_for(sig, self.targetctx, config._lcs_keys[mask])
    if kernel is not None:
        self._cache_hits[sig] += 1
        _count(root, "cache_loads")
        if kernel.launch_config_sensitive:
            # Saved under this mask's key: valid for every launch that has
            # the same key.
            _annotate(kernel, mask, config)
        return kernel

    self._cache_misses[sig] += 1
    if not self._can_compile:
        raise RuntimeError("Compilation disabled")
    kernel = _build_kernel(self, argtypes, config)
    if kernel.launch_config_sensitive:
        mask |= kernel._lcs_mask
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


def _disable_disk_cache(self, root, cache):
    warnings.warn(
        f"numba-cuda-lcs: cannot write the launch-config marker for kernel "
        f"{root.__name__!r} in {cache.cache_path!r}; disk caching is disabled "
        "for this kernel (it stays compiled in memory).",
        RuntimeWarning,
        stacklevel=4,
    )
    for dispatcher in (root, *root._launch_config_specializations.values(), self):
        dispatcher._cache = _NullCache()


def _specialize(self, *args):
    """Replacement for ``CUDADispatcher.specialize``.

    As numba-cuda's, except that a kernel whose compilation needs a launch
    configuration is specialized lazily: the returned dispatcher compiles the
    signature per configuration when launched (and ``forall`` works on it).
    """
    cc = _get_current_device().compute_capability
    argtypes = tuple(self.typeof_pyval(a) for a in args)
    if self._specialized:
        raise RuntimeError("Dispatcher already specialized")
    found = self.specializations.get((cc, argtypes))
    if found:
        return found
    specialization = _CUDADispatcher(self.py_func, targetoptions=self.targetoptions)
    try:
        specialization.compile(argtypes)
    except LaunchConfigUnavailableError:
        specialization._lcs_state = _Routing(deferred_sigs=(argtypes,))
        specialization._can_compile = False
    else:
        specialization.disable_compile()
    specialization._specialized = True
    self.specializations[cc, argtypes] = specialization
    return specialization


def _mark_launch_config_sensitive(self):
    """Replacement for ``CUDADispatcher.mark_launch_config_sensitive`` (the
    built-in marking API): marks the compilation in progress, all fields."""
    config = _launchconfig.current_launch_config()
    if config is None:
        raise LaunchConfigUnavailableError(
            "No launch config set for this thread: "
            "mark_launch_config_sensitive() " + _launchconfig.MISSING_CONFIG_HINT
        )
    if getattr(config, "dispatcher", None) is not _root_of(self):
        raise RuntimeError(
            "mark_launch_config_sensitive() must be called on the active "
            "launch configuration's dispatcher"
        )
    _marks.mark(config, _ALL, "mark_launch_config_sensitive")


_stock_compile_device = _CUDADispatcher.compile_device


def _compile_device(self, args, return_type=None):
    """Replacement for ``CUDADispatcher.compile_device``.

    A device function whose compilation marked launch-config fields (it uses
    ``numba_cuda_lcs.launch`` or a hook marked it) gets one compiled variant
    per launch key; ``overloads[args]`` is pointed at the variant for the
    launch being compiled, which is what the calling kernel's typing and
    lowering then use (both happen under the compiler lock).  Its marks are
    added to the calling kernel's compilation.
    """
    config = _current_config()
    masks = self.__dict__.get("_lcs_device_masks")
    with _compiler_lock:
        if masks is not None and args in masks:
            mask = masks[args]
            if config is None:
                raise LaunchConfigUnavailableError(
                    f"No launch config set for this thread: device function "
                    f"{self.__name__!r} depends on the launch configuration "
                    "and can only be compiled for a kernel launch"
                )
            variant = self._lcs_device_variants.get((args, config._lcs_keys[mask]))
            if variant is not None:
                self.overloads[args] = variant
                _tls.add_marks(mask)
                return variant
            self.overloads.pop(args, None)  # compile a variant for this launch
        token = _tls.begin_compile(config)
        try:
            cres = _stock_compile_device(self, args, return_type)
            marks = _tls.compile_marks()
        finally:
            _tls.end_compile(token)
        if marks:
            if masks is None:
                masks = self._lcs_device_masks = {}
                self._lcs_device_variants = {}
            mask = masks[args] = masks.get(args, 0) | marks
            self._lcs_device_variants[(args, config._lcs_keys[mask])] = cres
            _tls.add_marks(mask)
        return cres


def _enable_caching(self):
    """Replacement for ``CUDADispatcher.enable_caching``."""
    self._cache = LCSCache(self.py_func)


def _forall_call(self, *args):
    """Replacement for ``ForAll.__call__``: LC-S kernels compile at launch."""
    if self.ntasks == 0:
        return None
    dispatcher = self.dispatcher
    specialized = dispatcher if dispatcher.specialized else dispatcher.specialize(*args)
    state = specialized._lcs_state
    if state is None or state.deferred_sigs is None:
        blockdim = self._compute_thread_per_block(specialized)
    else:
        blockdim = self.thread_per_block or _occupancy_block_size(self, specialized, args)
    griddim = (self.ntasks + blockdim - 1) // blockdim
    return specialized[griddim, blockdim, self.stream, self.sharedmem](*args)


_PROBE_BLOCK = 1024


def _occupancy_block_size(forall, specialized, args):
    """Block size for an LC-S forall with no explicit block size: compile
    for the largest block, ask the driver for the best block size for that
    code; the launch then compiles for the block size it picked (once)."""
    grid = max(1, (forall.ntasks + _PROBE_BLOCK - 1) // _PROBE_BLOCK)
    probe = specialized[grid, _PROBE_BLOCK, forall.stream, forall.sharedmem]
    prev = _swap_args(args)
    try:
        kernel = _resolve(specialized, args, probe)
    finally:
        _swap_args(prev)
    _, blockdim = _get_context().get_max_potential_block_size(
        func=kernel._codelibrary.get_cufunc(),
        b2d_func=0,
        memsize=forall.sharedmem,
        blocksizelimit=_PROBE_BLOCK,
    )
    return blockdim


# --------------------------------------------------------------------------
# Launch constants in kernel code (numba_cuda_lcs.launch)
# --------------------------------------------------------------------------


def _resolve_global(func_ir, var, depth=0):
    """The Python object a variable refers to, if it is a global (or an
    attribute chain on one); None otherwise."""
    if depth > 8:
        return None
    try:
        definition = func_ir.get_definition(var)
    except Exception:
        return None
    if isinstance(definition, (_nb_ir.Global, _nb_ir.FreeVar)):
        return definition.value
    if isinstance(definition, _nb_ir.Expr) and definition.op == "getattr":
        base = _resolve_global(func_ir, definition.value, depth + 1)
        return getattr(base, definition.attr, None) if base is not None else None
    return None


_ACCESSOR_IDS = frozenset(map(id, _launch.ACCESSORS))


def _is_accessor(obj):
    # By identity: globals may be unhashable (a numpy array used as a
    # constant), so no "in dict" test.
    return id(obj) in _ACCESSOR_IDS and any(obj is a for a in _launch.ACCESSORS)


class LaunchConstantRewrite(_NbRewrite):
    """Replaces ``numba_cuda_lcs.launch.<accessor>()`` calls with the value
    for the launch being compiled, and marks the matching field.  Runs before
    type inference, once per compilation, so the values are constants that
    can size shared/local arrays; never cached across configurations."""

    def __init__(self, state=None):
        super().__init__(state)
        self._func_ir = None
        self._block = None
        self._hits = []

    def match(self, func_ir, block, typemap, calltypes):
        hits, callees = [], []
        for stmt in block.body:
            if not isinstance(stmt, _nb_ir.Assign):
                continue
            value = stmt.value
            if isinstance(value, _nb_ir.Expr) and value.op == "call":
                accessor = _resolve_global(func_ir, value.func)
                if _is_accessor(accessor) and not value.args and not value.kws:
                    hits.append((stmt, accessor))
            elif isinstance(value, (_nb_ir.Global, _nb_ir.FreeVar)) or (
                isinstance(value, _nb_ir.Expr) and value.op == "getattr"
            ):
                if _is_accessor(_resolve_global(func_ir, stmt.target)):
                    callees.append(stmt)
        self._func_ir, self._block = func_ir, block
        self._hits, self._callees = hits, callees
        return bool(hits or callees)

    def apply(self):
        # The accessor objects themselves cannot be typed: the calls are
        # replaced below, so their references become dead constants.
        for stmt in self._callees:
            stmt.value = _nb_ir.Const(None, stmt.value.loc)
        if not self._hits:
            return self._block
        config = _launchconfig.current_launch_config()
        if config is None:
            accessor = self._hits[0][1]
            raise LaunchConfigUnavailableError(
                f"No launch config set for this thread: "
                f"numba_cuda_lcs.launch.{accessor.__name__}() in "
                f"{self._func_ir.func_id.func_qualname!r} "
                + _launchconfig.MISSING_CONFIG_HINT
            )
        tuples = {}
        for stmt, accessor in self._hits:
            field, value_of = _launch.ACCESSORS[accessor]
            _marks.mark(config, field, f"launch.{accessor.__name__}")
            value = value_of(config)
            stmt.value = _nb_ir.Const(value, stmt.value.loc)
            if isinstance(value, tuple):
                tuples[stmt.target.name] = value
        if tuples:
            self._fold_indexing(tuples)
        return self._block

    def _fold_indexing(self, tuples):
        """``launch.blockdim()[0]`` -> a constant too (an int literal, so it
        can size an array), not a run-time tuple index."""
        for stmt in self._block.body:
            if not (isinstance(stmt, _nb_ir.Assign) and isinstance(stmt.value, _nb_ir.Expr)):
                continue
            expr = stmt.value
            if expr.op not in ("getitem", "static_getitem"):
                continue
            value = tuples.get(expr.value.name)
            if value is None:
                continue
            index = expr.index
            if isinstance(index, _nb_ir.Var):
                try:
                    definition = self._func_ir.get_definition(index)
                except Exception:
                    continue
                if not isinstance(definition, _nb_ir.Const):
                    continue
                index = definition.value
            if isinstance(index, int) and -len(value) <= index < len(value):
                stmt.value = _nb_ir.Const(value[index], expr.loc)


# --------------------------------------------------------------------------
# Disk cache
# --------------------------------------------------------------------------


class LCSCacheImpl(_nb_dispatcher.CUDACacheImpl):
    """Stores the launch key inside each LC-S entry's data, so a load can
    check it got the entry saved for the key it asked for.  Plain entries keep
    numba-cuda's format, so stock processes sharing the directory can still
    load them."""

    lcs_launch_key = None  # set by LCSCache around each load and save

    def reduce(self, kernel):
        state = super().reduce(kernel)
        if self.lcs_launch_key is not None:
            state = dict(state, _lcs_saved_key=self.lcs_launch_key)
        return state

    def rebuild(self, target_context, payload):
        payload = dict(payload)
        saved_key = payload.pop("_lcs_saved_key", None)
        kernel = super().rebuild(target_context, payload)
        kernel._lcs_saved_key = saved_key
        return kernel


class LCSCache(_StockCUDACache):
    """numba-cuda's CUDA cache, keyed per launch configuration for LC-S
    kernels.

    Entries of plain kernels use numba-cuda's index key unchanged.  Entries of
    LC-S kernels add ``("numba-cuda-lcs", <version>, <launch key>)``, so they
    are never reused for another configuration or by another version of this
    package.  ``<index base>.lcs`` beside the index marks the function as
    LC-S and records the fields (JSON; written to a temporary file, then
    ``os.replace``).
    """

    _impl_class = LCSCacheImpl
    _lcs_index_extra = None
    _lcs_unsaveable_warned = False

    @property
    def marker_path(self):
        return os.path.join(self._cache_path, f"{self._impl.filename_base}.lcs")

    def _index_key(self, sig, codegen):
        key = super()._index_key(sig, codegen)
        extra = self._lcs_index_extra
        return key if extra is None else key + (extra,)

    def load_for(self, sig, target_context, launch_key):
        self._lcs_index_extra = _cache_extra(launch_key)
        self._impl.lcs_launch_key = launch_key
        try:
            kernel = self.load_overload(sig, target_context)
        except Exception as exc:  # a corrupted index or data file
            warnings.warn(
                f"numba-cuda-lcs: ignoring unreadable cache entry for "
                f"{self._name} in {self._cache_path!r} ({exc!r}); recompiling",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        finally:
            self._lcs_index_extra = None
            self._impl.lcs_launch_key = None
        if kernel is not None and getattr(kernel, "_lcs_saved_key", None) != launch_key:
            # numba-cuda's index and data files have no lock: two processes
            # saving at once can leave an index entry pointing at the data
            # written for another key.  Never use it; recompile instead.
            return None
        return kernel

    def save_for(self, sig, kernel, launch_key):
        self._lcs_index_extra = _cache_extra(launch_key)
        self._impl.lcs_launch_key = launch_key
        try:
            try:
                self._cache_file._load_index()
            except Exception:
                # Truncated or corrupted index: start it afresh rather than
                # fail the launch (the entries it held are unreadable anyway).
                self._cache_file.flush()
            self.save_overload(sig, kernel)
        except OSError as exc:
            warnings.warn(
                f"numba-cuda-lcs: cannot write the disk cache for "
                f"{self._name} in {self._cache_path!r} ({exc}); the kernel "
                "stays compiled in memory",
                RuntimeWarning,
                stacklevel=2,
            )
        except Exception as exc:
            if launch_key is None:
                raise  # plain kernels: numba-cuda's behaviour, unchanged
            # numba-cuda cannot serialize this kernel (link files, captured
            # device arrays, ...).  An LC-S kernel stays compiled in memory.
            if not self._lcs_unsaveable_warned:
                self._lcs_unsaveable_warned = True
                warnings.warn(
                    f"numba-cuda-lcs: {self._name} cannot be disk-cached "
                    f"({exc}); its launch-config specializations stay "
                    "compiled in memory",
                    RuntimeWarning,
                    stacklevel=2,
                )
        finally:
            self._lcs_index_extra = None
            self._impl.lcs_launch_key = None

    def read_marker(self):
        """The field mask the marker records; None without a marker.  A
        marker that cannot be parsed (or numba-cuda's own empty marker)
        counts as all fields."""
        try:
            with open(self.marker_path, "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except OSError:
            return _ALL
        try:
            fields = json.loads(raw.decode("utf-8"))["fields"]
            return _keys.fields_to_mask(fields)
        except Exception:
            return _ALL

    def write_marker(self, mask):
        """Atomically write the marker; False when it cannot be written."""
        payload = json.dumps(
            {
                "numba_cuda_lcs": _lcs_version,
                "fields": list(_keys.mask_to_fields(mask)),
            }
        ).encode("utf-8")
        tmp = f"{self.marker_path}.tmp.{os.getpid()}.{threading.get_ident()}"
        try:
            self._impl.locator.ensure_cache_path()
            with open(tmp, "wb") as f:
                f.write(payload)
            os.replace(tmp, self.marker_path)
        except OSError:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            return False
        return True


def _cache_extra(launch_key):
    if launch_key is None:
        return None
    return ("numba-cuda-lcs", _lcs_version, launch_key)


# --------------------------------------------------------------------------
# Inspection and per-kernel settings (public wrappers in numba_cuda_lcs.inspection)
# --------------------------------------------------------------------------


def _require_kernel(kernel):
    if not isinstance(kernel, _CUDADispatcher):
        raise TypeError(f"expected a @cuda.jit kernel (CUDADispatcher), got {kernel!r}")
    return _root_of(kernel)


def set_max_specializations(kernel, limit):
    root = _require_kernel(kernel)
    root._lcs_max_specializations = (
        None if limit is None else _check_max_specializations(limit, "limit")
    )


def set_launch_bounds_from_block(kernel, enabled=True):
    root = _require_kernel(kernel)
    root._lcs_launch_bounds = bool(enabled)


def specialization_rows(kernel):
    """(dispatcher, launch key or None, is_default) for every dispatcher that
    serves *kernel*, the kernel itself first."""
    root = _require_kernel(kernel)
    state = root._lcs_state
    default_key = None
    if state is not None and state.default_keys is not None:
        default_key = state.default_keys[state.mask or _ALL]
    rows = [(root, default_key, True)]
    rows += [
        (child, key, False)
        for key, child in list(root._launch_config_specializations.items())
    ]
    return rows, state


def kernel_rows(kernel):
    """Inspection rows: one per compiled kernel of *kernel* and its
    specializations."""
    rows, state = specialization_rows(kernel)
    out = []
    for dispatcher, key, is_default in rows:
        for argtypes, compiled in list(dispatcher.overloads.items()):
            sensitive = bool(getattr(compiled, "launch_config_sensitive", False))
            mask = compiled._lcs_mask if sensitive else 0
            out.append(
                {
                    "signature": tuple(argtypes),
                    "default": is_default,
                    "launch_config_sensitive": sensitive,
                    "fields": _keys.mask_to_fields(mask),
                    "key": dict(zip(_keys.mask_to_fields(mask), compiled._lcs_key[1:]))
                    if sensitive and compiled._lcs_key is not None
                    else {},
                    "compiled_for": getattr(compiled, "_lcs_config", None),
                    "hits": dispatcher._lcs_hits,
                    "compile_seconds": getattr(compiled, "_lcs_compile_seconds", None),
                    "from_cache": getattr(compiled, "_lcs_compile_seconds", None) is None,
                }
            )
    return out


def counters(kernel):
    root = _require_kernel(kernel)
    rows, state = specialization_rows(kernel)
    found = dict(root.__dict__.get("_lcs_counters") or {})
    return {
        "compiles": found.get("compiles", 0),
        "cache_loads": found.get("cache_loads", 0),
        "specializations": len(rows),
        "evictions": state.evictions if state is not None else 0,
        "max_specializations": max_specializations_for(root),
        "fields": _keys.mask_to_fields(state.mask) if state is not None else (),
    }


# --------------------------------------------------------------------------
# Install / uninstall
# --------------------------------------------------------------------------

#: Every numba-cuda attribute this module replaces or adds, and why.
REPLACED = (
    ("numba.cuda.dispatcher", "_LaunchConfiguration",
     "configure() builds this class: ours adds the marking API and per-thread args"),
    ("CUDADispatcher", "call",
     "route each launch to the kernel compiled for its configuration, and verify it"),
    ("CUDADispatcher", "compile",
     "open a compile frame for the launch, record fields/key on the kernel, key the disk cache"),
    ("CUDADispatcher", "specialize",
     "kernels that need a launch configuration specialize lazily instead of failing"),
    ("CUDADispatcher", "mark_launch_config_sensitive",
     "built-in marking API marks the compilation in progress (per thread)"),
    ("CUDADispatcher", "enable_caching", "per-configuration disk cache keys"),
    ("CUDADispatcher", "compile_device",
     "device functions that depend on the launch get one variant per launch key"),
    ("CUDADispatcher", "_lcs_state", "routing state (None for plain kernels)"),
    ("CUDADispatcher", "_lcs_root", "parent of a per-configuration specialization"),
    ("CUDADispatcher", "_lcs_hits", "launches served (LC-S dispatchers and specializations)"),
    ("_Kernel", "_lcs_mask", "fields an LC-S kernel depends on"),
    ("_Kernel", "_lcs_key", "launch key an LC-S kernel was compiled for"),
    ("_LaunchConfiguration", "_lcs_keys",
     "launch keys, for configured launches created before install()"),
    ("_LaunchConfiguration", "_lcs_prepared",
     "prepared cuda.core launch state (kernel, context, LaunchConfig)"),
    ("ForAll", "__call__", "forall on LC-S kernels compiles for its launch"),
    ("numba.cuda.launchconfig", "current_launch_config", "read our TLS"),
    ("numba.cuda.launchconfig", "ensure_current_launch_config", "read our TLS"),
    ("numba.cuda.launchconfig", "capture_compile_config",
     "also see compilations of per-configuration specializations"),
    ("rewrite_registry", "before-inference",
     "added first: LaunchConstantRewrite, constants for numba_cuda_lcs.launch"),
)

_installed = None
_install_lock = threading.Lock()


def is_installed():
    return _installed is not None


def installed_patches():
    """Descriptions of the patches currently installed."""
    if _installed is None:
        return []
    lines = [p.describe() for p in _installed]
    if LaunchConstantRewrite in _nb_rewrite_registry.rewrites["before-inference"]:
        lines.append(
            "adds rewrite_registry.before-inference: LaunchConstantRewrite, "
            "constants for numba_cuda_lcs.launch"
        )
    return lines


def install():
    """Install the integration.  Returns False if it already was."""
    global _installed
    with _install_lock:
        if _installed is not None:
            return False
        check_version()
        why = {(owner, name): text for owner, name, text in REPLACED}
        patches = PatchSet()
        try:
            patches.replace(_nb_dispatcher, "_LaunchConfiguration", LaunchConfiguration,
                            why["numba.cuda.dispatcher", "_LaunchConfiguration"])
            for name, value in (
                ("call", _call),
                ("compile", _compile),
                ("specialize", _specialize),
                ("mark_launch_config_sensitive", _mark_launch_config_sensitive),
                ("enable_caching", _enable_caching),
                ("compile_device", _compile_device),
            ):
                patches.replace(_CUDADispatcher, name, value, why["CUDADispatcher", name])
            patches.add(_CUDADispatcher, "_lcs_state", None, why["CUDADispatcher", "_lcs_state"])
            patches.add(_CUDADispatcher, "_lcs_root", None, why["CUDADispatcher", "_lcs_root"])
            patches.add(_CUDADispatcher, "_lcs_hits", 0, why["CUDADispatcher", "_lcs_hits"])
            patches.add(_Kernel, "_lcs_mask", _ALL, why["_Kernel", "_lcs_mask"])
            patches.add(_Kernel, "_lcs_key", None, why["_Kernel", "_lcs_key"])
            patches.add(_StockLaunchConfiguration, "_lcs_keys", LazyLaunchKeys(),
                        why["_LaunchConfiguration", "_lcs_keys"])
            patches.add(_StockLaunchConfiguration, "_lcs_prepared", None,
                        why["_LaunchConfiguration", "_lcs_prepared"])
            patches.replace(_ForAll, "__call__", _forall_call, why["ForAll", "__call__"])
            for name, value in (
                ("current_launch_config", _launchconfig.current_launch_config),
                ("ensure_current_launch_config", _launchconfig.ensure_current_launch_config),
                ("capture_compile_config", _launchconfig.capture_compile_config),
            ):
                patches.replace(_nb_launchconfig, name, value,
                                why["numba.cuda.launchconfig", name])
            # First, so that numba-cuda's own before-inference rewrites (static
            # getitem, ...) see the constants.
            _nb_rewrite_registry.rewrites["before-inference"].insert(0, LaunchConstantRewrite)
        except BaseException:
            patches.undo()
            raise
        # Configured launches cached before now are numba-cuda's own class.
        _CUDADispatcher.configure.cache_clear()
        _marks.add_builtin_reader(_builtin_current_config)
        _installed = patches
        return True


def uninstall():
    """Undo :func:`install`.  Returns False if it was not installed."""
    global _installed
    with _install_lock:
        if _installed is None:
            return False
        _installed.undo()
        _installed = None
        rewrites = _nb_rewrite_registry.rewrites["before-inference"]
        if LaunchConstantRewrite in rewrites:
            rewrites.remove(LaunchConstantRewrite)
        _marks.remove_builtin_reader(_builtin_current_config)
        _CUDADispatcher.configure.cache_clear()
        return True
