"""The numba-cuda backend (numba-cuda 0.30.x).

One module per concept; ``manifest`` lists every numba-cuda name used and
checks the version, ``patches`` is the only code that assigns onto
numba-cuda objects.  See docs/architecture.md for the path of a launch and a
compile through these modules.
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
