#!/usr/bin/env python
"""Launch overhead on numba-cuda-mlir: stock vs with numba-cuda-lcs active.

Variants (each measured in its own process, processes interleaved so drift
hits every variant alike):

  stock-plain   NUMBA_CUDA_LCS_DISABLE=1, a plain kernel
  stock-lcs     NUMBA_CUDA_LCS_DISABLE=1, the same kernel made launch-config
                specialized by numba-cuda-mlir's own mechanism (a planner that
                calls require_launch_config; full key, memory only)
  active-plain  numba-cuda-lcs active, the plain kernel
  active-lcs    numba-cuda-lcs active, the kernel reading
                numba_cuda_lcs.launch.threads_per_block() (LC-S on blockdim)

each with 0, 1, 4 and 16 device-array arguments, launched [1, 1] in a loop
(synchronized at the end of each batch), and

  c-floor       the C floor: benchmarks/c_floor/launch_floor.cu, built here
                with nvcc (skipped, saying so, without one), calling
                cudaLaunchKernel in the same loop with its arguments packed
                once -- the cost of the launch alone on this GPU.

Prints µs per launch and the ratios active/stock and active/floor; writes
everything as JSON (--out).

    python scripts/bench-mlir-launch-overhead.py --rounds 5 --out mlir-overhead.json

Needs a GPU.  Plain kernels must not get slower with the package: the
``active-plain / stock-plain`` ratios are the check.
"""

import argparse
import json
import os
import platform
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

VARIANTS = ("stock-plain", "stock-lcs", "active-plain", "active-lcs")
FLOOR = "c-floor"
NARGS = (0, 1, 4, 16)
FLOOR_SOURCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
    "benchmarks",
    "c_floor",
    "launch_floor.cu",
)


def worker(variant, nargs, launches, batches):
    import warnings

    warnings.simplefilter("ignore")
    import numpy as np

    active = variant.startswith("active")
    if active:
        import numba_cuda_lcs  # noqa: F401  (activates)
        from numba_cuda_lcs import launch
    from numba_cuda_mlir import cuda

    lcs = variant.endswith("lcs")
    if active and lcs:

        @cuda.jit
        def k0():
            if cuda.threadIdx.x >= launch.threads_per_block():
                cuda.syncthreads()

        @cuda.jit
        def k1(a):
            if cuda.threadIdx.x >= launch.threads_per_block():
                a[0] = 1

        @cuda.jit
        def k4(a, b, c, d):
            if cuda.threadIdx.x >= launch.threads_per_block():
                a[0] = b[0] + c[0] + d[0]

        @cuda.jit
        def k16(a, b, c, d, e, f, g, h, i, j, k, q, m, n, o, p):
            if cuda.threadIdx.x >= launch.threads_per_block():
                a[0] = b[0] + c[0] + d[0] + e[0] + f[0] + g[0] + h[0] + i[0]
                a[1] = j[0] + k[0] + q[0] + m[0] + n[0] + o[0] + p[0]

    else:

        @cuda.jit
        def k0():
            if cuda.threadIdx.x >= 1024:
                cuda.syncthreads()

        @cuda.jit
        def k1(a):
            if cuda.threadIdx.x >= 1024:
                a[0] = 1

        @cuda.jit
        def k4(a, b, c, d):
            if cuda.threadIdx.x >= 1024:
                a[0] = b[0] + c[0] + d[0]

        @cuda.jit
        def k16(a, b, c, d, e, f, g, h, i, j, k, q, m, n, o, p):
            if cuda.threadIdx.x >= 1024:
                a[0] = b[0] + c[0] + d[0] + e[0] + f[0] + g[0] + h[0] + i[0]
                a[1] = j[0] + k[0] + q[0] + m[0] + n[0] + o[0] + p[0]

    if not active and lcs:
        from numba_cuda_mlir._whole_function_planners import (
            WholeFunctionPlanner,
            register_planner,
            require_launch_config,
        )

        class RequireLaunch(WholeFunctionPlanner):
            def run(self):
                if not self.is_device_function:
                    require_launch_config(self.state)
                return False

        register_planner(RequireLaunch)

    kernel = {0: k0, 1: k1, 4: k4, 16: k16}[nargs]
    arrays = [cuda.to_device(np.zeros(4, np.float32)) for _ in range(nargs)]
    configured = kernel[1, 1]
    for _ in range(200):  # compile, warm up
        configured(*arrays)
    cuda.synchronize()
    results = []
    for _ in range(batches):
        started = time.perf_counter()
        for _ in range(launches):
            kernel[1, 1](*arrays)
        cuda.synchronize()
        results.append((time.perf_counter() - started) / launches * 1e6)
    return results


def build_floor():
    """The C floor's binary, built with nvcc; (None, why) without one."""
    nvcc = shutil.which("nvcc")
    if nvcc is None and os.environ.get("CUDA_HOME"):
        candidate = os.path.join(os.environ["CUDA_HOME"], "bin", "nvcc")
        nvcc = candidate if os.path.exists(candidate) else None
    if nvcc is None:
        return None, "no nvcc on PATH or in $CUDA_HOME/bin"
    binary = os.path.join(tempfile.mkdtemp(prefix="lcs-floor-"), "launch_floor")
    built = subprocess.run(
        [nvcc, "-O2", "-o", binary, FLOOR_SOURCE], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        return None, f"nvcc failed: {built.stderr[-2000:]}"
    return binary, None


def run_floor(binary, nargs, launches, batches):
    proc = subprocess.run(
        [binary, str(nargs), str(launches), str(batches)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"c-floor nargs={nargs} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run_worker(variant, nargs, launches, batches):
    env = dict(os.environ)
    if variant.startswith("stock"):
        env["NUMBA_CUDA_LCS_DISABLE"] = "1"
    else:
        env.pop("NUMBA_CUDA_LCS_DISABLE", None)
    proc = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            variant,
            str(nargs),
            "--launches",
            str(launches),
            "--batches",
            str(batches),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(f"{variant} nargs={nargs} failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="processes per variant and argument count (interleaved)",
    )
    parser.add_argument("--launches", type=int, default=20000, help="launches per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per process")
    parser.add_argument("--out", default="mlir-launch-overhead.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("VARIANT", "NARGS"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        variant, nargs = args.worker[0], int(args.worker[1])
        print(json.dumps(worker(variant, nargs, args.launches, args.batches)))
        return 0

    rng = random.Random(args.seed)
    floor, why = build_floor()
    variants = VARIANTS + ((FLOOR,) if floor else ())
    if floor is None:
        print(f"c-floor: not measured ({why})", flush=True)
    samples = {(v, n): [] for v in variants for n in NARGS}
    jobs = [(v, n) for v in variants for n in NARGS]
    for round_ in range(args.rounds):
        rng.shuffle(jobs)
        for variant, nargs in jobs:
            if variant == FLOOR:
                per_batch = run_floor(floor, nargs, args.launches, args.batches)
            else:
                per_batch = run_worker(variant, nargs, args.launches, args.batches)
            samples[variant, nargs].append(min(per_batch))
            print(
                f"round {round_ + 1}/{args.rounds} {variant:<13} {nargs} arrays: "
                f"{min(per_batch):7.2f} us/launch",
                flush=True,
            )

    medians = {f"{v}/{n}": statistics.median(samples[v, n]) for v in variants for n in NARGS}
    ratios = {}
    for n in NARGS:
        ratios[f"plain/{n}"] = medians[f"active-plain/{n}"] / medians[f"stock-plain/{n}"]
        ratios[f"lcs/{n}"] = medians[f"active-lcs/{n}"] / medians[f"stock-lcs/{n}"]
        ratios[f"lcs-vs-stock-plain/{n}"] = medians[f"active-lcs/{n}"] / medians[f"stock-plain/{n}"]
        ratios[f"lcs-vs-plain/{n}"] = medians[f"active-lcs/{n}"] / medians[f"active-plain/{n}"]
        if floor:
            for v in VARIANTS:
                ratios[f"{v}-vs-floor/{n}"] = medians[f"{v}/{n}"] / medians[f"{FLOOR}/{n}"]

    try:
        import numba_cuda_mlir

        mlir_version = numba_cuda_mlir.__version__
    except Exception:
        mlir_version = None
    report = {
        "what": "µs per kernel[1, 1](...) launch, median over processes of the best batch",
        "numba_cuda_mlir": mlir_version,
        "python": platform.python_version(),
        "rounds": args.rounds,
        "launches_per_batch": args.launches,
        "batches": args.batches,
        "medians_us": medians,
        "samples_us": {f"{v}/{n}": samples[v, n] for v in variants for n in NARGS},
        "c_floor": "measured" if floor else f"not measured: {why}",
        "ratios": ratios,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)

    print()
    print(
        f"{'arrays':>6} {'stock':>8} {'active':>8} {'ratio':>6}   "
        f"{'stock-lcs':>9} {'active-lcs':>10} {'ratio':>6}   "
        f"{'C floor':>8} {'active/floor':>12} {'lcs/floor':>9} {'lcs/plain':>9}"
    )
    for n in NARGS:
        floor_cols = (
            f"{medians[f'{FLOOR}/{n}']:8.2f} {ratios[f'active-plain-vs-floor/{n}']:12.2f} "
            f"{ratios[f'active-lcs-vs-floor/{n}']:9.2f}"
            if floor
            else f"{'-':>8} {'-':>12} {'-':>9}"
        )
        print(
            f"{n:>6} {medians[f'stock-plain/{n}']:8.2f} {medians[f'active-plain/{n}']:8.2f} "
            f"{ratios[f'plain/{n}']:6.3f}   {medians[f'stock-lcs/{n}']:9.2f} "
            f"{medians[f'active-lcs/{n}']:10.2f} {ratios[f'lcs/{n}']:6.3f}   "
            f"{floor_cols} {ratios[f'lcs-vs-plain/{n}']:9.3f}"
        )
    slower = [n for n in NARGS if ratios[f"plain/{n}"] > 1.05]
    if slower:
        print(f"WARNING: plain launches with {slower} arrays are >5% slower with the package")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
