"""Launch constants: ``numba_cuda_lcs.launch.threads_per_block()`` sizes a
shared-memory buffer, with no rewrite to write.

``block_sum`` reduces each block in a shared buffer of exactly
``threads_per_block()`` float64s and adds the block sums atomically.  Reading
the constant marks the kernel sensitive to ``blockdim`` only: three block
sizes over three grid sizes compile three times.  ``launch.blockdim()[0]``,
``launch.griddim()``, ``launch.blocks_per_grid()`` and ``launch.sharedmem()``
work the same way (docs/launch-config.md, "Launch constants in kernels").

On a GPU (``python examples/launch_constants.py``): every sum is checked
against NumPy and the kernel compiles once per block size.

Compile-only (``--compile-only``, automatic without a GPU): compiled with
``numba.cuda.compile_ptx(..., cc=(9, 0))`` inside
``numba_cuda_lcs.compiling_for(grid, block)``; the PTX's shared buffer is
8 bytes times the block size.
"""

from _common import INSTALL_NUMBA_CUDA, check, compile_only, ptx_for, require, shared_buffers

require("numba_cuda", INSTALL_NUMBA_CUDA)  # else: "skipped: ...", exit 0
from numba import cuda, float64  # noqa: E402

from numba_cuda_lcs import launch  # noqa: E402


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


def main() -> None:
    cpu = compile_only(__doc__.splitlines()[0])
    if cpu:
        from numba.cuda import types

        for block in (64, 128, 256):
            ptx, marked = ptx_for(block_sum, (types.float64[::1], types.float64[::1]), 1, block)
            buffers = shared_buffers(ptx)
            print(f"blockdim={block}: shared {buffers}, marked {marked}")
            check(any(b.endswith(f"[{8 * block}]") for b in buffers), f"{8 * block}-byte buffer")
            check(marked == ("blockdim",), "the compile marked blockdim only")
        return

    import numpy as np

    from numba_cuda_lcs import inspection

    kernel = cuda.jit(block_sum)
    rng = np.random.default_rng(0)
    for block in (64, 128, 256):
        for n in (1000, 5000, 20000):
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
