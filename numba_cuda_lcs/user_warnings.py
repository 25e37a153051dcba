"""Warnings that point at the user's code (compiler-neutral).

A warning raised deep in a launch or a compile -- through our code, the
compiler's, and back -- is only useful if it names the line of the user's
program that launched.  :func:`warn` finds that frame: the first one outside
numba-cuda-lcs and the compilers, whichever path reached the warning.
"""

import sys
import warnings
from types import FrameType

#: Packages whose frames are not the user's: ours and the compilers'.
_NOT_USER = (
    "numba_cuda_lcs",
    "_numba_cuda_lcs_autoload",
    "numba",
    "numba_cuda",
    "numba_cuda_mlir",
)


def _is_user(module: str) -> bool:
    return not any(module == name or module.startswith(name + ".") for name in _NOT_USER)


def warn(message: str | Warning, category: type[Warning] = RuntimeWarning) -> None:
    """``warnings.warn`` at the first frame outside numba-cuda-lcs and the
    compilers (*category* is ignored when *message* is a Warning)."""
    frame: FrameType | None = sys._getframe(1)
    level = 2  # the caller of warn()
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if _is_user(module):
            break
        frame, level = frame.f_back, level + 1
    else:
        level = 2
    warnings.warn(message, category, stacklevel=level)
