"""Routing: which compiled kernel serves a launch.

A dispatcher that has compiled a launch-config-sensitive (LC-S) kernel has a
:class:`~.records.Routing`: the fields its kernels depend on, and routes from
the launch's key for those fields to the dispatcher that serves it (the root
for its default configuration, a child dispatcher for every other key).
Every kernel an LC-S launch is about to run is *verified*: its tag's key must
equal the launch's key for the tag's fields, else the launch is re-routed.
That is what keeps concurrent first launches with different configurations
correct: a thread that waited for another thread's compile notices that the
kernel it got was compiled for another configuration.

:func:`resolve` is the readable form of a launch's routing; the launch path
(``configured_launch.call``) inlines the same steps and a test runs every routing
case through both.
"""

import weakref

from ... import keys as _keys
from ... import launcher as _launcher
from ... import specializations, tls
from ...errors import LaunchConfigSpecializationError
from .manifest import NAMES as nb
from .records import DispatcherState, Routing, state_of

#: jit options numba-cuda-lcs reads (and keeps away from numba-cuda's _Kernel).
JIT_OPTIONS = ("lcs_max_specializations", "lcs_launch_bounds")

#: How to raise the limit, for the eviction warning.
WAYS_TO_RAISE = (
    "@cuda.jit(lcs_max_specializations=N)",
    "numba_cuda_lcs.set_max_specializations(kernel, N)",
)

#: Roots with routing state, for deactivate() (which hands them to numba-cuda).
routed_roots: weakref.WeakSet = weakref.WeakSet()


def root_of(dispatcher):
    """The kernel a per-configuration child serves (itself for a root)."""
    state = dispatcher._lcs
    if state is not None and state.root is not None:
        return state.root
    return dispatcher


def routing_of(root):
    """The routing of *root*, created on first use (under the compiler lock)."""
    state = state_of(root)
    if state.routing is None:
        state.routing = Routing()
        routed_roots.add(root)
    return state.routing


def max_specializations_for(root):
    """The limit on live specializations of *root* (``specializations``)."""
    state = root._lcs
    return specializations.max_specializations(
        root.targetoptions.get("lcs_max_specializations"),
        state.max_specializations if state is not None else None,
    )


def set_max_specializations(root, limit):
    state_of(root).max_specializations = (
        None if limit is None else specializations.check(limit, "limit")
    )


def _new_child(root, routing, key, launch):
    """Create the dispatcher that serves *key* (under the compiler lock)."""
    child = nb.CUDADispatcher(
        root.py_func,
        targetoptions=root.targetoptions,
        pipeline_class=root._compiler.pipeline_class,
    )
    child._lcs = DispatcherState(root=root)
    if isinstance(root._cache, nb.CUDACache):
        child.enable_caching()
    if routing.deferred_sigs is not None:
        token = tls.begin_compile(launch)
        try:
            for sig in routing.deferred_sigs:
                child.compile(sig)
        finally:
            tls.end_compile(token)
        child._can_compile = False
        child._specialized = root._specialized
    root._launch_config_specializations[key] = child
    return child


def route_slow(root, launch, *, avoid_root=False):
    """Find or create the dispatcher for *launch* and remember the route."""
    with nb.compiler_lock:
        routing = routing_of(root)
        key = launch._lcs_keys[routing.route_mask]
        target = None if avoid_root else routing.routes.get(key)
        if target is None:
            default = routing.default_keys
            if not avoid_root and default is not None and default[routing.route_mask] == key:
                target = root
            else:
                target = root._launch_config_specializations.get(key)
                if target is None:
                    target = _new_child(root, routing, key, launch)
                    _evict_beyond_limit(root, routing, target)
            # Creating the child may have compiled and so widened the fields;
            # remember the route only under a key it serves.
            current = launch._lcs_keys[routing.route_mask]
            if current == key or _keys.project(key, routing.route_mask) == current:
                routing.routes[current] = target
        return target


def _evict_beyond_limit(root, routing, keep):
    """Drop least recently used specializations beyond the kernel's limit
    (the rule in ``numba_cuda_lcs.specializations``: the root holds code for
    its default configuration, so it counts as one)."""
    children = root._launch_config_specializations
    limit = max_specializations_for(root)
    allowed = specializations.children_allowed(limit, kernel_holds_a_key=True)
    if len(children) <= allowed:
        return
    # Snapshots (list() of a dict view is atomic): launches reorder routes
    # with move_to_end() without taking the lock.
    routes = list(routing.routes.items())
    key_of = {id(child): key for key, child in list(children.items())}
    in_lru_order = [target for _key, target in routes if id(target) in key_of]
    routed = set(map(id, in_lru_order))
    # Children no route reaches (their fields were widened) go first.
    order = [c for c in list(children.values()) if id(c) not in routed] + in_lru_order
    victims = specializations.victims(order, len(children), allowed, keep)
    for victim in victims:
        key = key_of[id(victim)]
        del children[key]
        for route_key in [k for k, target in routes if target is victim]:
            routing.routes.pop(route_key, None)
        routing.evictions.record(key)
    if victims:
        # Launch sites may remember a victim: make them resolve again, so
        # that an evicted configuration is compiled again when launched.
        _launcher.invalidate()
    routing.evictions.warn_once(root.__name__, limit, WAYS_TO_RAISE, nb.NumbaPerformanceWarning)


def kernel_from(target, args, launch):
    """The kernel *target* has (or compiles) for *args*."""
    if target._specialized:
        return next(iter(target.overloads.values()))
    return nb.cuda_call(target, *args, **{nb.LAUNCH_CONFIG_KW: launch})


def serves(kernel, launch):
    """Whether *kernel* may run *launch*: plain, or compiled for its key."""
    if not kernel.launch_config_sensitive:
        return True
    tag = kernel._lcs
    return launch._lcs_keys[tag.mask] == tag.key


def reroute(root, args, launch, kernel):
    """*kernel* was compiled for another configuration: find the right one."""
    for _ in range(specializations.MAX_ROUTING_ATTEMPTS):
        with nb.compiler_lock:
            routing_of(root).widen(kernel._lcs.mask)
        target = route_slow(root, launch, avoid_root=True)
        kernel = kernel_from(target, args, launch)
        if serves(kernel, launch):
            return kernel
    raise LaunchConfigSpecializationError(
        f"numba-cuda-lcs found no kernel of {root.__name__!r} compiled for "
        f"{launch!r}; refusing to launch one compiled for another "
        "configuration. Please report this."
    )


def resolve(dispatcher, args, launch):
    """The kernel *launch* must run (compiling it if needed), counting the
    hit.  The caller publishes *args* (``tls.swap_args``)."""
    state = dispatcher._lcs
    routing = state.routing if state is not None else None
    if routing is None:
        target = dispatcher
    else:
        key = launch._lcs_keys[routing.route_mask]
        target = routing.routes.get(key)
        if target is None:
            target = route_slow(dispatcher, launch)
        else:
            try:
                routing.routes.move_to_end(key)  # least-recently-used order
            except KeyError:  # evicted meanwhile; the route still works
                pass
        target._lcs.hits += 1
    kernel = kernel_from(target, args, launch)
    if not serves(kernel, launch):
        kernel = reroute(dispatcher, args, launch, kernel)
    return kernel


# numba-cuda serves a launch from the root only when the launch's full key
# equals the root's default key; no launch has this one.
_NO_DEFAULT = ("numba-cuda-lcs", "handed over to numba-cuda")


def hand_over_to_numba_cuda():
    """For deactivate(): give every routed kernel to numba-cuda's own LC-S
    state so that numba-cuda's ``call`` never launches a kernel compiled for
    another configuration.

    numba-cuda keys LC-S specializations by the full configuration
    (griddim, blockdim, sharedmem).  The root keeps serving the one full
    configuration its LC-S kernels were compiled for, and each child of ours
    whose kernels were all compiled for one full configuration becomes
    numba-cuda's specialization for it; other children are dropped
    (recompiled on demand).  A root whose kernels disagree gets a default
    key no launch has, so every launch goes to a specialization.
    """
    with nb.compiler_lock:
        for root in list(routed_roots):
            state = root._lcs
            if state is None or state.routing is None:
                continue
            children = root._launch_config_specializations
            ours = [(k, c) for k, c in list(children.items()) if _keys.is_key(k)]
            for key, _child in ours:
                del children[key]
            for _key, child in ours:
                full = _single_full_key(child)
                if full is not None and full not in children:
                    child._launch_config_sensitive = True
                    child._launch_config_is_specialized = True
                    child._launch_config_specialization_key = full
                    child._launch_config_default_key = full
                    children[full] = child
            root._launch_config_sensitive = True
            root._launch_config_default_key = _single_full_key(root) or _NO_DEFAULT
            state.routing = None
            routed_roots.discard(root)


def _single_full_key(dispatcher):
    """The one full configuration every LC-S kernel of *dispatcher* serves,
    or None when there is none (plain only) or they disagree."""
    full = None
    for kernel in list(dispatcher.overloads.values()):
        if not kernel.launch_config_sensitive:
            continue
        tag = kernel._lcs
        if tag is None or tag.compiled_for is None:
            return None
        if full is None:
            full = tag.compiled_for
        if _keys.launch_keys(*full)[tag.mask] != tag.key:
            return None
    return full
