#!/usr/bin/env python3
"""Registers per thread and run time of a register-heavy kernel with and
without launch bounds inferred from the block size
(``@cuda.jit(lcs_launch_bounds=True)``).  Needs a GPU; prints JSON.

    python scripts/bench-launch-bounds.py --output launch-bounds.json
"""

import argparse
import json
import math
import sys
import time
import warnings

warnings.simplefilter("ignore")


def make_kernel(**options):
    from numba import cuda, float64

    # 24 independent accumulators kept live across an unrolled loop: register
    # pressure the compiler trades against occupancy when it knows the block.
    @cuda.jit(**options)
    def heavy(x, out, iters):
        i = cuda.grid(1)
        if i >= x.size:
            return
        v = x[i]
        a = cuda.local.array(24, float64)
        for k in range(24):
            a[k] = v + k
        for _ in range(iters):
            for k in range(24):
                a[k] = a[k] * 1.000001 + a[(k + 7) % 24] * 0.5 - a[(k + 13) % 24] * 0.25
        s = 0.0
        for k in range(24):
            s += a[k]
        out[i] = s

    return heavy


def measure(kernel, x, out, block, iters, repeats):
    from numba import cuda

    grid = math.ceil(x.size / block)
    kernel[grid, block](x, out, iters)
    cuda.synchronize()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        kernel[grid, block](x, out, iters)
        cuda.synchronize()
        times.append(time.perf_counter() - start)
    compiled = [
        k
        for d in [kernel, *kernel._launch_config_specializations.values()]
        for k in d.overloads.values()
        if k._lcs is None or k._lcs.compiled_for is None or k._lcs.compiled_for[1] == (block, 1, 1)
    ][0]
    return {
        "block": block,
        "registers_per_thread": compiled.regs_per_thread,
        "median_ms": sorted(times)[len(times) // 2] * 1e3,
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1 << 22)
    parser.add_argument("--iters", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--blocks", default="128,256,512,1024")
    parser.add_argument("--output")
    args = parser.parse_args()

    import numpy as np
    from numba import cuda

    import numba_cuda_lcs

    if not cuda.is_available():
        print("No CUDA GPU on this machine: this benchmark needs one.", file=sys.stderr)
        return 2
    x = cuda.to_device(np.random.default_rng(0).random(args.n))
    out = cuda.device_array_like(x)
    plain, bounded = make_kernel(), make_kernel(lcs_launch_bounds=True)
    rows = []
    for block in map(int, args.blocks.split(",")):
        without = measure(plain, x, out, block, args.iters, args.repeats)
        with_bounds = measure(bounded, x, out, block, args.iters, args.repeats)
        rows.append(
            {
                "block": block,
                "without": without,
                "with": with_bounds,
                "time_ratio": with_bounds["median_ms"] / without["median_ms"],
            }
        )
        print(
            f"block {block:5d}: regs {without['registers_per_thread']:3d} -> "
            f"{with_bounds['registers_per_thread']:3d}, time {without['median_ms']:.3f} ms -> "
            f"{with_bounds['median_ms']:.3f} ms ({rows[-1]['time_ratio']:.3f}x)"
        )
    name = cuda.get_current_device().name
    report = {
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "date": time.strftime("%Y-%m-%d"),
        "numba_cuda_lcs": numba_cuda_lcs.__version__,
        "n": args.n,
        "iters": args.iters,
        "rows": rows,
    }
    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
