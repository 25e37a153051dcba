"""The disk cache across processes: ``@cuda.jit(cache=True)`` on an LC-S kernel.

A first process launches the kernel with block sizes 64 and 128: it compiles
twice and saves each kernel under its launch key, plus the ``.lcs`` marker
that says the function is launch-config sensitive.  A second process loads
both from disk (no compile) and routes from its first launch
(docs/launch-config.md, "Disk cache").  The cache lives in a temporary
directory (``NUMBA_CACHE_DIR``), removed afterwards.

On a GPU (``python examples/disk_cache.py``): the example runs itself twice
as child processes (``--child``) and checks the counters each reports
(``numba_cuda_lcs.inspection.compile_counters``): the first compiled 2 and
loaded 0, the second compiled 0 and loaded 2; every result is checked.

Compile-only (``--compile-only``, automatic without a GPU): the disk cache
stores what launches compile, so without a GPU the example only checks that
the kernel compiles per block size (``numba.cuda.compile_ptx(..., cc=(9, 0))``
inside ``numba_cuda_lcs.compiling_for(grid, block)``) and marks ``blockdim``.
"""

import json
import os
import subprocess
import sys
import tempfile

from _common import INSTALL_NUMBA_CUDA, check, compile_only, fail, ptx_for, require

require("numba_cuda", INSTALL_NUMBA_CUDA)  # else: "skipped: ...", exit 0
from numba import cuda  # noqa: E402

from numba_cuda_lcs import launch  # noqa: E402


def stamp(out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = launch.threads_per_block()


def child() -> None:
    """One process: launch with blocks 64 and 128, print the counters."""
    import numpy as np

    from numba_cuda_lcs import inspection

    kernel = cuda.jit(cache=True)(stamp)
    ok = True
    for block in (64, 128):
        out = cuda.to_device(np.zeros(4 * block, dtype=np.int64))
        kernel[4, block](out)
        ok = ok and set(out.copy_to_host().tolist()) == {block}
    counters = inspection.compile_counters(kernel)
    print(
        json.dumps({"ok": ok, "compiles": counters["compiles"], "loads": counters["cache_loads"]})
    )


def main() -> None:
    if "--child" in sys.argv:
        child()
        return
    cpu = compile_only(__doc__.splitlines()[0])
    if cpu:
        from numba.cuda import types

        for block in (64, 128):
            _ptx, marked = ptx_for(stamp, (types.int64[::1],), 4, block)
            print(f"blockdim={block}: marked {marked}")
            check(marked == ("blockdim",), "the compile marked blockdim only")
        return

    with tempfile.TemporaryDirectory(prefix="lcs-cache-") as cache_dir:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir, PYTHONWARNINGS="ignore")
        reports = []
        for run in ("first", "second"):
            proc = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child"],
                capture_output=True,
                text=True,
                env=env,
                timeout=600,
            )
            if proc.returncode != 0:
                fail(f"the {run} process failed:\n{proc.stdout}{proc.stderr}")
            report = json.loads(proc.stdout.strip().splitlines()[-1])
            print(f"{run} process: {report}")
            reports.append(report)
        markers = [
            os.path.join(root, name)
            for root, _dirs, files in os.walk(cache_dir)
            for name in files
            if name.endswith(".lcs")
        ]
        print(f"LC-S marker: {[os.path.relpath(m, cache_dir) for m in markers]}")
        check(all(r["ok"] for r in reports), "every launch wrote its block size")
        check(reports[0]["compiles"] == 2 and reports[0]["loads"] == 0, "first: 2 compiled")
        check(reports[1]["compiles"] == 0 and reports[1]["loads"] == 2, "second: 2 loaded")
        check(len(markers) == 1, "one .lcs marker beside the index")


if __name__ == "__main__":
    main()
