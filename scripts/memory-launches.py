#!/usr/bin/env python
"""Memory over many launches with numba-cuda-lcs active (#12: no growth).

Launches kernels over and over and records, after a warm-up and at the end,
the memory Python allocations hold (tracemalloc) and the process's resident
set size (/proc/self/statm), on numba-cuda or (--compiler numba-cuda-mlir)
on numba-cuda-mlir.  Cases:

  plain-4   a plain kernel with four device arrays, configured once (the C
            fast path)
  each-4    the same, ``kernel[1, 1](...)`` on every launch (the configured
            launch found again each time)
  lcs-2     an LC-S kernel, two configurations alternating (fast path)
  slow-1    a plain kernel given a host array every time (slow path:
            typed, copied in and out on each launch)
  cupy-4    four CuPy arrays (when CuPy is installed)
  torch-4   four PyTorch tensors (when PyTorch is installed and the compiler
            takes them: numba-cuda-mlir 0.6.0 does not)

    python scripts/memory-launches.py --launches 1000000 --output memory.json
    python scripts/memory-launches.py --compiler numba-cuda-mlir --output memory-mlir.json

Growth is reported, not judged: compare it with the launch count (a leak of
even 8 bytes per launch shows as megabytes).  Needs a CUDA GPU.
"""

import argparse
import json
import os
import platform
import sys
import time
import tracemalloc

from numba_cuda_lcs import launch  # launch constants are read as globals


def rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def measure(name, launch, launches, warmup, sync):
    for _ in range(warmup):
        launch()
    sync()
    tracemalloc.start()
    traced0, rss0 = tracemalloc.get_traced_memory()[0], rss_bytes()
    start = time.perf_counter()
    half = launches // 2
    for _ in range(half):
        launch()
    sync()
    # The midpoint tells bounded growth (a cache filling, then flat: the
    # second half adds ~nothing) from a leak (both halves grow alike).
    traced_mid, rss_mid = tracemalloc.get_traced_memory()[0], rss_bytes()
    for _ in range(launches - half):
        launch()
    sync()
    seconds = time.perf_counter() - start
    traced1, rss1 = tracemalloc.get_traced_memory()[0], rss_bytes()
    tracemalloc.stop()
    row = {
        "case": name,
        "launches": launches,
        "traced_growth_bytes": traced1 - traced0,
        "traced_growth_second_half_bytes": traced1 - traced_mid,
        "rss_growth_bytes": rss1 - rss0,
        "rss_growth_second_half_bytes": rss1 - rss_mid,
        "rss_end_bytes": rss1,
        "seconds": seconds,
    }
    print(
        f"{name:8s} {launches:>9,d} launches: traced {row['traced_growth_bytes']:+,d} B "
        f"(second half {row['traced_growth_second_half_bytes']:+,d} B), "
        f"RSS {row['rss_growth_bytes']:+,d} B (second half "
        f"{row['rss_growth_second_half_bytes']:+,d} B) ({seconds:.1f} s, tracemalloc on)",
        flush=True,
    )
    return row


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--launches", type=int, default=1_000_000)
    parser.add_argument("--slow-launches", type=int, default=50_000)
    parser.add_argument("--warmup", type=int, default=20_000)
    parser.add_argument("--output")
    parser.add_argument("--cases", help="comma-separated cases to run (default: all); e.g. slow-1")
    parser.add_argument(
        "--stock",
        action="store_true",
        help="measure the compiler as shipped (run with NUMBA_CUDA_LCS_DISABLE=1; no lcs-2)",
    )
    parser.add_argument(
        "--compiler", choices=("numba-cuda", "numba-cuda-mlir"), default="numba-cuda"
    )
    args = parser.parse_args(argv)
    wanted = set(args.cases.split(",")) if args.cases else None

    def run(case):
        return wanted is None or case in wanted

    import numpy as np

    if args.compiler == "numba-cuda-mlir":
        from numba_cuda_mlir import cuda
    else:
        from numba import cuda

    import numba_cuda_lcs

    if not cuda.is_available():
        print("needs a CUDA GPU", file=sys.stderr)
        return 2
    if numba_cuda_lcs.is_active() == args.stock:
        print(
            "numba-cuda-lcs must be active (or, with --stock, disabled by "
            "NUMBA_CUDA_LCS_DISABLE=1)",
            file=sys.stderr,
        )
        return 2

    @cuda.jit
    def four(a, b, c, d):
        pass

    @cuda.jit
    def one(a):
        pass

    @cuda.jit
    def sensitive(a):
        # A launch constant: compiled per block size.
        a[0] = launch.threads_per_block()

    arrays = [cuda.device_array(16, np.float32) for _ in range(4)]
    host = np.zeros(16, np.float32)
    configured = four[1, 1]
    lcs = [sensitive[1, 32], sensitive[1, 64]]
    rows, skipped = [], {}
    sync = cuda.synchronize
    if run("plain-4"):
        rows.append(
            measure("plain-4", lambda: configured(*arrays), args.launches, args.warmup, sync)
        )

    def alternate():
        lcs[0](arrays[0])
        lcs[1](arrays[0])

    if run("each-4"):
        rows.append(
            measure("each-4", lambda: four[1, 1](*arrays), args.launches, args.warmup, sync)
        )

    if run("lcs-2") and not args.stock:
        rows.append(measure("lcs-2", alternate, args.launches // 2, args.warmup // 2, sync))
        rows[-1]["launches"] = 2 * (args.launches // 2)
    slow = one[1, 1]
    if run("slow-1"):
        rows.append(
            measure("slow-1", lambda: slow(host), args.slow_launches, args.warmup // 10, sync)
        )
    try:
        import cupy
    except ImportError:
        cupy = None
    if cupy is not None and run("cupy-4"):
        cp_arrays = [cupy.zeros(16, dtype=cupy.float32) for _ in range(4)]
        rows.append(
            measure("cupy-4", lambda: configured(*cp_arrays), args.launches // 4, args.warmup, sync)
        )
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None and torch.cuda.is_available() and run("torch-4"):
        tensors = [torch.zeros(16, dtype=torch.float32, device="cuda") for _ in range(4)]
        try:
            configured(*tensors)
        except Exception as exc:  # numba-cuda-mlir 0.6.0 cannot type them
            print(f"torch-4: not taken by {args.compiler}: {type(exc).__name__}: {exc}")
            skipped["torch-4"] = f"{type(exc).__name__}: {exc}"[:300]
        else:
            rows.append(
                measure(
                    "torch-4", lambda: configured(*tensors), args.launches // 4, args.warmup, sync
                )
            )
    name = cuda.get_current_device().name
    result = {
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "python": platform.python_version(),
        "numba_cuda_lcs": numba_cuda_lcs.__version__,
        "compiler": args.compiler,
        "mode": "stock" if args.stock else "active",
        "rows": rows,
        "skipped": skipped,
    }
    if args.output:
        with open(args.output, "w") as f:
            json.dump(result, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
