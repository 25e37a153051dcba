#!/usr/bin/env python3
"""Launch overhead of numba-cuda kernels: stock vs numba-cuda-lcs.

Every variant runs in its own worker process (the package activates itself
through numba-cuda's entry point, so "stock" needs a process with
NUMBA_CUDA_LCS_DISABLE=1), one after another, in one run:

  stock    numba-cuda, package disabled, plain kernels
  plain    package active, plain kernels
  lcs      package active, LC-S kernels (marked by a rewrite, block only)
  builtin  package disabled, numba-cuda 0.30's built-in LC-S
  floor    a direct cuda.core launch of the same compiled kernel, with its
           LaunchConfig and arguments prepared once

Reported: microseconds per launch (1x1 launch, kernels with 0-4 array
arguments), mean +- standard deviation over --repeats, and the ratio to the
first variant.  Scenarios: 2 and 8 configurations alternating, a grid-size
sweep (compiles and wall time) and 8 threads launching different
configurations (wrong kernels counted).

    python scripts/bench-launch-overhead.py --output results.json
    python scripts/bench-launch-overhead.py --python other=/path/to/python

Exits non-zero without a CUDA GPU.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

VARIANTS = ("stock", "plain", "lcs", "builtin", "floor")
DISABLED = {"stock", "builtin", "floor"}


# ---------------------------------------------------------------------------
# Worker: runs inside one process, one variant
# ---------------------------------------------------------------------------


def _worker(variant, loops, loops4, repeats, scenarios):
    import threading
    import warnings

    warnings.simplefilter("ignore")
    import numpy as np
    from numba import cuda
    from numba.cuda.core.rewrites import Rewrite, register_rewrite

    import numba_cuda
    import numba_cuda_lcs

    if not cuda.is_available():
        print(json.dumps({"error": "no CUDA GPU"}))
        return 2

    compiles = []
    active = numba_cuda_lcs.is_active()
    if variant in ("plain", "lcs") and not active:
        raise SystemExit(f"variant {variant} needs numba-cuda-lcs active")

    if active:
        from numba_cuda_lcs import launchconfig as lc

        def mark():
            cfg = lc.ensure_current_launch_config()
            cfg.mark_kernel_as_launch_config_sensitive(fields="blockdim")
            return cfg
    else:
        from numba.cuda import launchconfig as lc

        def mark():
            cfg = lc.ensure_current_launch_config()
            cfg.dispatcher.mark_launch_config_sensitive()
            return cfg

    @register_rewrite("after-inference")
    class MarkLCS(Rewrite):
        def __init__(self, state=None):
            super().__init__(state)
            self._done = False

        def match(self, func_ir, block, typemap, calltypes):
            if self._done or not func_ir.func_id.func_name.startswith("lcs_"):
                return False
            self._block = block
            return True

        def apply(self):
            cfg = mark()
            compiles.append((cfg.griddim, cfg.blockdim))
            self._done = True
            return self._block

    # Kernels built from source text so the plain and LC-S families differ only
    # in their names (the rewrite matches the "lcs_" prefix).
    def make(prefix, nargs):
        params = ", ".join(f"a{i}" for i in range(nargs))
        namespace = {}
        exec(f"def {prefix}k{nargs}({params}):\n    pass\n", namespace)
        return cuda.jit(namespace[f"{prefix}k{nargs}"])

    lcs = variant in ("lcs", "builtin")
    prefix = "lcs_" if lcs else "plain_"
    kernels = [make(prefix, n) for n in range(5)]
    arr = cuda.device_array(16, dtype=np.float32)

    def timeit(fn, n):
        fn()
        cuda.synchronize()
        values = []
        for _ in range(repeats):
            start = time.perf_counter()
            for _ in range(n):
                fn()
            cuda.synchronize()
            values.append((time.perf_counter() - start) / n * 1e6)
        return values

    result = {
        "variant": variant,
        "active": active,
        "numba_cuda": numba_cuda.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "gpu": cuda.get_current_device().name.decode()
        if isinstance(cuda.get_current_device().name, bytes)
        else str(cuda.get_current_device().name),
        "overhead_us": {},
    }
    try:
        result["driver"] = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
    except Exception:
        result["driver"] = None

    if variant == "floor":
        from cuda.core import LaunchConfig, launch

        for n, kernel in enumerate(kernels):
            args = (arr,) * n
            kernel[1, 1](*args)
            compiled = next(iter(kernel.overloads.values()))
            retr, kernelargs = [], []
            for ty, value in zip(compiled.argument_types, args):
                compiled._prepare_args(ty, value, 0, retr, kernelargs)
            cu_kernel = compiled._codelibrary.get_cufunc().kernel
            config = LaunchConfig(grid=(1, 1, 1), block=(1, 1, 1), shmem_size=0)
            stream = cuda.default_stream()
            core_stream = cuda.cudadrv.driver._to_core_stream(stream)

            def fn(k=cu_kernel, c=config, a=kernelargs, s=core_stream):
                launch(s, c, k, *a)

            result["overhead_us"][str(n)] = timeit(fn, loops4 if n == 4 else loops)
            print(f"  [{variant}] {n} args: {statistics.mean(result['overhead_us'][str(n)]):.2f} us", file=sys.stderr, flush=True)
        print(json.dumps(result))
        return 0

    for n, kernel in enumerate(kernels):
        args = (arr,) * n
        configured = kernel[1, 1]
        result["overhead_us"][str(n)] = timeit(
            lambda c=configured, a=args: c(*a), loops4 if n == 4 else loops
        )
        print(f"  [{variant}] {n} args: {statistics.mean(result['overhead_us'][str(n)]):.2f} us", file=sys.stderr, flush=True)

    if scenarios and variant in ("plain", "lcs", "builtin", "stock"):
        kernel = kernels[1]
        single = kernel[1, 1]
        base = statistics.mean(timeit(lambda: single(arr), loops // 2))
        scen = {"single_us": base}
        for count in (2, 8):
            configs = [kernel[g, 32 * (1 + g % 2)] for g in range(1, count + 1)]
            for c in configs:
                c(arr)

            def alternate(cs=configs):
                for c in cs:
                    c(arr)

            per = statistics.mean(timeit(alternate, max(1, loops // (2 * count)))) / count
            scen[f"alternating_{count}_us"] = per
            scen[f"alternating_{count}_ratio"] = per / base
        # Grid sweep with one block size, on a fresh kernel.
        sweep = make(prefix, 1)
        before = len(compiles)
        start = time.perf_counter()
        for grid in range(1, 33):
            sweep[grid, 128](arr)
        cuda.synchronize()
        scen["grid_sweep_32_compiles"] = len(compiles) - before if lcs else len(sweep.overloads)
        scen["grid_sweep_32_seconds"] = time.perf_counter() - start
        # 8 threads, fresh LC-S kernel, different block sizes, stamped output.
        if lcs:
            ns = {}
            exec(
                "def lcs_threads(out):\n"
                "    if cuda.threadIdx.x == 0:\n"
                "        out[0] = cuda.blockDim.x\n",
                {"cuda": cuda},
                ns,
            )
            wrong = 0
            total = 0
            for _round in range(5):
                tk = cuda.jit(ns["lcs_threads"])
                before = len(compiles)
                barrier = threading.Barrier(8)
                outs = {}

                def worker(block, tk=tk, barrier=barrier, outs=outs):
                    out = cuda.to_device(np.zeros(1, dtype=np.int64))
                    barrier.wait()
                    tk[1, block](out)
                    outs[block] = out

                threads = [threading.Thread(target=worker, args=(32 * (i + 1),)) for i in range(8)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
                total += 8
                # blockDim.x is the launch's block size whichever kernel ran;
                # what matters is whether the kernel compiled for that block
                # ran, which the compile log tells: one compile per block.
                logged = {b[0] for _g, b in compiles[before:]}
                wrong += 8 - len(logged)
            scen["threads_8_launches"] = total
            scen["threads_8_missing_compiles"] = wrong
        result["scenarios"] = scen
    print(json.dumps(result))
    return 0


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


def run_variant(python, variant, args, label):
    env = dict(os.environ)
    env["NUMBA_CUDA_LCS_DISABLE"] = "1" if variant in DISABLED else "0"
    env.setdefault("PYTHONUNBUFFERED", "1")
    cmd = [
        python,
        os.path.abspath(__file__),
        "--worker",
        variant,
        "--loops",
        str(args.loops),
        "--loops4",
        str(args.loops4),
        "--repeats",
        str(args.repeats),
    ]
    if args.no_scenarios:
        cmd.append("--no-scenarios")
    print(f"[{label}] {variant} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"[{label}] variant {variant} failed (exit {proc.returncode})")
    return json.loads(lines[-1])


def summarize(results, first):
    rows = []
    base = results[first]["overhead_us"]
    for variant, res in results.items():
        for n, values in res["overhead_us"].items():
            mean = statistics.mean(values)
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            base_mean = statistics.mean(base[n])
            rows.append(
                {
                    "variant": variant,
                    "args": int(n),
                    "mean_us": mean,
                    "std_us": std,
                    "delta_us": mean - base_mean,
                    "ratio": mean / base_mean,
                }
            )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--loops", type=int, default=100_000, help="launches per repeat, 0-3 args")
    parser.add_argument("--loops4", type=int, default=10_000, help="launches per repeat, 4 args")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--output", help="write results JSON here")
    parser.add_argument("--no-scenarios", action="store_true")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="NAME=INTERPRETER",
        help="also measure with another interpreter (another environment)",
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        return _worker(args.worker, args.loops, args.loops4, args.repeats, not args.no_scenarios)

    try:
        from numba import cuda

        has_gpu = cuda.is_available()
    except Exception as exc:  # numba-cuda missing or broken
        print(f"cannot import numba.cuda: {exc}", file=sys.stderr)
        has_gpu = False
    if not has_gpu:
        print("No CUDA GPU on this machine: the launch-overhead benchmark needs one.", file=sys.stderr)
        return 2

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in VARIANTS:
            parser.error(f"unknown variant {v!r}; choose from {', '.join(VARIANTS)}")
    environments = [("this", sys.executable)]
    for spec in args.python:
        name, _, interp = spec.partition("=")
        if not interp:
            parser.error("--python takes NAME=INTERPRETER")
        environments.append((name, interp))

    report = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "environments": {}}
    for label, python in environments:
        results = {v: run_variant(python, v, args, label) for v in variants}
        rows = summarize(results, variants[0])
        report["environments"][label] = {"results": results, "summary": rows}
        any_result = next(iter(results.values()))
        report.setdefault("gpu", any_result["gpu"])
        report.setdefault("driver", any_result.get("driver"))
        print(f"\n== {label}: {python} (numba-cuda {any_result['numba_cuda']}, numpy {any_result['numpy']}, {any_result['gpu']})")
        print(f"{'variant':9s} {'args':>4s} {'mean us':>9s} {'std':>6s} {'delta':>7s} {'ratio':>6s}")
        for row in rows:
            print(
                f"{row['variant']:9s} {row['args']:4d} {row['mean_us']:9.2f} {row['std_us']:6.2f} "
                f"{row['delta_us']:+7.2f} {row['ratio']:6.3f}"
            )
        for variant, res in results.items():
            if "scenarios" in res:
                print(f"scenarios[{variant}]: " + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in res["scenarios"].items()}))
    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
