"""Compilations: the compile frame, and where each compiled kernel goes.

Wrapped numba-cuda-mlir methods (installed by ``patches.py``):

``_compile_impl`` -- every launch-triggered compile of a kernel (numba-cuda-
mlir's native launcher calls it through ``_compile``; with a user planner
registered, ``_prepare_for_launch`` calls it first).  Opens a compile frame
for the configured launch in progress (so every hook -- rewrites, planners,
typing, lowering -- sees it through ``current_launch_config()`` and can mark
it), then decides where the result goes:

* no marks: a plain kernel; numba-cuda-mlir keeps it where it put it;
* marks, compiled by the kernel itself, or by a specialization whose key does
  not hold all the marked fields: the kernel's fields widen, the result moves
  to the specialization of the launch's key, and the launch is asked to route
  again (:class:`Reroute`) -- the kernel's own native launcher never receives
  code that depends on the launch configuration;
* marks within a specialization's key fields: it stays there.

Before compiling, a kernel that is already LC-S (in memory, or by the
``.lcs`` marker of its disk cache) and a specialization whose fields are
stale answer :class:`Reroute` at once.

``_compile_public`` -- eager compiles (``kernel.compile(sig)``, explicit
signatures, ``specialize``): a frame with no configuration, so launch
constants and marks fail with ``LaunchConfigUnavailableError`` instead of
producing a kernel for no configuration.

``_compile_device_callee`` -- device functions compiled for a calling
kernel: one variant per launch key of the fields they read; their marks are
added to the kernel's.
"""

import threading
import time

from ... import disk_cache, tls
from ... import keys as _keys
from ... import launchconfig as _launchconfig
from ...errors import LaunchConfigUnavailableError
from . import launch_plans as _launch_plans
from . import planned_cache as _planned_cache
from .cache import LCSCache
from .manifest import NAMES
from .routing import root_state
from .state import Compiled, KernelState, request_reroute, swap_on_marked


class Reroute(Exception):
    """Raised by a compile to make the launch in progress route again
    (nothing has been launched).  The launch also finds the request in
    ``launching.reroute`` (:func:`state.take_reroute`), so it recognizes it
    whatever numba-cuda-mlir's native launcher wraps the exception in."""


class _Active(threading.local):
    def __init__(self):
        self.dispatchers = []


_active = _Active()


def _is_active(dispatcher):
    return any(d is dispatcher for d in _active.dispatchers)


def _reroute(why):
    request_reroute()
    raise Reroute(why)


def _reroute_marked(rstate):
    """``launching.on_marked`` for a launch compiling the kernel itself."""

    def on_marked(marker):
        with NAMES.compiler_lock:
            rstate.widen(marker)
        _reroute("another process marked the kernel launch-config sensitive")

    return on_marked


def config_for(root):
    """The configured launch a compile of *root* (or its specialization)
    serves: the launch in progress on this thread, if it is *root*'s."""
    launch = tls.current_launch()
    if launch is not None and getattr(launch, "dispatcher", None) is root:
        return launch
    return None


def _cache_of(dispatcher):
    cache = dispatcher._cache
    return cache if isinstance(cache, LCSCache) else None


def upgrade_cache(dispatcher):
    """A kernel whose caching was enabled before numba-cuda-lcs was active
    has numba-cuda-mlir's own cache, which would save code compiled for one
    configuration under a key that serves all: give it ours."""
    cache = dispatcher._cache
    if isinstance(cache, NAMES.MLIRCache) and not isinstance(cache, LCSCache):
        dispatcher.enable_caching()  # ours, see make_enable_caching


def _config_tuple(config):
    return (config.griddim, config.blockdim, config.sharedmem)


def make_compile_impl(original):
    """Replacement for ``MLIRDispatcher._compile_impl``."""

    def _compile_impl(self, args, *rest, **kwargs):
        if _is_active(self):  # numba-cuda-mlir's own retries recurse
            return original(self, args, *rest, **kwargs)
        state = self.__dict__.get("_lcs")
        if state is not None and state.device_masks is not None:
            return original(self, args, *rest, **kwargs)
        required_before = getattr(self, "_requires_launch_config", False)
        try:
            return compile_and_place(self, state, args, rest, kwargs)
        finally:
            # The entry lock a miss took (cache.py) goes once the result is
            # where it belongs: saved by numba-cuda-mlir, moved and saved
            # under its launch key with the marker written, or failed.
            cache = _cache_of(self)
            if cache is not None:
                cache.release_lock()
            if not required_before and getattr(self, "_requires_launch_config", False):
                # A planner made the kernel launch-dependent (numba-cuda-mlir
                # compiles here before launching while planners are
                # registered): no launch remembered before may stand.
                _launch_plans.forget_compiles(self)

    def compile_and_place(self, state, args, rest, kwargs):
        child = state is not None and state.root is not None
        root = state.root if child else self
        rstate = root_state(root)
        upgrade_cache(self)
        config = config_for(root)
        if config is not None:
            if child:
                if state.mask != rstate.mask:
                    _reroute("the kernel's fields widened")
            elif rstate.mask:
                _reroute("the kernel is launch-config sensitive")
            else:
                cache = _cache_of(root)
                marker = cache.read_marker() if cache is not None else None
                if marker:
                    with NAMES.compiler_lock:
                        rstate.widen(marker)
                    _reroute("the disk cache marks the kernel launch-config sensitive")
        _active.dispatchers.append(self)
        plan = None
        previous_on_marked = swap_on_marked(
            _reroute_marked(rstate) if config is not None and not child else None
        )
        try:
            launch_bounds = _keys.BLOCKDIM if rstate.launch_bounds else 0
            with _launchconfig.compile_frame(root, config, launch_bounds):
                before = set(self.overloads)
                hits_before = sum(self._cache_hits.values())
                # While planners are registered numba-cuda-mlir skips its
                # disk cache; the planned cache keys entries by them.
                plan = _planned_cache.begin(self, args) if config is not None else None
                started = time.perf_counter()
                result = plan.load() if plan is not None else None
                if result is None:
                    result = original(self, args, *rest, **kwargs)
                seconds = time.perf_counter() - started
                marked = tls.compile_marks()
                planned = plan.new_results() if plan is not None and not plan.loaded else []
                if planned:
                    plan.save(planned)
        finally:
            swap_on_marked(previous_on_marked)
            _active.dispatchers.pop()
            if plan is not None:
                plan.release()  # a failed compile must not keep others waiting
        new = [k for k in list(self.overloads) if k not in before]
        from_cache = sum(self._cache_hits.values()) != hits_before
        if not new:
            # A planner's launch-config specialization (numba-cuda-mlir's
            # tables, not overloads), or nothing new.
            if plan is not None and plan.loaded:
                rstate.cache_loads += 1
            elif any(config_key is not None for config_key, _ in planned):
                rstate.compiles += 1
            return result
        if not marked:
            if child and from_cache:
                # An entry saved under this specialization's key: LC-S.
                info = Compiled(
                    state.mask, state.key, _config_tuple(config) if config else None, None, True
                )
            else:
                info = Compiled(
                    0,
                    None,
                    _config_tuple(config) if config else None,
                    None if from_cache else seconds,
                    from_cache,
                )
            for k in new:
                (state or rstate).compiled[k] = info
            if from_cache:
                rstate.cache_loads += 1
            else:
                rstate.compiles += 1
            return result
        # Launch-config sensitive (config is set: marking needs it).
        rstate.compiles += 1
        if child and not marked & ~state.mask:
            info = Compiled(state.mask, state.key, _config_tuple(config), seconds, False)
            for k in new:
                state.compiled[k] = info
            _write_marker(root, rstate)
            return result
        _move_to_specialization(self, root, rstate, config, new, marked, seconds, plan)
        _reroute("compiled code depends on the launch configuration")

    _compile_impl.__name__ = _compile_impl.__qualname__ = "_compile_impl"
    return _compile_impl


def _move_to_specialization(source, root, rstate, config, new, marked, seconds, plan):
    """Move the results *new* of *source* to the specialization serving
    *config*'s key for the kernel's (widened) fields (compiler lock held)."""
    from .routing import new_child

    with NAMES.compiler_lock:
        rstate.widen(marked)
        mask = rstate.mask
        key = config._lcs_keys[mask]
        target = rstate.routes.get(key)
        if target is None:
            target = new_child(root, rstate, key, mask, config)
        tstate = target._lcs
        info = Compiled(mask, key, _config_tuple(config), seconds, False)
        cache = _cache_of(target)
        for k in new:
            compiled = source.overloads.pop(k)
            source_state = source.__dict__.get("_lcs")
            if source_state is not None:
                source_state.compiled.pop(k, None)
            target.overloads.setdefault(k, compiled)
            tstate.compiled[k] = info
            if cache is not None:
                _planned_cache.save_moved(plan, cache, compiled)
        _write_marker(root, rstate)


_marker_warned: set = set()


def _write_marker(root, rstate):
    cache = _cache_of(root)
    if cache is None or cache.read_marker() == rstate.mask:
        return
    if cache.write_marker(rstate.mask):
        return
    # Without the marker another process could not know the kernel is LC-S:
    # stop caching it (it stays compiled in memory).
    cache.disable()
    for child in list(rstate.routes.values()):
        child_cache = _cache_of(child)
        if child_cache is not None:
            child_cache.disable()
    if id(root) not in _marker_warned:
        _marker_warned.add(id(root))
        disk_cache.warn_caching_disabled(root.__name__, cache)


def make_compile_public(original):
    """Replacement for ``MLIRDispatcher._compile_public`` (eager compiles:
    ``kernel.compile(sig)``, explicit signatures, ``specialize``,
    ``cuda.compile_ptx``).

    They have no launch configuration -- a frame with none, so launch
    constants and marks fail with ``LaunchConfigUnavailableError`` -- except
    inside ``numba_cuda_lcs.launchconfig.compiling_for(...)``, whose
    compile-only configuration they see (that is how ``compile_ptx`` gets
    one).  A result that depends on it is returned but not kept in the
    dispatcher's overloads: launches compile for their own configuration.
    """

    def _compile_public(self, sig, *rest, **kwargs):
        upgrade_cache(self)
        outer = tls.current_config()
        config = outer if outer is not None and getattr(outer, "dispatcher", 0) is None else None
        before = set(self.overloads)
        token = tls.begin_compile(config)
        previous_on_marked = swap_on_marked(None)  # no launch to route again
        try:
            try:
                result = original(self, sig, *rest, **kwargs)
            except RuntimeError as exc:
                # numba-cuda-mlir's own errors (a planner that requires launch
                # metadata) stay its own; ours gets the fix named.
                if isinstance(exc, LaunchConfigUnavailableError) or (
                    "No launch config set" not in str(exc)
                ):
                    raise
                raise LaunchConfigUnavailableError(
                    f"No launch config set for this thread: kernel "
                    f"{self.__name__!r} needs its launch configuration to compile "
                    f"{sig} with no launch in progress (explicit signature, "
                    "compile() or specialize()). Declare it without a signature "
                    "and launch it: kernel[grid, block](...)."
                ) from exc
            marked = tls.compile_marks()
        finally:
            tls.end_compile(token)
            swap_on_marked(previous_on_marked)
            cache = _cache_of(self)
            if cache is not None:
                cache.release_lock()
        if marked:
            tls.add_marks(marked)  # the compiling_for() block's marks
            with NAMES.compiler_lock:
                for k in [k for k in list(self.overloads) if k not in before]:
                    self.overloads.pop(k, None)
        return result

    _compile_public.__name__ = _compile_public.__qualname__ = "_compile_public"
    return _compile_public


def make_compile_device_callee(original):
    """Replacement for ``MLIRDispatcher._compile_device_callee``.

    A device function whose compilation marked fields (launch constants, or a
    hook) gets one variant per launch key; ``overloads[args]`` is pointed at
    the variant for the launch being compiled (all under the compiler lock),
    and its fields are added to the calling kernel's marks.
    """

    def _compile_device_callee(self, sig, abi_name=None):
        argtypes, _ = NAMES.normalize_signature(sig)
        config = tls.current_config()
        with NAMES.compiler_lock:
            state = self.__dict__.get("_lcs")
            masks = state.device_masks if state is not None else None
            if masks is not None and argtypes in masks:
                mask = masks[argtypes]
                if config is None:
                    raise LaunchConfigUnavailableError(
                        f"No launch config set for this thread: device function "
                        f"{self.__name__!r} depends on the launch configuration "
                        "and can only be compiled for a kernel launch"
                    )
                variant = state.device_variants.get((argtypes, abi_name, config._lcs_keys[mask]))
                if variant is not None:
                    self.overloads[argtypes] = variant
                    tls.add_marks(mask)
                    return variant
                self.overloads.pop(argtypes, None)  # compile one for this key
            token = tls.begin_compile(config)
            try:
                cres = original(self, sig, abi_name)
                marked = tls.compile_marks()
            finally:
                tls.end_compile(token)
            if marked:
                if state is None:
                    state = KernelState()
                    state.device_masks = {}
                    state.device_variants = {}
                    self._lcs = state
                elif state.device_masks is None:
                    state.device_masks = {}
                    state.device_variants = {}
                mask = state.device_masks[argtypes] = state.device_masks.get(argtypes, 0) | marked
                state.device_variants[(argtypes, abi_name, config._lcs_keys[mask])] = cres
                tls.add_marks(mask)
            return cres

    _compile_device_callee.__name__ = "_compile_device_callee"
    _compile_device_callee.__qualname__ = "_compile_device_callee"
    return _compile_device_callee


def make_compile_as_device_callee(original):
    """Replacement for ``MLIRDispatcher._compile_as_device_callee``: the
    kernel-side ``overloads[args]`` entry follows the variant just picked for
    a launch-dependent device function (numba-cuda-mlir only fills it once)."""

    def _compile_as_device_callee(self, sig, abi_name=None):
        cres = original(self, sig, abi_name)
        device = self.__dict__.get("_device_dispatcher")
        state = device.__dict__.get("_lcs") if device is not None else None
        if state is not None and state.device_masks:
            argtypes, _ = NAMES.normalize_signature(sig)
            if argtypes in state.device_masks:
                self.overloads[argtypes] = cres
        return cres

    _compile_as_device_callee.__name__ = "_compile_as_device_callee"
    _compile_as_device_callee.__qualname__ = "_compile_as_device_callee"
    return _compile_as_device_callee


def make_enable_caching(original):
    """Replacement for ``MLIRDispatcher.enable_caching``: our cache, which
    keys entries of specializations by their launch key."""

    def enable_caching(self):
        state = self.__dict__.get("_lcs")
        child = state is not None and state.root is not None
        original(self)  # numba-cuda-mlir's checks (cache locator, ...)
        self._cache = LCSCache(
            self.py_func,
            self.targetoptions,
            launch_key=state.key if child else None,
            mask=state.mask if child else 0,
        )

    enable_caching.__name__ = enable_caching.__qualname__ = "enable_caching"
    return enable_caching


def make_recompile_impl(original):
    """Replacement for ``MLIRDispatcher._recompile_impl``: ``recompile()``
    also drops the kernel's specializations and routes, and forgets its
    fields: the next launches compile afresh and mark again (numba-cuda-mlir
    itself invalidates its configured launchers).  A configured launch kept
    across the call routes to the new specializations."""

    def _recompile_impl(self):
        result = original(self)
        _launch_plans.forget_compiles(self)
        state = self.__dict__.get("_lcs")
        if state is not None and state.root is None:
            with NAMES.compiler_lock:
                state.mask = 0
                state.routes.clear()
                state.compiled.clear()
        return result

    _recompile_impl.__name__ = _recompile_impl.__qualname__ = "_recompile_impl"
    return _recompile_impl
