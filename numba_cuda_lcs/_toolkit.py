"""Can this machine compile CUDA code?  (No GPU needed, but numba-cuda needs
NVVM and NVRTC, which the ``cu13``/``cu12`` extras install from PyPI.)"""

from __future__ import annotations

import functools

#: Library markers in numba-cuda's loader errors -> what to call them.
_LIBRARIES = (
    ("nvrtc", "NVRTC (libnvrtc)"),
    ("nvvm", "NVVM (libnvvm)"),
    ("cudart", "the CUDA runtime (libcudart)"),
)

EXTRA_HINT = (
    "install the extra that brings the CUDA libraries: "
    "python -m pip install 'numba-cuda-lcs[cu13]' (CUDA 13, NVIDIA driver >= 580) "
    "or 'numba-cuda-lcs[cu12]' (CUDA 12, driver >= 525); from a checkout: "
    'python -m pip install -e ".[cu13]"'
)


def missing_library(exc: BaseException) -> str | None:
    """The CUDA library that *exc* (or an exception it chains) says is
    missing, e.g. ``"NVRTC (libnvrtc)"``; None when it is about something else."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        text = f"{type(current).__name__}: {current}".lower()
        if any(word in text for word in ("not found", "no such file", "cannot", "could not")):
            for marker, name in _LIBRARIES:
                if marker in text:
                    return name
        current = current.__cause__ or current.__context__
    return None


#: Top-level modules a compiler extra brings -> what to call them.
_MODULES = {
    "numba": "numba-cuda",
    "numba_cuda": "numba-cuda",
    "numpy": "numpy",
    "cuda": "cuda-bindings / cuda-core",
}


def describe_compile_failure(exc: BaseException) -> str:
    """A sentence for a failed compile: the missing library and the extra
    that brings it, or the error itself."""
    if isinstance(exc, ModuleNotFoundError) and (exc.name or "").split(".")[0] in _MODULES:
        what = _MODULES[(exc.name or "").split(".")[0]]
        return f"{what} is not installed, so CUDA code cannot be compiled here; {EXTRA_HINT}"
    library = missing_library(exc)
    if library is not None:
        return f"{library} is not installed, so CUDA code cannot be compiled here; {EXTRA_HINT}"
    return f"CUDA code cannot be compiled here ({type(exc).__name__}: {exc})"


def _probe(out):
    out[0] = 1


@functools.lru_cache(maxsize=1)
def compile_problem() -> str | None:
    """None when ``numba.cuda.compile_ptx`` works on this machine, else
    :func:`describe_compile_failure` of what stopped it (computed once)."""
    try:
        from numba import cuda
        from numba.cuda import types

        cuda.compile_ptx(_probe, (types.int64[::1],), cc=(9, 0))
    except Exception as exc:
        return describe_compile_failure(exc)
    return None
