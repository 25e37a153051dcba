"""Routing: which specialization of a numba-cuda-mlir kernel serves a launch.

A launch of an LC-S kernel is served by the child dispatcher of its launch
key (the marked fields only), created on first use under the compiler lock;
least recently used specializations beyond the kernel's limit are dropped.
The configured launch that routes is in ``configured_launch.py``.
"""

import warnings

from ... import keys as _keys
from .manifest import NAMES
from .state import KernelState, max_specializations

MAX_ROUTING_ATTEMPTS = 8


def root_state(dispatcher):
    """The state of a kernel, created on first use."""
    state = dispatcher.__dict__.get("_lcs")
    if state is None:
        with NAMES.compiler_lock:
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
    """Drop least recently used specializations beyond the kernel's limit."""
    limit = max_specializations(state)
    routes = state.routes
    while len(routes) > limit:
        victim_key = next(iter(routes))
        if routes[victim_key] is keep:
            routes.move_to_end(victim_key)
            continue
        routes.pop(victim_key, None)
        state.evictions += 1
        state.evicted_keys.append(victim_key)
    if state.evictions and not state.warned:
        state.warned = True
        recent = "; ".join(_keys.describe_key(k) for k in state.evicted_keys)
        warnings.warn(
            NAMES.NumbaPerformanceWarning(
                f"numba-cuda-lcs: kernel {root.__name__!r} is launched with more "
                f"launch configurations than its limit of {limit} live "
                f"specializations, so least recently used ones are dropped and "
                f"recompiled when launched again (evicted so far: {recent}). "
                f"Raise the limit with numba_cuda_lcs.set_max_specializations"
                f"(kernel, N) or NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS, or mark "
                f"fewer fields."
            ),
            stacklevel=6,
        )
