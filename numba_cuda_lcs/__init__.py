"""numba-cuda-lcs: launch-config-sensitive compilation for Python CUDA kernels.

Importing the package activates it for every supported compiler the program
uses (numba-cuda now, numba-cuda-mlir as soon as it is imported), as does the
start-up hook an installed package places, so plain ``@cuda.jit`` code gets
it without any import.  ``NUMBA_CUDA_LCS_DISABLE=1`` leaves the compilers
untouched; where the package cannot be active (the CUDA simulator, no
supported compiler installed, an unsupported version),
:func:`inactive_reason` says why.
"""

import os
import warnings

from . import compat, inspection, launch
from ._version import __version__
from .errors import (
    LaunchConfigSpecializationError,
    LaunchConfigUnavailableError,
    LaunchConstantUsageError,
    UnsupportedCompilerError,
    UnsupportedNumbaCudaError,
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
]

DISABLE_ENV = "NUMBA_CUDA_LCS_DISABLE"
#: Values of ``NUMBA_CUDA_LCS_DISABLE`` (case-insensitive) that disable the package.
DISABLE_TRUE = ("1", "true", "yes", "on")
#: Values that leave it enabled (unset is the same as empty).
DISABLE_FALSE = ("", "0", "false", "no", "off")

SIMULATOR_ENV = "NUMBA_ENABLE_CUDASIM"
INSTALL_HINT = (
    "install numba-cuda-lcs with the extra that matches your NVIDIA driver: "
    "'numba-cuda-lcs[cu13]' (driver >= 580) or 'numba-cuda-lcs[cu12]' (driver >= 525)"
)

_warned_values: set[str] = set()
# Why the last activation attempt failed (an unsupported compiler version).
_activation_error: Exception | None = None


def _disable_value() -> str:
    return os.environ.get(DISABLE_ENV, "").strip().lower()


def disabled_by_environment() -> bool:
    """True when ``NUMBA_CUDA_LCS_DISABLE`` is ``1``, ``true``, ``yes`` or ``on``.

    ``0``, ``false``, ``no``, ``off`` and the empty string leave the package
    enabled; any other value also leaves it enabled and warns once.
    """
    value = _disable_value()
    if value in DISABLE_TRUE:
        return True
    if value not in DISABLE_FALSE and value not in _warned_values:
        _warned_values.add(value)
        warnings.warn(
            f"{DISABLE_ENV}={os.environ.get(DISABLE_ENV)!r} is not recognised, so "
            f"numba-cuda-lcs stays enabled. Use one of {', '.join(DISABLE_TRUE)} to "
            f"disable it, or one of 0, false, no, off (or leave it unset) to enable it.",
            RuntimeWarning,
            stacklevel=3,
        )
    return False


def _simulator_enabled() -> bool:
    return os.environ.get(SIMULATOR_ENV, "").strip() not in ("", "0")


def _compilers_installed() -> list[str]:
    from . import backends

    return [str(b.compiler) for b in backends.BACKENDS if b.installed()]


def _environment_reason() -> str | None:
    """Why activation cannot happen in this process, or None."""
    if disabled_by_environment():
        return (
            f"{DISABLE_ENV}={os.environ.get(DISABLE_ENV)} is set, so numba-cuda is left untouched."
        )
    if _simulator_enabled():
        return (
            f"{SIMULATOR_ENV} is set: the CUDA simulator runs kernels in Python "
            "and has no compiler or dispatcher for numba-cuda-lcs to route, so "
            "the package stays inactive (kernels still run in the simulator)."
        )
    if not _compilers_installed():
        return (
            "neither numba-cuda nor numba-cuda-mlir is installed, so there is no "
            f"compiler to extend: {INSTALL_HINT}, or 'numba-cuda-lcs[mlir]'."
        )
    return None


def activate() -> bool:
    """Install LC-S compilation into every supported compiler the program has
    imported, and arm it for those imported later.

    Returns True when it is active afterwards; False when
    ``NUMBA_CUDA_LCS_DISABLE`` is set, the CUDA simulator is enabled (it has
    no dispatcher to route) or no supported compiler is installed --
    :func:`inactive_reason` says which.  Raises
    :class:`UnsupportedCompilerError` (an :class:`UnsupportedNumbaCudaError`)
    for a compiler version this release does not support.
    """
    global _activation_error
    if _environment_reason() is not None:
        return False
    from . import backends

    try:
        backends.activate_all()
    except UnsupportedNumbaCudaError as exc:
        _activation_error = exc
        raise
    _activation_error = None
    compat.warn_known_problems()  # numpy 2.5 with numba-cuda 0.30.x, ...
    return True


def deactivate() -> bool:
    """Undo every patch :func:`activate` made (kernels compiled per
    configuration are handed to the compiler's own state first, so none is
    launched with a configuration it was not compiled for).

    Returns False when the package was not active."""
    from . import backends

    return bool(backends.deactivate_all())


def is_active() -> bool:
    """True while numba-cuda-lcs is installed into a compiler, or armed to
    install as soon as an installed compiler is imported."""
    from . import backends

    return bool(backends.installed_modules() or backends.armed_compilers())


def active_compilers() -> list[str]:
    """The compilers numba-cuda-lcs is installed into now."""
    from . import backends

    return [str(module.COMPILER) for module in backends.installed_modules()]


def inactive_reason() -> str | None:
    """None while the package is active; otherwise a sentence saying why not
    (disabled by ``NUMBA_CUDA_LCS_DISABLE``, the CUDA simulator, numba-cuda
    not installed, an unsupported numba-cuda, or :func:`deactivate`)."""
    if is_active():
        return None
    reason = _environment_reason()
    if reason is not None:
        return reason
    if _activation_error is not None:
        return str(_activation_error)
    return "numba_cuda_lcs.deactivate() was called; numba_cuda_lcs.activate() turns it back on."


def _init_extension() -> None:
    """numba-cuda ``numba_cuda_extensions`` entry point (``init``)."""
    activate()


def _activate_on_import() -> None:
    try:
        activate()
    except UnsupportedNumbaCudaError as exc:
        # Importing must not fail for a numba-cuda we do not support: the
        # package stays inactive and says so (activate() itself raises).
        warnings.warn(f"numba-cuda-lcs is not active: {exc}", RuntimeWarning, stacklevel=3)


_activate_on_import()
