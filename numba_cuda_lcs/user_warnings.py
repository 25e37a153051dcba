"""Warnings that point at the user's code (compiler-neutral).

A warning raised deep in a launch or a compile -- through our code, the
compiler's, and back -- is only useful if it names the line of the user's
program that launched.  :func:`warn` finds that frame: the first one outside
numba-cuda-lcs and the compilers, whichever path reached the warning.
"""

import sys
import warnings

#: Module prefixes whose frames are not the user's.
_OURS_AND_COMPILERS = ("numba_cuda_lcs", "numba.", "numba_cuda", "_numba_cuda_lcs_autoload")


def warn(message, category=RuntimeWarning):
    """``warnings.warn`` at the first frame outside numba-cuda-lcs and the
    compilers (*category* is ignored when *message* is a Warning)."""
    frame, level = sys._getframe(1), 2  # level 2: the caller of warn()
    while frame is not None:
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(_OURS_AND_COMPILERS):
            break
        frame, level = frame.f_back, level + 1
    else:
        level = 2
    warnings.warn(message, category, stacklevel=level)
