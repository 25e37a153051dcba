"""numba-cuda-lcs: launch-config-sensitive compilation for Python CUDA kernels.

Importing the package activates it for every supported compiler the program
uses (numba-cuda now, numba-cuda-mlir as soon as it is imported), as does the
start-up hook an installed package places, so plain ``@cuda.jit`` code gets
it without any import.  ``NUMBA_CUDA_LCS_DISABLE=1`` leaves the compilers
untouched; where the package cannot be active (the CUDA simulator, no
supported compiler installed, an unsupported version),
:func:`inactive_reason` says why.
"""

from . import activation as _activation
from . import inspection, launch
from ._version import __version__
from .activation import DISABLE_ENV as DISABLE_ENV
from .activation import DISABLE_FALSE as DISABLE_FALSE
from .activation import DISABLE_TRUE as DISABLE_TRUE
from .activation import INSTALL_HINT as INSTALL_HINT
from .activation import (
    activate,
    active_compilers,
    deactivate,
    disabled_by_environment,
    inactive_reason,
    is_active,
)
from .errors import (
    LaunchConfigSpecializationError,
    LaunchConfigUnavailableError,
    LaunchConstantUsageError,
    UnsupportedCompilerError,
    UnsupportedNumbaCudaError,
    WarmError,
)
from .inspection import set_launch_bounds_from_block, set_max_specializations
from .keys import FIELD_NAMES
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
    "inactive_reason",
    "active_compilers",
    "disabled_by_environment",
    "current_launch_config",
    "ensure_current_launch_config",
    "capture_compile_config",
    "compiling_for",
    "LaunchConfigUnavailableError",
    "LaunchConfigSpecializationError",
    "LaunchConstantUsageError",
    "UnsupportedCompilerError",
    "UnsupportedNumbaCudaError",
    "WarmError",
    "warm",
]

_activation.activate_on_import()

from .warming import warm  # noqa: E402  (after activation: it reads the registry)
