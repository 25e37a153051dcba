#!/usr/bin/env python3
"""Compile once per cluster: P processes started together, one disk cache
(NUMBA_CACHE_DIR), the same ``cache=True`` LC-S kernel launched with the same
8 block sizes.  Prints, per P, the compiles and cache loads summed over the
processes and the wall time (from releasing the processes to the last one
done), and writes JSON to --output.  Targets: 8 compiles at every P, and the
wall time at the largest P within 1.5x of P=1.

On a GPU (launches for real)::

    python scripts/bench-cluster-compiles.py --output cluster-compiles.json
    python scripts/bench-cluster-compiles.py --compiler numba-cuda-mlir --output cluster-compiles-mlir.json

Before/after: ``--no-locks`` runs with NUMBA_CUDA_LCS_CACHE_LOCK_TIMEOUT=0
(every process compiles what it misses, as without this feature).
Without a GPU: ``--compiler numba-cuda-mlir --compile-only --cc 9.0``
compiles what each launch would run and launches nothing.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

KERNEL = """\
import os

if os.environ["BENCH_COMPILER"] == "numba-cuda-mlir":
    from numba_cuda_mlir import cuda
    from numba_cuda_mlir.numba_cuda import float32
else:
    from numba import cuda
    from numba.cuda import types

    float32 = types.float32

from numba_cuda_lcs import launch


@cuda.jit(cache=True)
def bench_kernel(x):
    buf = cuda.shared.array(launch.threads_per_block(), float32)
    i = cuda.threadIdx.x
    g = cuda.blockIdx.x * cuda.blockDim.x + i
    v = x[g]
{body}
    buf[i] = v
    cuda.syncthreads()
    x[g] = buf[launch.threads_per_block() - 1 - i]
"""

CHILD = r"""
import json, os, sys, time, warnings

spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["module_dir"])
warnings.simplefilter("ignore")
import numpy as np

import bench_cluster_kernel as module
from numba_cuda_lcs import inspection

kernel = module.bench_kernel
if spec["compiler"] == "numba-cuda-mlir":
    from numba_cuda_mlir import cuda
else:
    from numba import cuda
target = None
if spec["compile_only"]:
    from numba_cuda_lcs.backends import numba_cuda_mlir as backend
    target = backend.compile_target(tuple(spec["cc"]))
    target.__enter__()
    x = np.zeros(4 * max(spec["blocks"]), np.float32)
else:
    x = cuda.to_device(np.zeros(4 * max(spec["blocks"]), np.float32))
    cuda.synchronize()
open(spec["ready_file"], "w").close()
while not os.path.exists(spec["start_file"]):
    time.sleep(0.001)
started = time.time()
for block in spec["blocks"]:
    if spec["compile_only"]:
        kernel[4, block].compile_only((x,))  # what the launch would run
    else:
        kernel[4, block](x)
if not spec["compile_only"]:
    cuda.synchronize()
ended = time.time()
counts = inspection.compile_counters(kernel)
print("LCS-RESULT " + json.dumps({
    "pid": os.getpid(), "compiles": counts["compiles"], "cache_loads": counts["cache_loads"],
    "started": started, "ended": ended,
}))
"""


def package_parent():
    """Where the numba_cuda_lcs this Python imports lives (installed, or this
    checkout when it is not installed)."""
    import importlib.util

    spec = importlib.util.find_spec("numba_cuda_lcs")
    if spec is None or spec.origin is None:
        return ROOT
    return os.path.dirname(os.path.dirname(spec.origin))


def run(processes, args, workdir):
    cache = os.path.join(workdir, f"cache-{processes}")
    shutil.rmtree(cache, ignore_errors=True)
    os.makedirs(cache)
    start_file = os.path.join(workdir, f"start-{processes}")
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = cache
    env["BENCH_COMPILER"] = args.compiler
    env["PYTHONPATH"] = os.pathsep.join([workdir, package_parent(), env.get("PYTHONPATH", "")])
    env.pop("NUMBA_CUDA_LCS_DISABLE", None)
    if args.no_locks:
        env["NUMBA_CUDA_LCS_CACHE_LOCK_TIMEOUT"] = "0"
    procs = []
    for n in range(processes):
        spec = {
            "module_dir": workdir,
            "compiler": args.compiler,
            "blocks": args.blocks,
            "compile_only": args.compile_only,
            "cc": args.cc,
            "start_file": start_file,
            "ready_file": os.path.join(workdir, f"ready-{processes}-{n}"),
        }
        procs.append(
            subprocess.Popen(
                [sys.executable, os.path.join(workdir, "child.py"), json.dumps(spec)],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    deadline = time.monotonic() + 600
    while not all(
        os.path.exists(os.path.join(workdir, f"ready-{processes}-{n}")) for n in range(processes)
    ):
        if time.monotonic() > deadline or any(p.poll() not in (None, 0) for p in procs):
            for p in procs:
                p.kill()
            raise SystemExit(f"children did not get ready: {procs[0].communicate()[1][-2000:]}")
        time.sleep(0.01)
    released = time.time()
    open(start_file, "w").close()
    reports = []
    for p in procs:
        out, err = p.communicate(timeout=1800)
        lines = [line for line in out.splitlines() if line.startswith("LCS-RESULT ")]
        if p.returncode != 0 or not lines:
            raise SystemExit(f"a child failed ({p.returncode}):\n{out}\n{err[-4000:]}")
        reports.append(json.loads(lines[-1][len("LCS-RESULT ") :]))
    return {
        "processes": processes,
        "configurations": len(args.blocks),
        "compiles": sum(r["compiles"] for r in reports),
        "cache_loads": sum(r["cache_loads"] for r in reports),
        "wall_s": max(r["ended"] for r in reports) - released,
        "per_process": reports,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", default="1,4,16")
    parser.add_argument("--blocks", default="32,64,96,128,192,256,512,1024")
    parser.add_argument(
        "--compiler", choices=("numba-cuda", "numba-cuda-mlir"), default="numba-cuda"
    )
    parser.add_argument(
        "--statements", type=int, default=400, help="kernel size (compile time grows with it)"
    )
    parser.add_argument(
        "--no-locks", action="store_true", help="NUMBA_CUDA_LCS_CACHE_LOCK_TIMEOUT=0"
    )
    parser.add_argument("--compile-only", action="store_true", help="numba-cuda-mlir, no launch")
    parser.add_argument("--cc", default="9.0", help="with --compile-only")
    parser.add_argument("--output", default=None, help="write JSON here")
    args = parser.parse_args()
    args.blocks = [int(b) for b in args.blocks.split(",") if b]
    args.cc = [int(v) for v in args.cc.split(".")]
    if args.compile_only and args.compiler != "numba-cuda-mlir":
        parser.error("--compile-only needs --compiler numba-cuda-mlir")
    counts = [int(p) for p in args.processes.split(",") if p]

    body = "\n".join(
        f"    v = v * float32({1.0 + (k % 7) * 0.001:.4f}) + float32({k % 5}.0)"
        for k in range(args.statements)
    )
    workdir = tempfile.mkdtemp(prefix="lcs-bench-cluster-")
    with open(os.path.join(workdir, "bench_cluster_kernel.py"), "w") as f:
        f.write(KERNEL.format(body=body))
    with open(os.path.join(workdir, "child.py"), "w") as f:
        f.write(CHILD)

    rows = [run(p, args, workdir) for p in counts]
    base = rows[0]["wall_s"] if rows else 0.0
    for row in rows:
        row["wall_vs_first"] = row["wall_s"] / base if base else None
    target_ok = all(r["compiles"] == len(args.blocks) for r in rows) and (
        rows[-1]["wall_vs_first"] is not None and rows[-1]["wall_vs_first"] <= 1.5
    )
    result = {
        "benchmark": "cluster-compiles",
        "compiler": args.compiler,
        "compile_only": args.compile_only,
        "locks": not args.no_locks,
        "blocks": args.blocks,
        "statements": args.statements,
        "python": sys.version.split()[0],
        "machine": platform.node(),
        "date": time.strftime("%Y-%m-%d %H:%M:%S"),
        "rows": rows,
        "targets": {"compiles": len(args.blocks), "wall_vs_first_max": 1.5},
        "targets_met": target_ok,
    }
    print(
        f"{args.compiler}{' compile-only' if args.compile_only else ''}, "
        f"locks {'on' if result['locks'] else 'off'}, {len(args.blocks)} configurations"
    )
    print(f"{'P':>4} {'compiles':>9} {'loads':>6} {'wall s':>8} {'vs P=' + str(counts[0]):>8}")
    for row in rows:
        print(
            f"{row['processes']:>4} {row['compiles']:>9} {row['cache_loads']:>6} "
            f"{row['wall_s']:>8.2f} {row['wall_vs_first']:>8.2f}"
        )
    print(f"targets (8 compiles at every P, wall within 1.5x): {'met' if target_ok else 'NOT met'}")
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=2)
        print(f"wrote {args.output}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
