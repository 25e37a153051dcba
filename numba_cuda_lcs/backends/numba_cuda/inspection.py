"""What ``numba_cuda_lcs.inspection`` reports for numba-cuda kernels."""

from ... import keys as _keys
from ...inspection import CompileCounters, SpecializationRow
from .compile import set_launch_bounds_from_block as _set_launch_bounds
from .manifest import NAMES as nb
from .routing import max_specializations_for, root_of
from .routing import set_max_specializations as _set_max_specializations


class Served:
    """One dispatcher serving a kernel: the kernel itself or a child."""

    __slots__ = ("dispatcher", "key", "is_default")

    def __init__(self, dispatcher, key, is_default):
        self.dispatcher = dispatcher
        self.key = key  # launch key it serves; None: any, or not known yet
        self.is_default = is_default


def owns(kernel):
    return isinstance(kernel, nb.CUDADispatcher)


def _root(kernel):
    if not owns(kernel):
        raise TypeError(f"expected a @cuda.jit kernel (CUDADispatcher), got {kernel!r}")
    return root_of(kernel)


def _routing(root):
    return root._lcs.routing if root._lcs is not None else None


def served_by(kernel):
    """The dispatchers that serve *kernel*, the kernel itself first."""
    root = _root(kernel)
    routing = _routing(root)
    default_key = None
    if routing is not None and routing.default_keys is not None:
        default_key = routing.default_keys[routing.mask or _keys.ALL_FIELDS]
    served = [Served(root, default_key, True)]
    served += [
        Served(child, key, False)
        for key, child in list(root._launch_config_specializations.items())
    ]
    return served


def kernel_rows(kernel):
    """One row per compiled kernel of *kernel* and its specializations."""
    rows = []
    for served in served_by(kernel):
        hits = served.dispatcher._lcs.hits if served.dispatcher._lcs is not None else 0
        for argtypes, compiled in list(served.dispatcher.overloads.items()):
            tag = compiled._lcs
            sensitive = bool(getattr(compiled, "launch_config_sensitive", False))
            fields = _keys.mask_to_fields(tag.mask) if sensitive and tag is not None else ()
            seconds = tag.compile_seconds if tag is not None else None
            rows.append(
                SpecializationRow(
                    signature=tuple(argtypes),
                    default=served.is_default,
                    launch_config_sensitive=sensitive,
                    fields=fields,
                    key=_keys.key_values(tag.key) if fields and tag.key else {},
                    compiled_for=tag.compiled_for if sensitive and tag is not None else None,
                    hits=hits,
                    compile_seconds=seconds,
                    from_cache=seconds is None,
                )
            )
    return rows


def counters(kernel):
    root = _root(kernel)
    state = root._lcs
    routing = _routing(root)
    return CompileCounters(
        compiles=state.compiles if state is not None else 0,
        cache_loads=state.cache_loads if state is not None else 0,
        specializations=len(served_by(kernel)),
        evictions=routing.evictions.count if routing is not None else 0,
        max_specializations=max_specializations_for(root),
        fields=_keys.mask_to_fields(routing.mask) if routing is not None else (),
    )


def set_max_specializations(kernel, limit):
    _set_max_specializations(_root(kernel), limit)


def set_launch_bounds_from_block(kernel, enabled=True):
    _set_launch_bounds(_root(kernel), enabled)
