"""The numba-cuda 0.30.x backend (being split out of ``_integration``)."""

from ..._integration import (  # noqa: F401
    check_version,
    install,
    installed_patches,
    is_installed,
    uninstall,
)

COMPILER = "numba-cuda"
