"""Routing: which specialization of a numba-cuda-mlir kernel serves a launch.

A launch of an LC-S kernel is served by the child dispatcher of its launch
key (the marked fields only), created on first use under the compiler lock;
least recently used specializations beyond the kernel's limit are dropped.
The configured launch that routes is in ``configured_launch.py``.
"""

import threading

from ... import launcher as _launcher
from ... import specializations
from .manifest import NAMES
from .state import KernelState, max_specializations

#: How to raise the limit, for the eviction warning (numba-cuda-mlir takes
#: no jit option of ours).
WAYS_TO_RAISE = ("numba_cuda_lcs.set_max_specializations(kernel, N)",)


#: Guards creating a kernel's record, and nothing else (a leaf lock: the
#: record is created while numba-cuda-mlir's configure() builds a configured
#: launcher, where taking its compiler lock would be observable).
_state_lock = threading.Lock()


def root_state(dispatcher):
    """The state of a kernel, created on first use."""
    state = dispatcher.__dict__.get("_lcs")
    if state is None:
        with _state_lock:
            state = dispatcher.__dict__.get("_lcs")
            if state is None:
                state = KernelState()
                dispatcher._lcs = state
    return state


def route_slow(root, launch):
    """The specialization serving *launch*, created if needed (under the
    compiler lock)."""
    with NAMES.compiler_lock:
        state = root._lcs
        mask = state.mask
        key = launch._lcs_keys[mask]
        child = state.routes.get(key)
        if child is None:
            child = new_child(root, state, key, mask, launch)
        return child


def new_child(root, state, key, mask, launch):
    """Create and route the specialization serving *key* (compiler lock
    held).  It is a numba-cuda-mlir dispatcher of the same function and
    options (plus ``launch_bounds`` when inferred from the block), plain as
    far as numba-cuda-mlir knows, with a disk cache keyed by *key*."""
    options = dict(root.targetoptions)
    if state.launch_bounds:
        bx, by, bz = launch.blockdim
        options["launch_bounds"] = bx * by * bz
    child = NAMES.MLIRDispatcher(root.py_func, targetoptions=options)
    child._lcs = KernelState(root=root, key=key, mask=mask)
    if isinstance(root._cache, NAMES.MLIRCache):
        child.enable_caching()  # ours: keyed by the child's launch key
    state.routes[key] = child
    evict_beyond_limit(root, state, child)
    return child


def evict_beyond_limit(root, state, keep):
    """Drop least recently used specializations beyond the kernel's limit
    (the rule in ``numba_cuda_lcs.specializations``: the kernel itself only
    holds plain code, so every specialization is a child)."""
    limit = max_specializations(state)
    allowed = specializations.children_allowed(limit, kernel_holds_a_key=False)
    routes = state.routes
    if len(routes) <= allowed:
        return
    key_of = {id(child): key for key, child in list(routes.items())}
    for victim in specializations.victims(list(routes.values()), len(routes), allowed, keep):
        key = key_of[id(victim)]
        routes.pop(key, None)
        state.evictions.record(key)
    _launcher.invalidate()  # no launch site keeps an evicted specialization
    state.evictions.warn_once(root.__name__, limit, WAYS_TO_RAISE, NAMES.NumbaPerformanceWarning)
