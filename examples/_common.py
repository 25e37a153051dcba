"""Shared by the examples: the GPU / compile-only switch, skips and checks.

Every example runs on a GPU (``python examples/NAME.py``) and has a
compile-only path for machines without one: ``--compile-only`` selects it,
and it is chosen automatically when numba-cuda sees no GPU.  The
compile-only path compiles PTX inside ``numba_cuda_lcs.compiling_for(grid,
block)`` with ``compile_ptx(..., cc=(9, 0))`` (an explicit compute
capability: without it numba-cuda asks the CUDA driver, which a machine
without a GPU does not have).

Exit status: 0 when what the example shows held; 1 when a result was wrong;
0 with a line starting ``skipped:`` when a library the example needs is not
installed (``scripts/run-examples.sh`` reports those).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from collections.abc import Callable
from typing import Any

#: compile_ptx's compute capability on the compile-only path (an H100/H200).
CC = (9, 0)


def skip(why: str) -> None:
    """Say why the example cannot run here and exit 0."""
    print(f"skipped: {why}")
    sys.exit(0)


def fail(why: str) -> None:
    """Report a wrong result and exit 1."""
    print(f"FAILED: {why}")
    sys.exit(1)


def check(condition: bool, what: str) -> None:
    """Print *what* with ok, or fail with it."""
    if not condition:
        fail(what)
    print(f"  ok: {what}")


def require(module: str, install: str) -> None:
    """Skip unless *module* is installed (*install*: the command that adds it)."""
    if importlib.util.find_spec(module) is None:
        skip(f"{module} is not installed ({install})")


#: The command that installs numba-cuda with this package.
INSTALL_NUMBA_CUDA = "python -m pip install 'numba-cuda-lcs[cu13]'"


def compile_only(
    description: str,
    argv: list[str] | None = None,
    gpu_available: Callable[[], bool] | None = None,
) -> bool:
    """Parse the command line; True for the compile-only path (asked for, or
    no GPU: *gpu_available*, by default numba-cuda's ``cuda.is_available``)."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--compile-only",
        action="store_true",
        help="compile PTX for several configurations instead of launching "
        "(the default on a machine without a GPU)",
    )
    args = parser.parse_args(argv)
    if args.compile_only:
        print("compile-only path (--compile-only)")
        return True
    if gpu_available is None:
        from numba import cuda

        gpu_available = cuda.is_available
    if not gpu_available():
        print("compile-only path (no CUDA GPU on this machine)")
        return True
    return False


def ptx_for(
    func: Callable[..., Any],
    signature: Any,
    griddim: Any,
    blockdim: Any,
    sharedmem: int = 0,
    compile_ptx: Callable[..., Any] | None = None,
) -> tuple[str, tuple[str, ...]]:
    """PTX of *func* compiled for one launch configuration without a GPU, and
    the fields the compile marked."""
    import numba_cuda_lcs

    if compile_ptx is None:
        from numba import cuda

        compile_ptx = cuda.compile_ptx
    with numba_cuda_lcs.compiling_for(griddim, blockdim, sharedmem) as config:
        ptx, _ = compile_ptx(func, signature, cc=CC)
    return ptx, config.marked_fields


def shared_buffers(ptx: str) -> list[str]:
    """The ``.shared`` array declarations of *ptx* (``name[bytes]``)."""
    found = []
    for line in ptx.splitlines():
        if ".shared" in line and ".b8" in line:
            found.append(line.split(".b8", 1)[1].strip().rstrip(";"))
    return found
