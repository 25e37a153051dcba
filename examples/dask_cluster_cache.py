"""Compile once per cluster: one LC-S kernel launched from every worker of a
Dask cluster that shares one disk cache.

Every worker process launches the same ``cache=True`` launch-config-sensitive
kernel with the same block sizes, all at once (``Client.run``).  Without
numba-cuda-lcs's cache locks each worker would compile every configuration
itself; with them the configurations are compiled once in the whole cluster
and the other workers load them.  The example prints, per worker, what it
compiled and loaded, and exits 0 when the compiles over all workers equal
the configurations and every launch computed the right result.

Run it (a GPU; ``pip install -e ".[cu13,dask]"``)::

    python examples/dask_cluster_cache.py --workers 4 --blocks 32,64,128,256,512,1024

Options: ``--compiler numba-cuda-mlir`` (default numba-cuda), ``--cache-dir``
(default a fresh temporary directory: NUMBA_CACHE_DIR of every worker),
``--json`` (one line of JSON at the end).  ``--compile-only --cc 9.0``
compiles what each launch would run without launching (numba-cuda-mlir
without a GPU; a way to try the Dask side on a laptop).

On a real cluster the same holds across machines when NUMBA_CACHE_DIR is on
a shared file system: see docs/running-at-scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time

import numpy as np

#: Which compiler the kernel below is written for (set before import).
COMPILER_ENV = "LCS_EXAMPLE_COMPILER"
SIGNATURE = "float32[::1]"
BLOCKS_PER_LAUNCH = 4


def _compiler():
    if os.environ.get(COMPILER_ENV, "numba-cuda") == "numba-cuda-mlir":
        from numba_cuda_mlir import cuda
        from numba_cuda_mlir.numba_cuda import float32
    else:
        from numba import cuda
        from numba.cuda import types

        float32 = types.float32
    return cuda, float32


cuda, float32 = _compiler()

from numba_cuda_lcs import inspection, launch  # noqa: E402


@cuda.jit(cache=True)
def reverse_each_block(x):
    """Reverse every block's slice of *x* through a shared array sized by the
    launch's block: the compiled code depends on the block size."""
    buf = cuda.shared.array(launch.threads_per_block(), float32)
    i = cuda.threadIdx.x
    g = cuda.blockIdx.x * cuda.blockDim.x + i
    buf[i] = x[g]
    cuda.syncthreads()
    x[g] = buf[launch.threads_per_block() - 1 - i]


def launch_every_block(blocks, compile_only=False, cc=None):
    """In one worker: launch the kernel once per block size (or, with
    *compile_only*, compile what each launch would run); what it did."""
    started = time.perf_counter()
    correct = True
    if compile_only:
        import numba_cuda_lcs

        report = numba_cuda_lcs.warm(
            reverse_each_block,
            SIGNATURE,
            [(BLOCKS_PER_LAUNCH, block) for block in blocks],
            cc=cc,
            isolated=True,  # a worker process: compile for cc in place
        )
        correct = report.ok
    else:
        for block in blocks:
            n = BLOCKS_PER_LAUNCH * block
            host = np.arange(n, dtype=np.float32)
            x = cuda.to_device(host)
            reverse_each_block[BLOCKS_PER_LAUNCH, block](x)
            expected = host.reshape(BLOCKS_PER_LAUNCH, block)[:, ::-1].ravel()
            correct = correct and bool(np.array_equal(x.copy_to_host(), expected))
    counts = inspection.compile_counters(reverse_each_block)
    return {
        "pid": os.getpid(),
        "compiles": counts["compiles"],
        "cache_loads": counts["cache_loads"],
        "fields": list(counts["fields"]),
        "correct": correct,
        "seconds": time.perf_counter() - started,
    }


def run_on_worker(blocks, compile_only, cc):
    """What ``Client.run`` runs on every worker: this file imported there by
    module name (on PYTHONPATH), so the kernel object and its counters live
    in the worker's module, not in a copy unpickled per call."""
    import dask_cluster_cache as example

    return example.launch_every_block(blocks, compile_only, cc)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--blocks", default="32,64,128,256,512,1024")
    parser.add_argument(
        "--compiler", choices=("numba-cuda", "numba-cuda-mlir"), default="numba-cuda"
    )
    parser.add_argument("--cache-dir", default=None)
    parser.add_argument("--compile-only", action="store_true")
    parser.add_argument("--cc", default=None, help="with --compile-only: e.g. 9.0")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    blocks = [int(b) for b in args.blocks.split(",") if b]

    # What every worker process inherits: the shared cache, the compiler,
    # and this directory on the path (run_on_worker imports this file).
    cache_dir = args.cache_dir or tempfile.mkdtemp(prefix="lcs-dask-cache-")
    here = os.path.dirname(os.path.abspath(__file__))
    os.environ["NUMBA_CACHE_DIR"] = cache_dir
    os.environ[COMPILER_ENV] = args.compiler
    os.environ["PYTHONPATH"] = os.pathsep.join(
        [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    )

    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        print(
            f"skipped: dask.distributed is not installed ({exc}): "
            "pip install 'numba-cuda-lcs[dask]'"
        )
        return 0

    started = time.perf_counter()
    with (
        LocalCluster(
            n_workers=args.workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        ) as cluster,
        Client(cluster) as client,
    ):
        client.wait_for_workers(args.workers)
        per_worker = client.run(run_on_worker, blocks, args.compile_only, args.cc)
    seconds = time.perf_counter() - started

    rows = sorted(per_worker.values(), key=lambda r: r["pid"])
    compiles = sum(r["compiles"] for r in rows)
    loads = sum(r["cache_loads"] for r in rows)
    ok = compiles == len(blocks) and all(r["correct"] for r in rows)
    print(f"{len(rows)} workers x {len(blocks)} block sizes, cache {cache_dir}")
    print(f"{'worker pid':>10} {'compiles':>9} {'loads':>6} {'correct':>8} {'seconds':>8}")
    for r in rows:
        print(
            f"{r['pid']:>10} {r['compiles']:>9} {r['cache_loads']:>6} "
            f"{str(r['correct']):>8} {r['seconds']:>8.2f}"
        )
    print(
        f"total: {compiles} compiles (configurations: {len(blocks)}), {loads} cache loads, "
        f"{seconds:.1f} s -> {'OK' if ok else 'NOT OK'}"
    )
    if args.json:
        print(
            "LCS-DASK "
            + json.dumps(
                {
                    "workers": rows,
                    "configurations": len(blocks),
                    "compiles": compiles,
                    "cache_loads": loads,
                    "seconds": seconds,
                    "ok": ok,
                    "compiler": args.compiler,
                }
            )
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
