"""Inspecting and tuning a kernel's launch-configuration specializations.

::

    from numba_cuda_lcs import inspection
    inspection.specializations(kernel)    # one row per compiled kernel
    inspection.compile_counters(kernel)   # compiles, cache loads, evictions
    print(inspection.format_specializations(kernel))
    inspection.set_max_specializations(kernel, 8)
    inspection.set_launch_bounds_from_block(kernel)
"""

import dataclasses
from typing import Any

from . import registry

__all__ = [
    "SpecializationRow",
    "CompileCounters",
    "specializations",
    "compile_counters",
    "format_specializations",
    "set_max_specializations",
    "set_launch_bounds_from_block",
]


@dataclasses.dataclass(frozen=True)
class SpecializationRow:
    """One compiled kernel of a kernel or of one of its specializations:
    what every backend reports (:func:`specializations` returns these as
    dicts, the public contract)."""

    signature: tuple[Any, ...]  # the argument types
    default: bool  # served by the kernel itself (not a per-key specialization)
    launch_config_sensitive: bool
    fields: tuple[str, ...]  # the fields its code depends on
    key: dict[str, Any]  # those fields' values it was compiled for
    compiled_for: tuple[Any, ...] | None  # (griddim, blockdim, sharedmem) of the compiling launch
    hits: int  # launches served by its dispatcher (LC-S kernels)
    compile_seconds: float | None  # None when loaded from the disk cache
    from_cache: bool

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


@dataclasses.dataclass(frozen=True)
class CompileCounters:
    """A kernel's counters (:func:`compile_counters` returns them as a dict)."""

    compiles: int
    cache_loads: int
    specializations: int  # live, the kernel itself included
    evictions: int
    max_specializations: int
    fields: tuple[str, ...]  # the union of the fields the kernel depends on

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


def _backend(kernel: Any) -> Any:
    return registry.backend_for(kernel)


def specializations(kernel: Any) -> list[dict[str, Any]]:
    """One dict per compiled kernel of *kernel* (its per-configuration
    specializations included): ``signature``, ``default`` (served by the
    kernel itself), ``launch_config_sensitive``, ``fields`` and ``key`` (the
    sensitive fields and their values), ``compiled_for`` (griddim, blockdim,
    sharedmem of the compiling launch), ``hits`` (launches served by that
    specialization; counted for LC-S kernels, without a lock, so approximate
    while several threads launch the same kernel), ``compile_seconds`` (None when
    loaded from the disk cache) and ``from_cache``."""
    rows: list[dict[str, Any]] = [row.as_dict() for row in _backend(kernel).kernel_rows(kernel)]
    return rows


def compile_counters(kernel: Any) -> dict[str, Any]:
    """``compiles``, ``cache_loads``, ``specializations`` (live, the kernel
    itself included), ``evictions``, ``max_specializations`` and ``fields``
    (the union of the fields the kernel depends on)."""
    counters: dict[str, Any] = _backend(kernel).counters(kernel).as_dict()
    return counters


def set_max_specializations(kernel: Any, limit: int | None) -> None:
    """Limit the live specializations of *kernel* (None: back to the jit
    option / ``NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS`` / 32).  Beyond it the
    least recently used one is dropped, and recompiled if launched again."""
    _backend(kernel).set_max_specializations(kernel, limit)


def set_launch_bounds_from_block(kernel: Any, enabled: bool = True) -> None:
    """Compile *kernel* with launch bounds equal to the block's thread count
    (like ``@cuda.jit(lcs_launch_bounds=True)``); it becomes sensitive to the
    block size.  Takes effect for compilations from now on."""
    _backend(kernel).set_launch_bounds_from_block(kernel, enabled)


def format_specializations(kernel: Any) -> str:
    """A text table of :func:`specializations` and :func:`compile_counters`."""
    rows = specializations(kernel)
    counts = compile_counters(kernel)
    name = getattr(kernel, "__name__", "kernel")
    lines = [
        f"{name}: {counts['compiles']} compiled, {counts['cache_loads']} loaded from "
        f"cache, {counts['specializations']} live specialization(s) "
        f"(limit {counts['max_specializations']}), {counts['evictions']} evicted; "
        f"fields: {', '.join(counts['fields']) or 'none'}"
    ]
    for row in rows:
        key = ", ".join(f"{k}={v}" for k, v in row["key"].items()) or "(any configuration)"
        seconds = row["compile_seconds"]
        took = "from cache" if seconds is None else f"{seconds * 1e3:.0f} ms"
        sig = ", ".join(map(str, row["signature"]))
        lines.append(
            f"  {'default ' if row['default'] else 'special '} ({sig}) {key:<32} "
            f"hits={row['hits']:<6} {took}"
        )
    return "\n".join(lines)
