"""CuPy arrays and PyTorch tensors passed straight to an LC-S kernel.

Kernels take any object with ``__cuda_array_interface__``; numba-cuda-lcs
checks CuPy arrays by their attributes and PyTorch tensors through DLPack's
C exchange API on the fast launch path (docs/launch-config.md, "Launch path
cost").  The kernel scales each element by the block size it was compiled
for (``launch.threads_per_block()``), so the output shows which compiled
kernel ran.

On a GPU (``python examples/cupy_and_torch.py``; needs CuPy and/or PyTorch
with CUDA): each library's arrays are launched with block sizes 64 and 128,
many times, and checked; a library that is not installed is reported as
skipped (both missing: ``skipped: ...``, exit 0).

Compile-only (``--compile-only``, automatic without a GPU): the kernel is
compiled for the float32 C-contiguous arrays both libraries pass, with
``numba.cuda.compile_ptx(..., cc=(9, 0))`` inside
``numba_cuda_lcs.compiling_for(grid, block)`` (CuPy and PyTorch are not
needed).
"""

import importlib.util

from _common import INSTALL_NUMBA_CUDA, check, compile_only, ptx_for, require, skip

require("numba_cuda", INSTALL_NUMBA_CUDA)  # else: "skipped: ...", exit 0
from numba import cuda  # noqa: E402

from numba_cuda_lcs import launch  # noqa: E402


def scale_by_block(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = x[i] * launch.threads_per_block()


def main() -> None:
    cpu = compile_only(__doc__.splitlines()[0])
    if cpu:
        from numba.cuda import types

        for block in (64, 128):
            ptx, marked = ptx_for(
                scale_by_block, (types.float32[::1], types.float32[::1]), 4, block
            )
            print(f"blockdim={block}: marked {marked}")
            check(marked == ("blockdim",), "the compile marked blockdim only")
            check(f"{float(block):.1f}" in ptx or f"0f{_f32_hex(block)}" in ptx, f"{block} in PTX")
        return

    libraries = [name for name in ("cupy", "torch") if importlib.util.find_spec(name)]
    if not libraries:
        skip("neither CuPy nor PyTorch is installed (python -m pip install cupy-cuda13x torch)")
    kernel = cuda.jit(scale_by_block)
    n = 10_000
    for name in ("cupy", "torch"):
        if name not in libraries:
            print(f"{name}: skipped ({name} is not installed)")
            continue
        if name == "cupy":
            import cupy as xp

            x = xp.arange(n, dtype=xp.float32)
            out = xp.zeros_like(x)
        else:
            import torch as xp

            if not xp.cuda.is_available():
                print("torch: skipped (PyTorch has no CUDA here)")
                continue
            x = xp.arange(n, dtype=xp.float32, device="cuda")
            out = xp.zeros_like(x)
        for block in (64, 128, 64):
            for _ in range(100):  # repeated launches take the fast launch path
                kernel[(n + block - 1) // block, block](x, out)
            cuda.synchronize()
            ok = bool((out == x * block).all())
            check(ok, f"{name}: every element is x * {block}")
    from numba_cuda_lcs import inspection

    print(inspection.format_specializations(kernel))
    compiles = inspection.compile_counters(kernel)["compiles"]
    check(compiles == 2, f"one compile per block size (2), got {compiles}")


def _f32_hex(value: float) -> str:
    import struct

    return struct.pack(">f", float(value)).hex().upper()


if __name__ == "__main__":
    main()
