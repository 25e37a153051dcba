"""``python -m numba_cuda_lcs demo``: LC-S at work.

A block-wide sum whose shared-memory buffer is sized by the block size.  A
rewrite (``demo_*`` kernels only) replaces the placeholder ``BLOCK`` with the
block size of the launch being compiled and marks the kernel sensitive to
``blockdim`` only.  Launched over several block and grid sizes, each block
size compiles once and every sum is right.  Without a GPU the demo says so and
shows the compile-only path (the shared buffer in the PTX follows the block
size).
"""

import sys
import warnings

import numpy as np

BLOCK = 987654001  # placeholder the rewrite replaces with blockdim[0]
COMPILED = []


def _register_rewrite():
    from numba.cuda.core import ir
    from numba.cuda.core.rewrites import Rewrite, register_rewrite, rewrite_registry

    from . import launchconfig

    if getattr(rewrite_registry, "_numba_cuda_lcs_demo", False):
        return
    rewrite_registry._numba_cuda_lcs_demo = True

    @register_rewrite("before-inference")
    class BlockSizeFromLaunch(Rewrite):
        def match(self, func_ir, block, typemap, calltypes):
            if not func_ir.func_id.func_name.startswith("demo_"):
                return False
            self._block = block
            self._consts = [
                stmt
                for stmt in block.body
                if isinstance(stmt, ir.Assign)
                and isinstance(stmt.value, (ir.Const, ir.Global))
                and stmt.value.value == BLOCK
            ]
            return bool(self._consts)

        def apply(self):
            cfg = launchconfig.ensure_current_launch_config()
            cfg.mark_kernel_as_launch_config_sensitive(fields="blockdim")
            threads = cfg.blockdim[0] * cfg.blockdim[1] * cfg.blockdim[2]
            for stmt in self._consts:
                stmt.value = ir.Const(threads, stmt.value.loc)
            if not getattr(self, "_logged", False):  # once per compilation
                self._logged = True
                COMPILED.append((cfg.griddim, cfg.blockdim))
            return self._block


def _kernel_source():
    from numba import cuda, float64

    def demo_block_sum(x, out):
        buf = cuda.shared.array(BLOCK, float64)
        tid = cuda.threadIdx.x
        i = cuda.grid(1)
        buf[tid] = x[i] if i < x.size else 0.0
        cuda.syncthreads()
        stride = BLOCK // 2
        while stride > 0:
            if tid < stride:
                buf[tid] += buf[tid + stride]
            cuda.syncthreads()
            stride //= 2
        if tid == 0:
            cuda.atomic.add(out, 0, buf[0])

    return demo_block_sum


def make_block_sum():
    """The same block-wide sum written with ``numba_cuda_lcs.launch``: no
    rewrite of our own, the launch constants size the buffer."""
    from numba import cuda, float64

    from . import launch

    @cuda.jit
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

    return block_sum


def _gpu_demo(out):
    from numba import cuda

    from . import inspection

    kernel = cuda.jit(_kernel_source())
    print("Block-wide sum; shared buffer sized by the launch's block size.", file=out)
    print(f"{'block':>6} {'grid':>5} {'n':>7} {'sum':>12} {'expected':>12}  compiled?", file=out)
    rng = np.random.default_rng(0)
    for block in (64, 128, 256):
        for n in (1000, 5000, 20000):
            x = rng.random(n)
            grid = (n + block - 1) // block
            before = len(COMPILED)
            result = cuda.to_device(np.zeros(1))
            kernel[grid, block](cuda.to_device(x), result)
            got = result.copy_to_host()[0]
            compiled = "yes" if len(COMPILED) > before else "no (reused)"
            ok = np.isclose(got, x.sum())
            print(
                f"{block:6d} {grid:5d} {n:7d} {got:12.4f} {x.sum():12.4f}  {compiled}"
                + ("" if ok else "   WRONG"),
                file=out,
            )
            if not ok:
                raise SystemExit("demo: wrong sum")
    print(f"\nCompilations: {len(COMPILED)} (one per block size; grid sizes reuse them)", file=out)
    for grid, block in COMPILED:
        print(f"  compiled for blockdim={block} (first launched with griddim={grid})", file=out)
    print("\nInspection (numba_cuda_lcs.inspection.format_specializations):", file=out)
    print(inspection.format_specializations(kernel), file=out)

    print("\nThe same sum with numba_cuda_lcs.launch.threads_per_block() (no rewrite):", file=out)
    block_sum = make_block_sum()
    x = rng.random(30000)
    for block in (64, 128, 256, 64):
        for grid_scale in (1, 2):
            result = cuda.to_device(np.zeros(1))
            grid = grid_scale * ((x.size + block - 1) // block)
            block_sum[grid, block](cuda.to_device(x), result)
            if not np.isclose(result.copy_to_host()[0], x.sum()):
                raise SystemExit("demo: wrong sum")
    print(inspection.format_specializations(block_sum), file=out)


def _cpu_demo(out):
    from numba import cuda
    from numba.cuda import types

    from . import launchconfig

    print(
        "Compile-only view (numba.cuda.compile_ptx, no GPU needed): "
        "the shared buffer in the PTX follows the block size.",
        file=out,
    )
    func = _kernel_source()
    for block in (64, 128, 256):
        with launchconfig.compiling_for(1, block) as cfg:
            ptx, _ = cuda.compile_ptx(func, (types.float64[::1], types.float64[::1]), cc=(9, 0))
        shared = [line.strip() for line in ptx.splitlines() if ".shared" in line and ".b8" in line]
        print(f"  blockdim={block:4d}: {shared[0] if shared else '?'}  (marked: {cfg.marked_fields})", file=out)


def main(argv=None, out=None):
    out = out or sys.stdout
    warnings.simplefilter("ignore")
    import numba_cuda_lcs

    try:
        from numba import cuda
    except Exception as exc:
        print(f"numba-cuda cannot be imported here ({exc}); install numba-cuda-lcs with its cu13 extra.", file=out)
        return 1
    print(
        f"numba-cuda-lcs {numba_cuda_lcs.__version__}: "
        f"{'active' if numba_cuda_lcs.is_active() else 'NOT active (NUMBA_CUDA_LCS_DISABLE is set)'}",
        file=out,
    )
    _register_rewrite()
    if not cuda.is_available():
        print(
            "No CUDA GPU is available on this machine, so the demo cannot launch kernels.",
            file=out,
        )
        try:
            _cpu_demo(out)
        except Exception as exc:
            print(f"(The compile-only view needs NVVM from numba-cuda's cu13 extra: {exc})", file=out)
        return 0
    if not numba_cuda_lcs.is_active():
        print("Package disabled: nothing to demonstrate.", file=out)
        return 0
    _gpu_demo(out)
    return 0
