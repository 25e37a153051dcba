"""A compile-time rewrite that reads the block size of the launch being
compiled and marks the kernel sensitive to ``blockdim`` only.

It stands for any code that runs while a kernel compiles and picks code by
the launch configuration (cuda.coop choosing a CUB algorithm, say).  The
rewrite replaces the placeholder constant with the block size, so each
element written shows which compiled kernel ran.

On a GPU (``python examples/block_size_rewrite.py``): ``fill[64, 128]``
compiles for 128 threads, ``fill[99, 128]`` reuses it (only the block size
matters), ``fill[64, 256]`` compiles again; every element equals the block
size of its launch.

Compile-only (``--compile-only``, automatic without a GPU): the same kernel
compiled with ``numba.cuda.compile_ptx(..., cc=(9, 0))`` inside
``numba_cuda_lcs.compiling_for(grid, block)``; the PTX holds each block size
and the compile marked ``blockdim``.
"""

from _common import INSTALL_NUMBA_CUDA, check, compile_only, ptx_for, require

require("numba_cuda", INSTALL_NUMBA_CUDA)  # else: "skipped: ...", exit 0
from numba import cuda  # noqa: E402

PLACEHOLDER = 987654321  # replaced by the block size of the launch being compiled


def register_rewrite() -> None:
    from numba.cuda.core import ir
    from numba.cuda.core.rewrites import Rewrite, register_rewrite

    from numba_cuda_lcs import ensure_current_launch_config

    @register_rewrite("before-inference")
    class BlockSizeFromLaunch(Rewrite):
        def match(self, func_ir, block, typemap, calltypes):
            self.block = block
            self.consts = [
                stmt
                for stmt in block.body
                if isinstance(stmt, ir.Assign)
                and isinstance(stmt.value, ir.Const)
                and stmt.value.value == PLACEHOLDER
            ]
            return bool(self.consts)

        def apply(self):
            cfg = ensure_current_launch_config()  # the configured launch being compiled
            cfg.mark_kernel_as_launch_config_sensitive(fields="blockdim")
            for stmt in self.consts:
                stmt.value = ir.Const(cfg.blockdim[0], stmt.value.loc)
            return self.block


def fill(out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = 987654321  # PLACEHOLDER


def main() -> None:
    cpu = compile_only(__doc__.splitlines()[0])
    register_rewrite()

    if cpu:
        from numba.cuda import types

        for block in (128, 256):
            ptx, marked = ptx_for(fill, (types.int64[::1],), 64, block)
            print(f"blockdim={block}: marked {marked}")
            check(str(PLACEHOLDER) not in ptx, "the placeholder was replaced")
            check(f", {block};" in ptx, f"the PTX stores {block}")
            check(marked == ("blockdim",), "the compile marked blockdim only")
        return

    import numpy as np

    from numba_cuda_lcs import inspection

    kernel = cuda.jit(fill)
    for grid, block in ((64, 128), (99, 128), (64, 256)):
        out = cuda.to_device(np.zeros(grid * block, dtype=np.int64))
        kernel[grid, block](out)
        values = set(out.copy_to_host().tolist())
        print(f"fill[{grid}, {block}] wrote {sorted(values)}")
        check(values == {block}, f"every element is {block}")
    compiles = inspection.compile_counters(kernel)["compiles"]
    print(inspection.format_specializations(kernel))
    check(compiles == 2, f"two compiles (block 128 and 256), got {compiles}")


if __name__ == "__main__":
    main()
