#!/usr/bin/env python3
"""Launch overhead of numba-cuda kernels: stock vs numba-cuda-lcs.

Every variant runs in its own worker processes, interleaved: each repeat
starts one fresh process per variant, in rotating order, so that machine
drift (clocks, other tenants) affects every variant alike and no variant
inherits another's state:

  stock    numba-cuda exactly as shipped (NUMBA_CUDA_LCS_DISABLE=1), plain kernels
  plain    package active, plain kernels
  lcs      package active, LC-S kernels (marked by a rewrite, block only)
  builtin  package disabled, numba-cuda 0.30's built-in LC-S
  floor    a direct cuda.core launch of the same compiled kernel, with its
           LaunchConfig and arguments prepared once
  cupy     CuPy RawKernel launches of an empty kernel with as many pointer
           arguments (when CuPy is installed)
  mlir     numba-cuda-mlir's own launch of the same kernels (package disabled;
           when numba-cuda-mlir is installed), for every argument case
  mlir-active
           the same numba-cuda-mlir kernels with the package active
  c-floor  the C floor: a compiled program calling cudaLaunchKernel in a
           loop with its arguments packed once (benchmarks/c_floor, built
           here with nvcc; skipped, saying so, without one) -- the cost of
           the launch alone on this GPU; cases 0, 1, 4, 16, 16s, 256s
  before-plain, before-lcs, before-mlir-active
           plain, lcs and mlir-active with another numba-cuda-lcs tree
           (--before DIR, e.g. the release before a change to the launch
           path) first on the path
  plain-pointers, mlir-active-pointers
           plain and mlir-active with a pointer per parameter
           (NUMBA_CUDA_LCS_PARAM_BUFFER=0) instead of the default one
           buffer, where the function's parameter info allows one

Reported: microseconds per launch (1x1 launch), mean +- standard deviation
over --repeats, and the ratio to the first variant, for kernels with 0-4
and 16 device arrays ("0".."4", "16"), four scalars ("4s": int, float,
numpy float32, bool), 16 and 256 float32 scalars ("16s", "256s"), four CuPy
arrays ("4c", when CuPy is installed) and four PyTorch tensors ("4t", when
PyTorch is installed), both CUDA-array-interface objects.  Scenarios: 2 and 8 configurations alternating, a grid-size
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

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "c_floor"))
import c_floor  # noqa: E402  (benchmarks/c_floor, shared with bench-mlir-launch-overhead.py)

VARIANTS = (
    "stock",
    "plain",
    "lcs",
    "builtin",
    "floor",
    "cupy",
    "mlir",
    "mlir-active",
    "c-floor",
    "before-plain",
    "before-lcs",
    "plain-pointers",
    "mlir-active-pointers",
    "before-mlir-active",
)
DISABLED = {"stock", "builtin", "floor", "cupy", "mlir", "c-floor"}  # package disabled
FLOORS = {"floor", "cupy"}  # launch device arrays only
#: the numba-cuda-mlir variants (a process that does not import numba-cuda)
MLIR = {"mlir", "mlir-active", "mlir-active-pointers", "before-mlir-active"}
NO_SCENARIOS = FLOORS | MLIR | {"c-floor"}
#: variants measured as another one with a pointer per parameter instead of
#: the default one buffer (NUMBA_CUDA_LCS_PARAM_BUFFER=0)
POINTERS = {"plain-pointers": "plain", "mlir-active-pointers": "mlir-active"}
#: variants measured as another one with the --before tree first on the path
BEFORE = {"before-plain": "plain", "before-lcs": "lcs", "before-mlir-active": "mlir-active"}


# ---------------------------------------------------------------------------
# Worker: runs inside one process, one variant
# ---------------------------------------------------------------------------


def argument_cases(arr, np, cupy, torch):
    """Argument case -> launch arguments (CuPy and PyTorch cases when they
    are given)."""
    cases = {str(n): (arr,) * n for n in range(5)}
    cases["16"] = (arr,) * 16
    cases["4s"] = (1, 2.5, np.float32(3.5), True)
    cases["16s"] = tuple(np.float32(i) for i in range(16))
    cases["256s"] = tuple(np.float32(i) for i in range(256))
    if cupy is not None:
        cases["4c"] = tuple(cupy.zeros(16, dtype=cupy.float32) for _ in range(4))
    if torch is not None:
        cases["4t"] = tuple(torch.zeros(16, dtype=torch.float32, device="cuda") for _ in range(4))
    return cases


def loops_for(case, loops, loops4):
    """Launches per repeat: --loops for 0-3 arguments, --loops4 otherwise."""
    return loops if case in ("0", "1", "2", "3") else loops4


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch if torch.cuda.is_available() else None


def _mlir_worker(variant, loops, loops4, repeats):
    """The mlir variants: numba-cuda-mlir launching the same argument cases
    (its own process; numba-cuda is not imported), stock or with the
    package active."""
    try:
        import numba_cuda_mlir
        from numba_cuda_mlir import cuda
    except ImportError:
        print(json.dumps({"results": {}}))
        return 0
    import numpy as np

    lcs_version = None
    if variant != "mlir":
        import numba_cuda_lcs

        if not numba_cuda_lcs.is_active():
            raise SystemExit(
                f"mlir-active: numba-cuda-lcs is not active: {numba_cuda_lcs.inactive_reason()}"
            )
        lcs_version = numba_cuda_lcs.__version__
    elif "numba_cuda_lcs" in sys.modules and sys.modules["numba_cuda_lcs"].is_active():
        raise SystemExit("mlir: numba-cuda-lcs is active, not as asked")

    arr = cuda.device_array(16, dtype=np.float32)
    try:
        import cupy
    except ImportError:
        cupy = None
    cases = argument_cases(arr, np, cupy, _torch())
    launchers, unsupported = {}, {}
    for key, args in cases.items():
        params = ", ".join(f"a{i}" for i in range(len(args)))
        namespace = {}
        exec(f"def mlir_c{key}_k({params}):\n    pass\n", namespace)
        configured = cuda.jit(namespace[f"mlir_c{key}_k"])[1, 1]
        fn = lambda c=configured, a=args: c(*a)  # noqa: E731
        try:
            fn()
        except Exception as exc:  # e.g. numba-cuda-mlir 0.6.0 cannot type torch tensors
            unsupported[key] = f"{type(exc).__name__}: {exc}"
            continue
        launchers[key] = fn
    cuda.synchronize()
    overhead = {key: [] for key in launchers}
    for _ in range(repeats):
        for key, fn in launchers.items():
            fn()
            count = loops_for(key, loops, loops4)
            start = time.perf_counter()
            for _ in range(count):
                fn()
            cuda.synchronize()
            overhead[key].append((time.perf_counter() - start) / count * 1e6)
    name = cuda.get_current_device().name
    result = {
        "variant": variant,
        "numba_cuda": None,
        "numba_cuda_lcs": lcs_version,
        "numba_cuda_mlir": numba_cuda_mlir.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "loops": loops,
        "loops4": loops4,
        "overhead_us": overhead,
        "unsupported": unsupported,
    }
    print(json.dumps({"results": {variant: result}}))
    return 0


def _worker(variants, loops, loops4, repeats, scenarios):
    """Measure *variants* in this process, interleaved: every repeat runs each
    variant once (rotating the order), switching numba-cuda-lcs on and off
    with activate()/deactivate() between them, so that machine drift hits
    all variants alike."""
    import threading
    import warnings

    warnings.simplefilter("ignore")
    import numba_cuda
    import numpy as np
    from numba import cuda
    from numba.cuda import launchconfig as nb_launchconfig
    from numba.cuda.core.rewrites import Rewrite, register_rewrite

    try:
        import numba_cuda_lcs
    except ImportError:  # another environment without the package
        numba_cuda_lcs = None
        variants = [v for v in variants if v in DISABLED]

    if not cuda.is_available():
        print(json.dumps({"error": "no CUDA GPU"}))
        return 2

    def set_mode(variant):
        # The driver starts a process per variant with the package disabled
        # (NUMBA_CUDA_LCS_DISABLE=1) or not; check it got what it asked for.
        active = numba_cuda_lcs is not None and numba_cuda_lcs.is_active()
        if active == (variant in DISABLED):
            raise SystemExit(f"variant {variant}: numba-cuda-lcs active={active}, not as asked")

    compiles = []

    @register_rewrite("after-inference")
    class MarkLCS(Rewrite):
        def __init__(self, state=None):
            super().__init__(state)
            self._done = False

        def match(self, func_ir, block, typemap, calltypes):
            name = func_ir.func_id.func_name
            if self._done or not name.startswith(("lcs_", "blt_")):
                return False
            self._block = block
            return True

        def apply(self):
            # Looked up at call time: numba-cuda's own function while the
            # package is deactivated, ours while it is active.
            cfg = nb_launchconfig.ensure_current_launch_config()
            if hasattr(cfg, "mark_kernel_as_launch_config_sensitive"):
                cfg.mark_kernel_as_launch_config_sensitive(fields="blockdim")
            else:  # numba-cuda's built-in LC-S
                cfg.dispatcher.mark_launch_config_sensitive()
            compiles.append((cfg.griddim, cfg.blockdim))
            self._done = True
            return self._block

    def make(prefix, nargs, body="pass"):
        params = ", ".join(f"a{i}" for i in range(nargs))
        namespace = {"cuda": cuda}
        exec(f"def {prefix}k{nargs}({params}):\n    {body}\n", namespace)
        return cuda.jit(namespace[f"{prefix}k{nargs}"])

    prefixes = {
        "stock": "stock_",
        "plain": "plain_",
        "lcs": "lcs_",
        "builtin": "blt_",
        "floor": "stock_",
        "cupy": "stock_",
        "before-plain": "plain_",
        "before-lcs": "lcs_",
        "plain-pointers": "plain_",
    }
    arr = cuda.device_array(16, dtype=np.float32)
    try:
        import cupy
    except ImportError:
        cupy = None
        variants = [v for v in variants if v != "cupy"]
    cases = argument_cases(arr, np, cupy, _torch())
    kernels = {}
    for variant in variants:
        set_mode(variant)
        prefix = prefixes[variant]
        kernels[variant] = {
            key: make(prefix + f"c{key}_", len(args)) for key, args in cases.items()
        }

    def floor_launcher(kernel, args):
        from cuda.core import LaunchConfig, launch

        compiled = next(iter(kernel.overloads.values()))
        retr, kernelargs = [], []
        for ty, value in zip(compiled.argument_types, args):
            compiled._prepare_args(ty, value, 0, retr, kernelargs)
        cu_kernel = compiled._codelibrary.get_cufunc().kernel
        config = LaunchConfig(grid=(1, 1, 1), block=(1, 1, 1), shmem_size=0)
        stream = cuda.cudadrv.driver._to_core_stream(cuda.default_stream())
        return lambda: launch(stream, config, cu_kernel, *kernelargs)

    def cupy_launcher(nargs):
        params = ", ".join(f"float* a{i}" for i in range(nargs))
        raw = cupy.RawKernel(f'extern "C" __global__ void k({params}) {{}}', "k")
        cargs = tuple(cupy.zeros(16, dtype=cupy.float32) for _ in range(nargs))
        return lambda: raw((1,), (1,), cargs)

    # Compile and warm up every variant in its own mode.
    launchers = {}
    for variant in variants:
        set_mode(variant)
        launchers[variant] = {}
        for key, kernel in kernels[variant].items():
            if variant in FLOORS and not key.isdigit():  # device arrays only
                continue
            args = cases[key]
            if variant == "cupy":
                fn = cupy_launcher(len(args))
            else:
                configured = kernel[1, 1]
                configured(*args)
                if variant == "floor":
                    fn = floor_launcher(kernel, args)
                else:
                    fn = lambda c=configured, a=args: c(*a)  # noqa: E731
            fn()
            launchers[variant][key] = fn
    cuda.synchronize()
    if cupy is not None:
        cupy.cuda.Device().synchronize()

    def time_loop(fn, count):
        start = time.perf_counter()
        for _ in range(count):
            fn()
        cuda.synchronize()
        return (time.perf_counter() - start) / count * 1e6

    overhead = {v: {key: [] for key in launchers[v]} for v in variants}
    for rep in range(repeats):
        order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
        for variant in order:
            set_mode(variant)
            for key, fn in launchers[variant].items():
                fn()  # re-warm
                count = loops_for(key, loops, loops4)
                overhead[variant][key].append(time_loop(fn, count))
        print(f"  repeat {rep + 1}/{repeats} done", file=sys.stderr, flush=True)

    name = cuda.get_current_device().name
    common = {
        "numba_cuda": numba_cuda.__version__,
        "numba_cuda_lcs": getattr(numba_cuda_lcs, "__version__", None),
        "numpy": np.__version__,
        "python": platform.python_version(),
        "gpu": name.decode() if isinstance(name, bytes) else str(name),
        "method": "a fresh process per variant and repeat, interleaved",
        "numba_cuda_lcs_path": getattr(numba_cuda_lcs, "__file__", None),
    }
    try:
        common["driver"] = ".".join(map(str, cuda.cudadrv.driver.driver.get_version()))
    except Exception:
        common["driver"] = None
    results = {v: dict(common, variant=v, overhead_us=overhead[v]) for v in variants}

    if scenarios:
        for variant in [v for v in variants if v not in NO_SCENARIOS]:
            set_mode(variant)
            lcs = variant in ("lcs", "builtin", "before-lcs")
            kernel = kernels[variant]["1"]
            single = kernel[1, 1]
            scen = {}
            configs = {
                count: [kernel[g, 32 * (1 + g % 2)] for g in range(1, count + 1)]
                for count in (2, 8)
            }
            for cs in configs.values():
                for c in cs:
                    c(arr)
            per = {"single": [], 2: [], 8: []}
            for _ in range(repeats):
                per["single"].append(time_loop(lambda: single(arr), loops // 2))
                for count, cs in configs.items():

                    def alternate(cs=cs):
                        for c in cs:
                            c(arr)

                    per[count].append(time_loop(alternate, max(1, loops // (2 * count))) / count)
            base = statistics.median(per["single"])
            scen["single_us"] = base
            for count in (2, 8):
                scen[f"alternating_{count}_us"] = statistics.median(per[count])
                scen[f"alternating_{count}_ratio"] = scen[f"alternating_{count}_us"] / base
            # Grid sweep with one block size, on a fresh kernel.
            sweep = make(prefixes[variant] + "sweep_", 1)
            before = len(compiles)
            start = time.perf_counter()
            for grid in range(1, 33):
                sweep[grid, 128](arr)
            cuda.synchronize()
            scen["grid_sweep_32_compiles"] = len(compiles) - before if lcs else len(sweep.overloads)
            scen["grid_sweep_32_seconds"] = time.perf_counter() - start
            if lcs:
                # 8 threads launch a fresh kernel with 8 block sizes at once;
                # every block size must get its own compilation.
                missing = total = 0
                for _round in range(5):
                    tk = make(prefixes[variant] + "threads_", 1)
                    before = len(compiles)
                    barrier = threading.Barrier(8)

                    def worker(block, tk=tk, barrier=barrier):
                        barrier.wait()
                        tk[1, block](arr)

                    threads = [
                        threading.Thread(target=worker, args=(32 * (i + 1),)) for i in range(8)
                    ]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                    total += 8
                    missing += 8 - len({b[0] for _g, b in compiles[before:]})
                scen["threads_8_launches"] = total
                scen["threads_8_missing_compiles"] = missing
            results[variant]["scenarios"] = scen
    print(json.dumps({"results": results}))
    return 0


# ---------------------------------------------------------------------------
# Driver
# ---------------------------------------------------------------------------


_FLOOR_BINARY = {}  # (binary or None, why), built once per run


def run_c_floor(args, repeats):
    """The c-floor variant: the C program, each case timed *repeats* times
    (as many launches per repeat as the Python variants); None without
    nvcc."""
    if not _FLOOR_BINARY:
        _FLOOR_BINARY["built"] = c_floor.build()
        if _FLOOR_BINARY["built"][0] is None:
            print(f"c-floor: not measured ({_FLOOR_BINARY['built'][1]})", file=sys.stderr)
    binary, _why = _FLOOR_BINARY["built"]
    if binary is None:
        return None
    overhead = {}
    for case in c_floor.CASES:
        try:
            overhead[case] = c_floor.run(
                binary, case, loops_for(case, args.loops, args.loops4), repeats
            )
        except RuntimeError as exc:  # reported; the other cases and variants go on
            print(f"c-floor case {case}: {exc}", file=sys.stderr)
    return {
        "variant": "c-floor",
        "numba_cuda": None,
        "gpu": c_floor.gpu(),
        "overhead_us": overhead,
        "source": os.path.relpath(c_floor.SOURCE, ROOT),
    }


def run_worker(python, variant, args, label, *, repeats, scenarios):
    """One worker process measuring one variant (the C floor: its program)."""
    if variant == "c-floor":
        print(f"[{label}] measuring {variant} ...", file=sys.stderr, flush=True)
        return run_c_floor(args, repeats)
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    env.pop("NUMBA_CUDA_LCS_DISABLE", None)
    env.pop("NUMBA_CUDA_LCS_PARAM_BUFFER", None)
    if variant in DISABLED:
        env["NUMBA_CUDA_LCS_DISABLE"] = "1"
    if variant in POINTERS:
        env["NUMBA_CUDA_LCS_PARAM_BUFFER"] = "0"
    paths = [env["PYTHONPATH"]] if env.get("PYTHONPATH") else []
    if variant in BEFORE:
        if not args.before:
            raise SystemExit(f"variant {variant} needs --before DIR")
        paths.insert(0, os.path.abspath(args.before))
    if paths:
        env["PYTHONPATH"] = os.pathsep.join(paths)
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
        str(repeats),
    ]
    if not scenarios:
        cmd.append("--no-scenarios")
    print(f"[{label}] measuring {variant} ...", file=sys.stderr, flush=True)
    proc = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(
            f"[{label}] benchmark worker for {variant} failed (exit {proc.returncode})"
        )
    return json.loads(lines[-1])["results"].get(variant)  # None: not measurable here


def measure(python, variants, args, label):
    """Interleave: each repeat starts one process per variant, rotating the
    order; scenarios run once per variant at the end."""
    results = {}
    for rep in range(args.repeats):
        order = variants[rep % len(variants) :] + variants[: rep % len(variants)]
        for variant in order:
            found = run_worker(python, variant, args, label, repeats=1, scenarios=False)
            if found is None:
                continue
            if variant not in results:
                results[variant] = found
            else:
                for n, values in found["overhead_us"].items():
                    results[variant]["overhead_us"].setdefault(n, []).extend(values)
    if not args.no_scenarios:
        for variant in [v for v in variants if v in results]:
            if variant not in NO_SCENARIOS:
                found = run_worker(
                    python, variant, args, label, repeats=max(1, args.repeats // 2), scenarios=True
                )
                results[variant]["scenarios"] = found.get("scenarios")
    return {variant: results[variant] for variant in variants if variant in results}


def summarize(results, first):
    """A row per variant and case: mean, deviation and median µs, and the
    ratios to the base -- the *first* variant, or, for a case it did not
    measure, the first variant that did (the C floor first: a CuPy case
    against the next variant), named in the row's ``base``."""
    order = [first] + [v for v in results if v != first]
    rows = []
    for variant, res in results.items():
        for n, values in res["overhead_us"].items():
            base_variant = next(v for v in order if n in results[v]["overhead_us"])
            base = results[base_variant]["overhead_us"][n]
            mean = statistics.mean(values)
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            base_mean = statistics.mean(base)
            median = statistics.median(values)
            rows.append(
                {
                    "variant": variant,
                    "args": n,
                    "base": base_variant,
                    "mean_us": mean,
                    "std_us": std,
                    "delta_us": mean - base_mean,
                    "ratio": mean / base_mean,
                    "median_us": median,
                    # Robust to the odd slow repeat on a shared machine.
                    "median_ratio": median / statistics.median(base),
                }
            )
    return rows


def as_passed_lines(results):
    """16 arrays against the C floor of as many parameters as each compiler's
    kernels take for them (numba-cuda 7 per 1-D array, numba-cuda-mlir 5):
    the part of the ratio that is the kernel's parameter count, not the
    launch path."""
    floor = results.get("c-floor", {}).get("overhead_us", {})
    lines = []
    for variant, res in results.items():
        if variant == "c-floor" or "16" not in res["overhead_us"]:
            continue
        compiler = "numba-cuda-mlir" if variant in MLIR else "numba-cuda"
        case = c_floor.SIXTEEN_ARRAYS_AS_PASSED[compiler]
        if not floor.get(case):
            continue
        mine, theirs = res["overhead_us"]["16"], floor[case]
        lines.append(
            f"16 arrays as passed [{variant}]: {statistics.median(mine):.2f} us, "
            f"{statistics.median(mine) / statistics.median(theirs):.3f}x the floor of "
            f"{case} ({statistics.median(theirs):.2f} us; medians)"
        )
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loops", type=int, default=100_000, help="launches per repeat, 0-3 args")
    parser.add_argument("--loops4", type=int, default=10_000, help="launches per repeat, 4 args")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--variants", help=f"comma-separated, from {', '.join(VARIANTS)}")
    parser.add_argument("--output", help="write results JSON here")
    parser.add_argument("--no-scenarios", action="store_true")
    parser.add_argument(
        "--python",
        action="append",
        default=[],
        metavar="NAME=INTERPRETER",
        help="also measure with another interpreter (another environment)",
    )
    parser.add_argument(
        "--before", metavar="DIR", help="numba-cuda-lcs tree for the before-* variants"
    )
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker in MLIR:
        return _mlir_worker(args.worker, args.loops, args.loops4, args.repeats)
    if args.worker:
        return _worker(
            args.worker.split(","), args.loops, args.loops4, args.repeats, not args.no_scenarios
        )

    try:
        from numba import cuda

        has_gpu = cuda.is_available()
    except Exception as exc:  # numba-cuda missing or broken
        print(f"cannot import numba.cuda: {exc}", file=sys.stderr)
        has_gpu = False
    if not has_gpu:
        print(
            "No CUDA GPU on this machine: the launch-overhead benchmark needs one.", file=sys.stderr
        )
        return 2

    default = [v for v in VARIANTS if v not in BEFORE or args.before]
    variants = (
        [v.strip() for v in args.variants.split(",") if v.strip()] if args.variants else default
    )
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
        results = measure(python, variants, args, label)
        rows = summarize(results, next(iter(results)))  # (ratios to the first variant)
        report["environments"][label] = {"results": results, "summary": rows}
        any_result = next(iter(results.values()))
        report.setdefault("gpu", any_result.get("gpu"))
        report.setdefault("driver", any_result.get("driver"))
        print(
            f"\n== {label}: {python} (numba-cuda {any_result.get('numba_cuda')}, "
            f"numpy {any_result.get('numpy')}, {any_result.get('gpu')})"
        )
        print(
            f"{'variant':12s} {'args':>4s} {'mean us':>9s} {'std':>6s} {'delta':>7s} {'ratio':>6s} {'median':>7s} {'m.ratio':>7s}"
        )
        first = next(iter(results))
        for row in rows:
            print(
                f"{row['variant']:12s} {row['args']:>4s} {row['mean_us']:9.2f} {row['std_us']:6.2f} "
                f"{row['delta_us']:+7.2f} {row['ratio']:6.3f} {row['median_us']:7.2f} {row['median_ratio']:7.3f}"
                + (f"  (vs {row['base']})" if row["base"] != first else "")
            )
        for line in as_passed_lines(results):
            print(line)
        for variant, res in results.items():
            if "scenarios" in res:
                print(
                    f"scenarios[{variant}]: "
                    + json.dumps(
                        {
                            k: round(v, 3) if isinstance(v, float) else v
                            for k, v in res["scenarios"].items()
                        }
                    )
                )
    if args.output:
        with open(args.output, "w") as f:
            json.dump(report, f, indent=1)
        print(f"\nwrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
