"""What :mod:`numba_cuda_lcs.inspection` returns for numba-cuda-mlir kernels.

Rows: the kernel itself first (``default``: it serves every configuration
while plain, and plain signatures), then one per compiled signature of each
live specialization (one per launch key of the kernel's fields).
"""

from ... import keys as _keys
from ...inspection import CompileCounters, SpecializationRow
from ...specializations import check as check_max_specializations
from .manifest import NAMES
from .routing import root_state
from .state import max_specializations


def owns(kernel):
    dispatcher = getattr(NAMES, "MLIRDispatcher", None)
    return dispatcher is not None and isinstance(kernel, dispatcher)


def _root(kernel):
    if not owns(kernel):
        raise TypeError(f"expected a numba-cuda-mlir @cuda.jit kernel, got {kernel!r}")
    state = kernel.__dict__.get("_lcs")
    if state is not None and state.root is not None:
        return state.root
    return kernel


def set_max_specializations(kernel, limit):
    root = _root(kernel)
    root_state(root).max_specializations = (
        None if limit is None else check_max_specializations(limit, "limit")
    )


def set_launch_bounds_from_block(kernel, enabled=True):
    """Compile *kernel* with ``launch_bounds`` = the block's thread count;
    it becomes sensitive to the block size (from its next launch)."""
    root = _root(kernel)
    if enabled and root.targetoptions.get("launch_bounds") is not None:
        raise ValueError(
            f"kernel {root.__name__!r}: launch bounds from the block size replace "
            "launch_bounds; do not also pass launch_bounds= to @cuda.jit"
        )
    state = root_state(root)
    with NAMES.compiler_lock:
        state.launch_bounds = bool(enabled)
        if enabled:
            state.widen(_keys.BLOCKDIM)
        else:
            state.routes.clear()  # new specializations, without bounds


def _rows_of(dispatcher, state, default, hits):
    rows = []
    for argtypes in list(dispatcher.overloads):
        info = state.compiled.get(argtypes) if state is not None else None
        mask = info.mask if info is not None else 0
        key = info.key if info is not None else None
        rows.append(
            SpecializationRow(
                signature=tuple(argtypes),
                default=default,
                launch_config_sensitive=bool(mask),
                fields=_keys.mask_to_fields(mask),
                key=_keys.key_values(key) if key else {},
                compiled_for=info.config if info is not None else None,
                hits=hits,
                compile_seconds=info.seconds if info is not None else None,
                from_cache=bool(info.from_cache) if info is not None else False,
            )
        )
    return rows


def kernel_rows(kernel):
    root = _root(kernel)
    state = root_state(root)
    rows = _rows_of(root, state, True, state.hits)
    for child in list(state.routes.values()):
        cstate = child._lcs
        rows += _rows_of(child, cstate, False, cstate.hits)
    return rows


def counters(kernel):
    root = _root(kernel)
    state = root_state(root)
    return CompileCounters(
        compiles=state.compiles,
        cache_loads=state.cache_loads,
        specializations=1 + len(state.routes),
        evictions=state.evictions.count,
        max_specializations=max_specializations(state),
        fields=_keys.mask_to_fields(state.mask),
    )
