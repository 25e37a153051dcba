"""The numba-cuda-mlir 0.6.x backend.

Imported (by :mod:`numba_cuda_lcs.backends`) only once numba-cuda-mlir's
``descriptor`` module has been imported; never imports numba-cuda.

Modules: ``manifest`` (every numba-cuda-mlir name used, the version check),
``patches`` (every patch, undoable), ``routing`` (configured launches, routes
to per-key specializations), ``compile`` (the compile frame and where results
go), ``constants`` (launch constants rewrite), ``cache`` (disk cache per
launch key, ``.lcs`` marker), ``inspection``, ``state`` (the per-kernel
record).  See docs/numba-cuda-mlir.md.
"""

from .inspection import (
    counters,
    kernel_rows,
    owns,
    set_launch_bounds_from_block,
    set_max_specializations,
)
from .manifest import check_version
from .manifest import describe as describe_internals
from .patches import install, installed_patches, is_installed, uninstall

COMPILER = "numba-cuda-mlir"

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
]
