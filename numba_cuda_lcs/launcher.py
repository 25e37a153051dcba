"""The one place that binds the launcher implementation.

A *launcher* marshals a kernel's arguments by a plan built once per compiled
kernel and launches it through the CUDA driver (see ``_launcher.c``; the
numba-cuda backend builds the plans, ``backends/numba_cuda/argplan.py``).
The C extension ``_launcher`` is used when it is built; its pure-Python twin
``_launcher_py`` when it is not, or under ``NUMBA_CUDA_LCS_PURE_PYTHON=1``.
Callers read :data:`Launcher` at call time, so :func:`use` switches the
package at once (the tests run over both, together with the TLS twins).
"""

import os

from . import _launcher_py

try:
    from . import _launcher as _launcher_c
except ImportError:  # extension not built
    _launcher_c = None  # type: ignore[assignment]

#: The implementations available in this process, by name.
IMPLEMENTATIONS = {"python": _launcher_py}
if _launcher_c is not None:
    IMPLEMENTATIONS["c"] = _launcher_c

#: What a launcher raises when the driver refuses a launch (either twin).
LAUNCH_ERRORS = tuple(module.LaunchError for module in IMPLEMENTATIONS.values())

DEFAULT_IMPLEMENTATION = (
    "python"
    if os.environ.get("NUMBA_CUDA_LCS_PURE_PYTHON", "") == "1" or _launcher_c is None
    else "c"
)

impl = IMPLEMENTATIONS[DEFAULT_IMPLEMENTATION]
IMPLEMENTATION = DEFAULT_IMPLEMENTATION
Launcher = impl.Launcher
#: The calling thread's current CUDA context handle as an int (0: none).
current_context = impl.current_context


def use(name):
    """Bind the implementation *name* ("c" or "python"); returns the name
    bound before.  Launchers already built keep the implementation they were
    built with."""
    global impl, IMPLEMENTATION, Launcher, current_context
    try:
        module = IMPLEMENTATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown launcher implementation {name!r}; available: "
            f"{', '.join(sorted(IMPLEMENTATIONS))}"
        ) from None
    previous = IMPLEMENTATION
    impl, IMPLEMENTATION, Launcher = module, name, module.Launcher
    current_context = module.current_context
    return previous


__all__ = [
    "LAUNCH_ERRORS",
    "IMPLEMENTATION",
    "IMPLEMENTATIONS",
    "DEFAULT_IMPLEMENTATION",
    "Launcher",
    "current_context",
    "impl",
    "use",
]
