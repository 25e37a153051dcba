"""The numba-cuda-mlir 0.6.x backend (satisfies :class:`numba_cuda_lcs.contract.Backend`).

Imported (by :mod:`numba_cuda_lcs.activation`, by name) only once
numba-cuda-mlir's ``descriptor`` module has been imported; never imports
numba-cuda.

Modules: ``manifest`` (every numba-cuda-mlir name used, the version check),
``patches`` (every patch, undoable), ``configured_launch`` (what
``kernel[...]`` returns), ``routing`` (routes to per-key specializations),
``compile`` (where each compiled kernel goes), ``constants`` (the launch
constants rewrite), ``cache`` (the disk cache bound to the shared LC-S
layer), ``inspection``, ``state`` (the per-kernel record).  See
docs/numba-cuda-mlir.md and docs/architecture.md.
"""

from .inspection import (
    counters,
    kernel_rows,
    owns,
    set_launch_bounds_from_block,
    set_max_specializations,
)
from .manifest import COMPILER, check_version
from .manifest import describe as describe_internals
from .patches import install, installed_patches, is_installed, uninstall
from .warm import compile_for_launch, compile_target, has_disk_cache, parse_signature

__all__ = [
    "COMPILER",
    "check_version",
    "describe_internals",
    "install",
    "uninstall",
    "is_installed",
    "installed_patches",
    "owns",
    "kernel_rows",
    "counters",
    "set_max_specializations",
    "set_launch_bounds_from_block",
    "has_disk_cache",
    "parse_signature",
    "compile_target",
    "compile_for_launch",
]
