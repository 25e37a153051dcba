"""Known problems of an installed environment that this package can detect
without importing a compiler, and the command that fixes each.

numba-cuda 0.30.x (0.30.4 included) calls ``np.row_stack``, which numpy 2.5
removed: with numpy 2.5 or later, compiling a kernel fails with
``AttributeError: module 'numpy' has no attribute 'row_stack'``.  The
``numba-cuda``/``cu12``/``cu13`` extras pin ``numpy<2.5``, but installing
numba-cuda next to this package by hand can bring numpy 2.5.
:func:`known_problems` lists such problems, :func:`warn_known_problems`
warns about them once per process (called at activation), and
``python -m numba_cuda_lcs info`` and the demo print them.
"""

from __future__ import annotations

import sys
from importlib import metadata

from . import user_warnings

__all__ = [
    "INSTALL_COMMAND",
    "NUMPY_FIX",
    "distribution_version",
    "known_problems",
    "numpy_problem",
    "warn_known_problems",
]

#: The command that installs a compiler with this package (CUDA 13 wheels;
#: ``cu12`` for NVIDIA drivers older than 580).
INSTALL_COMMAND = (
    "python -m pip install 'numba-cuda-lcs[cu13]' (NVIDIA driver >= 580; "
    "'numba-cuda-lcs[cu12]' for driver >= 525; from a checkout: "
    'python -m pip install -e ".[cu13]")'
)

#: The command that installs a numpy numba-cuda 0.30.x works with.
NUMPY_FIX = "pip install 'numpy<2.5'"

_warned = False


def distribution_version(name: str) -> str | None:
    """The installed version of distribution *name* (``"numpy"``,
    ``"numba-cuda"``), or None when it is not installed.  An imported numpy
    answers with its ``__version__`` (what the process really uses)."""
    if name == "numpy":
        module = sys.modules.get("numpy")
        version = getattr(module, "__version__", None)
        if isinstance(version, str):
            return version
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def _release(version: str) -> tuple[int, ...]:
    """``"2.5.0rc1"`` -> ``(2, 5, 0)``: the leading numeric components."""
    parts = []
    for piece in version.split("."):
        digits = ""
        for char in piece:
            if not char.isdigit():
                break
            digits += char
        if not digits:
            break
        parts.append(int(digits))
        if len(digits) != len(piece):
            break
    return tuple(parts)


def numpy_problem() -> str | None:
    """A sentence when numba-cuda 0.30.x is installed with numpy 2.5 or
    later (compiles fail in numba-cuda), naming the fix; else None."""
    numba_cuda = distribution_version("numba-cuda")
    numpy = distribution_version("numpy")
    if numba_cuda is None or numpy is None:
        return None
    if _release(numba_cuda)[:2] != (0, 30) or _release(numpy)[:2] < (2, 5):
        return None
    return (
        f"numpy {numpy} is installed, but numba-cuda {numba_cuda} calls np.row_stack, "
        "which numpy 2.5 removed: compiling a kernel fails with AttributeError "
        f"(row_stack). Fix: {NUMPY_FIX}"
    )


def known_problems() -> list[str]:
    """Every known problem of this environment (empty when none)."""
    return [problem for problem in (numpy_problem(),) if problem is not None]


def warn_known_problems() -> list[str]:
    """Warn (``RuntimeWarning``, once per process) about each known problem;
    returns them."""
    global _warned
    problems = known_problems()
    if problems and not _warned:
        _warned = True
        for problem in problems:
            user_warnings.warn(f"numba-cuda-lcs: {problem}", RuntimeWarning)
    return problems
