"""The same kernel source on numba-cuda-mlir (``from numba_cuda_mlir import cuda``).

Launch constants (``numba_cuda_lcs.launch``) are compiler-neutral: this is
examples/launch_constants.py's block sum, unchanged, compiled by
numba-cuda-mlir.  ``import numba_cuda_lcs`` activates the package for it
(docs/numba-cuda-mlir.md).

On a GPU (``python examples/numba_cuda_mlir_kernel.py``; needs
numba-cuda-mlir, ``pip install 'numba-cuda-lcs[mlir]'`` on Python >= 3.11):
sums at three block sizes, checked, one compile per block size.  Without
numba-cuda-mlir it prints ``skipped: ...`` and exits 0.

Compile-only (``--compile-only``, automatic without a GPU): numba-cuda-mlir's
``cuda.compile_ptx(..., cc=(9, 0))`` inside
``numba_cuda_lcs.compiling_for(grid, block)``.  numba-cuda-mlir 0.6 also
asks the driver for the compute capability while compiling, so on a machine
without a GPU this example answers (9, 0) for it
(``numba_cuda_mlir.tools.get_gpu_compute_capability``, as the CPU tests do).
"""

from _common import CC, check, compile_only, ptx_for, require, shared_buffers, skip

require("numba_cuda_mlir", "python -m pip install 'numba-cuda-lcs[mlir]' (Python >= 3.11)")
import numba_cuda_lcs  # noqa: E402, F401  (activates the package for numba-cuda-mlir)
from numba_cuda_lcs import launch  # noqa: E402

try:
    from numba_cuda_mlir import cuda
    from numba_cuda_mlir.numba_cuda import float64
except Exception as exc:  # installed but not importable here (no CUDA libraries, ...)
    skip(f"numba-cuda-mlir cannot be imported here ({type(exc).__name__}: {exc})")


def block_sum(x, out):
    buf = cuda.shared.array(launch.threads_per_block(), float64)
    tid = cuda.threadIdx.x
    i = cuda.grid(1)
    buf[tid] = x[i] if i < x.size else 0.0
    cuda.syncthreads()
    stride = launch.threads_per_block() // 2
    while stride > 0:
        if tid < stride:
            buf[tid] += buf[tid + stride]
        cuda.syncthreads()
        stride //= 2
    if tid == 0:
        cuda.atomic.add(out, 0, buf[0])


def _gpu_available() -> bool:
    try:
        return bool(cuda.is_available())
    except Exception:
        return False


def main() -> None:
    if compile_only(__doc__.splitlines()[0], gpu_available=_gpu_available):
        from numba_cuda_mlir import tools

        def compute_capability(as_type=str):  # no driver to ask on this machine
            return CC if as_type is tuple else f"sm_{CC[0]}{CC[1]}"

        tools.get_gpu_compute_capability = compute_capability
        for block in (64, 128, 256):
            ptx, marked = ptx_for(
                block_sum, "void(float64[::1], float64[::1])", 1, block, 0, cuda.compile_ptx
            )
            buffers = shared_buffers(ptx)
            print(f"numba-cuda-mlir, blockdim={block}: shared {buffers}, marked {marked}")
            check(any(b.endswith(f"[{8 * block}]") for b in buffers), f"{8 * block}-byte buffer")
            check(marked == ("blockdim",), "the compile marked blockdim only")
        return

    import numpy as np

    from numba_cuda_lcs import inspection

    kernel = cuda.jit(block_sum)
    rng = np.random.default_rng(0)
    for block in (64, 128, 256):
        for n in (1000, 20000):
            x = rng.random(n)
            out = cuda.to_device(np.zeros(1))
            kernel[(n + block - 1) // block, block](cuda.to_device(x), out)
            got = out.copy_to_host()[0]
            check(bool(np.isclose(got, x.sum())), f"block {block}, n {n}: sum {got:.4f}")
    print(inspection.format_specializations(kernel))
    compiles = inspection.compile_counters(kernel)["compiles"]
    check(compiles == 3, f"one compile per block size (3), got {compiles}")


if __name__ == "__main__":
    main()
