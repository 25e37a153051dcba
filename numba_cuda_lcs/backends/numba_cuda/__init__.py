"""The numba-cuda 0.30.x backend (satisfies :class:`numba_cuda_lcs.contract.Backend`).

One module per concept: ``manifest`` lists every numba-cuda name used and
checks the version, ``patches`` is the only code that assigns onto
numba-cuda objects, ``configured_launch`` is what ``kernel[...]`` returns
(and the launch path), ``routing`` picks the dispatcher serving a launch,
``compile`` opens the compile frame and tags kernels, ``cache`` binds the
shared disk-cache layer, ``argplan`` builds the C launcher's plans.  See
docs/architecture.md for the path of a launch and a compile.
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
