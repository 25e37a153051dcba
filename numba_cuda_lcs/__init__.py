"""numba-cuda-lcs: launch-config-sensitive compilation for numba-cuda kernels.

Importing the package activates it (as does numba-cuda's extension entry
point, so plain ``@cuda.jit`` code gets it without any import); set
``NUMBA_CUDA_LCS_DISABLE=1`` to leave numba-cuda untouched.
"""

import os

from ._version import __version__
from .errors import (
    LaunchConfigSpecializationError,
    LaunchConfigUnavailableError,
    UnsupportedNumbaCudaError,
)
from .keys import FIELD_NAMES
from . import inspection, launch
from .inspection import set_launch_bounds_from_block, set_max_specializations
from .launchconfig import (
    capture_compile_config,
    compiling_for,
    current_launch_config,
    ensure_current_launch_config,
)

__all__ = [
    "__version__",
    "FIELD_NAMES",
    "launch",
    "inspection",
    "set_max_specializations",
    "set_launch_bounds_from_block",
    "activate",
    "deactivate",
    "is_active",
    "disabled_by_environment",
    "current_launch_config",
    "ensure_current_launch_config",
    "capture_compile_config",
    "compiling_for",
    "LaunchConfigUnavailableError",
    "LaunchConfigSpecializationError",
    "UnsupportedNumbaCudaError",
]

DISABLE_ENV = "NUMBA_CUDA_LCS_DISABLE"


def disabled_by_environment():
    """True when ``NUMBA_CUDA_LCS_DISABLE`` is set to a true value."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() not in ("", "0", "false", "no")


def _simulator_enabled():
    return os.environ.get("NUMBA_ENABLE_CUDASIM", "").strip() not in ("", "0")


def activate():
    """Install LC-S routing into numba-cuda.

    Returns True when it is active afterwards; False when
    ``NUMBA_CUDA_LCS_DISABLE`` is set or the CUDA simulator is enabled (it has
    no dispatcher to route).  Raises :class:`UnsupportedNumbaCudaError` for a
    numba-cuda other than 0.30.x.
    """
    if disabled_by_environment() or _simulator_enabled():
        return False
    from . import backends

    backends.activate_all()
    return True


def deactivate():
    """Restore every numba-cuda attribute :func:`activate` replaced."""
    from . import backends

    return backends.deactivate_all()


def is_active():
    from . import backends

    return bool(backends.installed_modules() or backends.armed_compilers())


def _init_extension():
    """numba-cuda ``numba_cuda_extensions`` entry point (``init``)."""
    activate()


activate()
