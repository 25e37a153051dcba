"""``python -m numba_cuda_lcs demo``: LC-S at work.

Part 1, a compilation hook: a rewrite (``demo_*`` kernels only) replaces the
placeholder ``BLOCK`` with the block size of the launch being compiled and
marks the kernel sensitive to ``blockdim`` only.  Each thread writes that
constant, so the output shows which compiled kernel ran.

Part 2, launch constants: a block-wide sum whose shared buffer is sized by
``numba_cuda_lcs.launch.threads_per_block()``, launched with several block
sizes over several grid sizes: each block size compiles once, every sum is
right, and the inspection table shows the specializations.

Without a GPU the demo says so and shows the compile-only path (the shared
buffer in the PTX follows the block size).

Exit status: 0 when every step ran and gave the right result; 1 when a step
failed (a wrong result, a compile error, a known problem such as numpy 2.5
with numba-cuda 0.30.x) or nothing could run (no compiler installed: the
message names the command that installs one).  Under
``NUMBA_CUDA_LCS_DISABLE=1`` or the CUDA simulator the demo says so and
exits 0 (those are choices, not failures).
"""

import sys
import warnings

from . import compat

#: Where to read next (printed by the demo).
DOCS_HINT = (
    "Read next: docs/launch-config.md (the API, also in the documentation site: "
    "the 'Documentation' link of `pip show numba-cuda-lcs`) and examples/ "
    "(runnable examples, each with a compile-only path for machines without a GPU)."
)

BLOCK = 987654001  # placeholder the rewrite replaces with the block size
COMPILED: list[tuple] = []  # (griddim, blockdim) of each compilation
_REGISTERED = False


def _register_rewrite():
    from numba.cuda.core import ir
    from numba.cuda.core.rewrites import Rewrite, register_rewrite

    from . import launchconfig

    global _REGISTERED
    if _REGISTERED:  # numba has no way to unregister a rewrite
        return
    _REGISTERED = True

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


def make_block_sum():
    """A block-wide sum whose shared buffer is sized by the launch's block
    size through ``numba_cuda_lcs.launch`` (used by the demo and the tests)."""
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


def _hook_demo(out):
    import numpy as np
    from numba import cuda

    COMPILED.clear()  # this run's compilations only (main() may run again)

    @cuda.jit
    def demo_fill(result):
        i = cuda.grid(1)
        if i < result.size:
            result[i] = BLOCK  # the rewrite puts the compiled-for block size here

    print("Part 1: a rewrite reads the block size while the kernel compiles.", file=out)
    print(f"{'grid':>5} {'block':>6}  compiled?     every element ==", file=out)
    for grid, block in [(4, 64), (2, 128), (8, 64), (1, 256), (2, 128)]:
        before = len(COMPILED)
        result = cuda.to_device(np.zeros(grid * block, dtype=np.int64))
        demo_fill[grid, block](result)
        values = set(result.copy_to_host().tolist())
        compiled = "yes" if len(COMPILED) > before else "no (reused)"
        print(f"{grid:5d} {block:6d}  {compiled:12s}  {sorted(values)}", file=out)
        if values != {block}:
            raise SystemExit("demo: a launch ran a kernel compiled for another block size")
    for grid, block in COMPILED:
        print(f"  compiled for blockdim={block} (first launched with griddim={grid})", file=out)


def _launch_constants_demo(out):
    import numpy as np
    from numba import cuda

    from . import inspection

    print(
        "\nPart 2: a block-wide sum, shared buffer sized by launch.threads_per_block().",
        file=out,
    )
    print(f"{'block':>6} {'grid':>5} {'n':>7} {'sum':>12} {'expected':>12}", file=out)
    kernel = make_block_sum()
    rng = np.random.default_rng(0)
    for block in (64, 128, 256):
        for n in (1000, 5000, 20000):
            x = rng.random(n)
            grid = (n + block - 1) // block
            result = cuda.to_device(np.zeros(1))
            kernel[grid, block](cuda.to_device(x), result)
            got = result.copy_to_host()[0]
            ok = np.isclose(got, x.sum())
            print(
                f"{block:6d} {grid:5d} {n:7d} {got:12.4f} {x.sum():12.4f}"
                + ("" if ok else "   WRONG"),
                file=out,
            )
            if not ok:
                raise SystemExit("demo: wrong sum")
    print("\nnumba_cuda_lcs.inspection.format_specializations(block_sum):", file=out)
    print(inspection.format_specializations(kernel), file=out)


def _cpu_demo(out):
    from numba import cuda
    from numba.cuda import types

    from . import launchconfig

    print(
        "Compile-only view (numba.cuda.compile_ptx with cc=(9, 0), no GPU needed):\n"
        "block_sum sizes its shared buffer with launch.threads_per_block(); each\n"
        "compile runs inside numba_cuda_lcs.compiling_for(1, block), so the buffer\n"
        "in the PTX follows the block size.",
        file=out,
    )
    func = make_block_sum().py_func
    for block in (64, 128, 256):
        with launchconfig.compiling_for(1, block) as cfg:
            ptx, _ = cuda.compile_ptx(func, (types.float64[::1], types.float64[::1]), cc=(9, 0))
        shared = [line.strip() for line in ptx.splitlines() if ".shared" in line and ".b8" in line]
        found = shared[0] if shared else "?"
        print(f"  blockdim={block:4d}: {found}  (marked: {cfg.marked_fields})", file=out)
        expected = f"[{block * 8}]"  # float64: 8 bytes per thread
        if expected not in found or cfg.marked_fields != ("blockdim",):
            raise RuntimeError(f"the PTX for blockdim={block} does not hold a {expected} buffer")
    print(
        "\n'marked: ('blockdim',)' means the compile read the block size (here through\n"
        "launch.threads_per_block()) and marked the kernel launch-config sensitive on\n"
        "that field only: on a GPU it is compiled once per block size and reused for\n"
        "every grid size; a kernel nothing marks is compiled once for all launches.",
        file=out,
    )


#: numba-cuda's warning for grids too small to fill a GPU: the demo launches
#: small grids on purpose.  Every other warning is shown.
SMALL_GRID_WARNING = r".*Grid size .* will likely result in GPU under-utilization"


def _failed(out, what, exc=None):
    """Print why a step failed (and every known problem of this
    environment, with its fix); returns the exit status 1."""
    from . import _toolkit

    detail = "" if exc is None else ": " + _toolkit.describe_compile_failure(exc)
    print(f"demo FAILED: {what}{detail}", file=out)
    for problem in compat.known_problems():
        print(f"Known problem: {problem}", file=out)
    return 1


def main(argv=None, out=None):
    """Run the demo; returns the exit status (see the module docstring)."""
    out = out or sys.stdout
    import numba_cuda_lcs

    reason = numba_cuda_lcs.inactive_reason()
    numba_cuda_installed = "numba-cuda" in numba_cuda_lcs.activation.compilers_installed()
    if reason is None and not numba_cuda_installed:
        reason = (
            "numba-cuda is not installed, and this demo runs on numba-cuda: "
            f"{numba_cuda_lcs.INSTALL_HINT}."
        )
    state = "active" if reason is None else "NOT active"
    print(f"numba-cuda-lcs {numba_cuda_lcs.__version__}: {state}", file=out)
    if reason is not None:
        print(reason, file=out)
        if not numba_cuda_installed:
            print(f"Fix: {compat.INSTALL_COMMAND}", file=out)
        print("Nothing to demonstrate.", file=out)
        # A missing numba-cuda is an installation problem; the simulator or
        # NUMBA_CUDA_LCS_DISABLE are choices.
        return 0 if numba_cuda_installed else 1
    for problem in compat.known_problems():
        print(f"WARNING: {problem}", file=out)
    try:
        import numpy  # noqa: F401  (numba-cuda needs it; a broken install says so here)
        from numba import cuda
    except Exception as exc:
        return _failed(out, "numba-cuda cannot be imported", exc)

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=SMALL_GRID_WARNING)
        try:
            _register_rewrite()
            gpu = cuda.is_available()
        except Exception as exc:
            return _failed(out, "numba-cuda is not usable", exc)
        if not gpu:
            print(
                "No CUDA GPU is available on this machine, so the demo cannot launch kernels.",
                file=out,
            )
            try:
                _cpu_demo(out)
            except Exception as exc:
                return _failed(out, "the compile-only view cannot run", exc)
            print(DOCS_HINT, file=out)
            return 0
        try:
            _hook_demo(out)
            _launch_constants_demo(out)
        except SystemExit as exc:  # a wrong result
            return _failed(out, str(exc.code))
        except Exception as exc:
            return _failed(out, "a launch or compile failed", exc)
    print(DOCS_HINT, file=out)
    return 0
