#!/usr/bin/env python
"""numba-cuda-mlir's launch-latency microbenchmark cases: stock vs with
numba-cuda-lcs active.

The cases are those of numba-cuda-mlir's own microbenchmark
(tests/benchmarks/launch_latency_ubench in its repository): kernels with an
explicit signature and an empty body,

  empty            void()
  1_array_arg      void(float32[::1])
  16_scalar_args   void(float32 x 16)
  16_array_args    void(float32[::1] x 16)
  256_scalar_args  void(float32 x 256)

each launched on one thread in two modes:

  configured-once  launcher = kernel[1, 1] once, then launcher(*args)
  per-launch       kernel[1, 1](*args) every time

Every round runs one process per variant, stock (NUMBA_CUDA_LCS_DISABLE=1)
and active, in alternating order so that drift hits both alike.  A process
warms each case up, then times several batches of launches (each ending with
cuda.synchronize(), inside the timed span) and reports the median µs per
launch.  Figures only, no timed assertion: plain kernels should pay nothing
for the package, so every active/stock ratio should be at most 1.02
(flagged otherwise).

    python scripts/bench-mlir-ubench.py --rounds 5 --json mlir-ubench.json

Needs a GPU.  --compile-only-check runs without one: each variant compiles
the kernels (for sm_90) and builds their launchers, but nothing is launched
or timed.  The variant's activation state is checked in every process; a
process whose state is wrong is not reported.
"""

import argparse
import ast
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tarfile
import time
from pathlib import Path

CASES = {  # name -> (argument kind, count)
    "empty": ("scalar", 0),
    "1_array_arg": ("array", 1),
    "16_scalar_args": ("scalar", 16),
    "16_array_args": ("array", 16),
    "256_scalar_args": ("scalar", 256),
}
MODES = ("configured-once", "per-launch")
VARIANTS = ("stock", "active")
DISABLE = {"stock": "1", "active": "0"}  # NUMBA_CUDA_LCS_DISABLE per variant
THRESHOLD = 1.02
GRID, BLOCK = 1, 1
ROOT = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------------------
# Child: one variant, every case and mode, in this process
# ---------------------------------------------------------------------------


def build_case(cuda, name, on_device):
    """The compiled kernel of case *name* and its launch arguments (device
    arrays on a GPU, host arrays of the same type without one)."""
    import numpy as np

    kind, count = CASES[name]
    element = "float32[::1]" if kind == "array" else "float32"
    params = [f"x{i}" for i in range(count)]
    # A kernel takes a fixed parameter list, so generate the function.
    function_name = f"case_{name}"
    namespace = {}
    exec(f"def {function_name}({', '.join(params)}):\n    pass\n", namespace)  # noqa: S102
    function = namespace[function_name]
    kernel = cuda.jit(f"void({', '.join([element] * count)})")(function)
    if kind == "array":
        make = cuda.device_array if on_device else np.empty
        args = tuple(make(1, dtype=np.float32) for _ in range(count))
    else:
        args = tuple(np.float32(i) for i in range(count))
    return kernel, args


def launch_configured(launcher, args, count):
    for _ in range(count):
        launcher(*args)


def launch_each(kernel, args, count):
    grid, block = GRID, BLOCK  # locals, as literals would be
    for _ in range(count):
        kernel[grid, block](*args)


def time_mode(cuda, mode, kernel, args, iterations, batches, warmup):
    """µs per launch of each batch."""
    if mode == "configured-once":
        loop, target = launch_configured, kernel[GRID, BLOCK]
    else:
        loop, target = launch_each, kernel
    loop(target, args, warmup)
    cuda.synchronize()
    per_batch = []
    for _ in range(batches):
        started = time.perf_counter()
        loop(target, args, iterations)
        cuda.synchronize()
        per_batch.append((time.perf_counter() - started) / iterations * 1e6)
    return per_batch


def activation_state(variant):
    """What this process shows of numba-cuda-lcs, and whether that is what
    *variant* means.  Does not import the package: in a stock process it must
    not have been imported at all (the autoload hook is off)."""
    loaded = "numba_cuda_lcs" in sys.modules
    compilers = sys.modules["numba_cuda_lcs"].active_compilers() if loaded else []
    active = "numba-cuda-mlir" in compilers
    return {
        "NUMBA_CUDA_LCS_DISABLE": os.environ.get("NUMBA_CUDA_LCS_DISABLE"),
        "autoloaded": loaded,
        "active_compilers": compilers,
        "as_expected": active == (variant == "active"),
    }


def child(opts):
    import warnings

    warnings.simplefilter("ignore")
    variant = opts.child
    on_device = not opts.compile_only_check
    if not on_device:
        # numba-cuda-mlir asks the driver for the compute capability it
        # compiles for; without a GPU, say sm_90.
        from numba_cuda_mlir import tools

        tools.get_gpu_compute_capability = lambda as_type=str: (
            (9, 0) if as_type is tuple else "sm_90"
        )
    from numba_cuda_mlir import cuda

    cases = {name: build_case(cuda, name, on_device) for name in opts.cases}
    launcher_types = {}
    for name, (kernel, _) in cases.items():
        launcher = kernel[GRID, BLOCK]
        launcher_types[name] = f"{type(launcher).__module__}.{type(launcher).__qualname__}"
    before = activation_state(variant)
    if not before["as_expected"]:
        raise SystemExit(
            f"{variant}: numba-cuda-lcs activation state is wrong before timing: {before}"
        )

    figures = {}
    if on_device:
        for name, (kernel, args) in cases.items():
            kernel[GRID, BLOCK](*args)  # first launch (module load) outside the timing
            for mode in MODES:
                per_batch = time_mode(
                    cuda, mode, kernel, args, opts.iterations, opts.batches, opts.warmup
                )
                figures[f"{name}/{mode}"] = {
                    "median_us": statistics.median(per_batch),
                    "batches_us": per_batch,
                }
        cuda.synchronize()

    after = activation_state(variant)  # still the same after every launch?
    import numba_cuda_mlir
    import numpy

    import numba_cuda_lcs  # only now: a stock process must not import it earlier

    report = {
        "variant": variant,
        "pid": os.getpid(),
        "activation": {
            "before_timing": before,
            "after_timing": after,
            "inactive_reason": numba_cuda_lcs.inactive_reason(),
            "launcher_types": launcher_types,
        },
        "device": cuda.get_current_device().name if on_device else None,
        "versions": {
            "numba_cuda_mlir": numba_cuda_mlir.__version__,
            "numba_cuda_lcs": numba_cuda_lcs.__version__,
            "numba_cuda_lcs_file": numba_cuda_lcs.__file__,
            "numpy": numpy.__version__,
            "python": platform.python_version(),
        },
        "figures": figures,
    }
    if isinstance(report["device"], bytes):
        report["device"] = report["device"].decode()
    print(json.dumps(report))
    return 0


# ---------------------------------------------------------------------------
# Parent: rounds of one process per variant, the report
# ---------------------------------------------------------------------------


def run_child(variant, opts):
    env = dict(os.environ, NUMBA_CUDA_LCS_DISABLE=DISABLE[variant])
    command = [
        sys.executable,
        __file__,
        "--child",
        variant,
        "--cases",
        ",".join(opts.cases),
        "--iterations",
        str(opts.iterations),
        "--batches",
        str(opts.batches),
        "--warmup",
        str(opts.warmup),
    ]
    if opts.compile_only_check:
        command.append("--compile-only-check")
    proc = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    if proc.returncode != 0:
        raise SystemExit(
            f"the {variant} process failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    # Checked here too: a variant whose activation state is wrong is not reported.
    for when in ("before_timing", "after_timing"):
        state = report["activation"][when]
        if not state["as_expected"]:
            raise SystemExit(
                f"refusing to report {variant}: activation state {when} is wrong: {state}"
            )
    return report


def upstream_cases():
    """Case names and settings of numba-cuda-mlir's own microbenchmark, read
    (not run) from its packed test suite, found as scripts/gpu-mlir-suite.sh
    finds it; None when the tarball is not here."""
    candidates = [os.environ.get("MLIR_TESTS", "")]
    candidates += sorted(map(str, (ROOT / ".mlir").glob("numba-cuda-mlir-tests-*.tar.gz")))
    candidates += sorted(map(str, (ROOT.parent / "shared").glob("numba-cuda-mlir-tests-*.tar.gz")))
    tarball = next((c for c in candidates if c and os.path.isfile(c)), None)
    if tarball is None:
        return None
    member = "tests/benchmarks/launch_latency_ubench/launch_latency_ubench.py"
    with tarfile.open(tarball) as archive:
        try:
            source = archive.extractfile(member).read().decode()
        except (KeyError, AttributeError):
            return {"tarball": tarball, "error": f"{member} not in it"}
    settings = {}
    for node in ast.parse(source).body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
        ):
            name = node.targets[0].id
            if name in ("KERNEL_NAMES", "GRID", "BLOCK", "WARMUP", "ITERATIONS"):
                settings[name] = ast.literal_eval(node.value)
    return {
        "tarball": os.path.basename(tarball),
        "settings": settings,
        "same_cases": list(settings.get("KERNEL_NAMES", ())) == list(CASES),
    }


def gpu_info():
    """Name and driver of the GPU the children use (the first visible one)."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",")[0].strip()
    command = ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"]
    if visible.isdigit():
        command[1:1] = ["-i", visible]
    try:
        line = subprocess.run(
            command, capture_output=True, text=True, check=True
        ).stdout.splitlines()[0]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return {"name": None, "driver": None}
    name, _, driver = line.rpartition(",")
    return {"name": name.strip(), "driver": driver.strip()}


def summarize(samples, opts):
    """Per case and mode: medians over rounds, ratios active/stock."""
    results = {}
    for name in opts.cases:
        for mode in MODES:
            key = f"{name}/{mode}"
            stock, active = samples["stock"][key], samples["active"][key]
            per_round = [a / s for s, a in zip(stock, active)]
            stock_median, active_median = statistics.median(stock), statistics.median(active)
            median_ratio = statistics.median(per_round)
            ratio_of_medians = active_median / stock_median
            results[key] = {
                "stock_us": stock,
                "active_us": active,
                "stock_median_us": stock_median,
                "active_median_us": active_median,
                "ratio_per_round": per_round,
                "median_ratio": median_ratio,
                "ratio_of_medians": ratio_of_medians,
                "over_threshold": max(median_ratio, ratio_of_medians) > THRESHOLD,
            }
    return results


def print_table(results):
    print()
    print(
        f"{'case':<16} {'mode':<15} {'stock us':>9} {'active us':>10} "
        f"{'ratio (median/round)':>20} {'ratio of medians':>16}"
    )
    for key, row in results.items():
        name, mode = key.split("/")
        flag = f"  > {THRESHOLD}" if row["over_threshold"] else ""
        print(
            f"{name:<16} {mode:<15} {row['stock_median_us']:9.2f} {row['active_median_us']:10.2f} "
            f"{row['median_ratio']:20.3f} {row['ratio_of_medians']:16.3f}{flag}"
        )


def parent(opts):
    upstream = upstream_cases()
    if upstream is not None and upstream.get("same_cases") is False:
        print(
            f"note: numba-cuda-mlir's microbenchmark has other cases: {upstream}", file=sys.stderr
        )
    samples = {v: {f"{n}/{m}": [] for n in opts.cases for m in MODES} for v in VARIANTS}
    children = []
    for round_ in range(opts.rounds):
        order = VARIANTS if round_ % 2 == 0 else VARIANTS[::-1]
        for variant in order:
            report = run_child(variant, opts)
            children.append(
                {"round": round_ + 1, **{k: report[k] for k in ("variant", "pid", "activation")}}
            )
            state = report["activation"]["before_timing"]
            launchers = sorted(set(report["activation"]["launcher_types"].values()))
            print(
                f"round {round_ + 1}/{opts.rounds} {variant:<6} "
                f"active compilers {state['active_compilers']}, launcher {launchers}",
                flush=True,
            )
            for key, figure in report["figures"].items():
                samples[variant][key].append(figure["median_us"])
            # Each round's figures as they come: a cut-off run still tells.
            print(
                "   "
                + ", ".join(f"{k} {f['median_us']:.2f}" for k, f in report["figures"].items()),
                flush=True,
            )
    gpu = gpu_info()
    if report.get("device"):
        gpu["name_from_numba_cuda_mlir"] = report["device"]
    output = {
        "what": (
            "µs per launch of numba-cuda-mlir's launch-latency microbenchmark cases, "
            "configured once and kernel[1, 1](...) per launch; per process the median "
            "of batches (each ending with cuda.synchronize()), then medians over rounds"
        ),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "compile_only_check": opts.compile_only_check,
        "gpu": gpu,
        "versions": report["versions"],
        "rounds": opts.rounds,
        "iterations_per_batch": opts.iterations,
        "batches": opts.batches,
        "warmup": opts.warmup,
        "grid": GRID,
        "block": BLOCK,
        "threshold": THRESHOLD,
        "upstream_benchmark": upstream,
        "processes": children,
    }
    if opts.compile_only_check:
        print(
            "compile-only check: kernels compiled and launchers built in every variant; "
            "nothing launched or timed"
        )
    else:
        results = summarize(samples, opts)
        output["results"] = results
        output["over_threshold"] = [k for k, row in results.items() if row["over_threshold"]]
        print_table(results)
        print()
        gpu_name = gpu.get("name_from_numba_cuda_mlir") or gpu["name"]
        print(f"GPU {gpu_name}, driver {gpu['driver']}; {opts.rounds} rounds")
        over = output["over_threshold"]
        print(f"over {THRESHOLD}: {', '.join(over)}" if over else f"every case at most {THRESHOLD}")
    if opts.json:
        with open(opts.json, "w") as f:
            json.dump(output, f, indent=2)
        print(f"written: {opts.json}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=5, help="processes per variant, interleaved (default 5)"
    )
    parser.add_argument(
        "--iterations", type=int, default=5000, help="launches per batch (default 5000)"
    )
    parser.add_argument(
        "--batches", type=int, default=5, help="timed batches per case and mode (default 5)"
    )
    parser.add_argument(
        "--warmup", type=int, default=500, help="untimed launches first (default 500)"
    )
    parser.add_argument(
        "--cases",
        type=lambda text: text.split(","),
        default=list(CASES),
        help=f"comma-separated subset of {','.join(CASES)}",
    )
    parser.add_argument("--json", metavar="PATH", help="write everything as JSON")
    parser.add_argument(
        "--compile-only-check",
        action="store_true",
        help="no GPU: compile the kernels and build their launchers in each variant, no timing",
    )
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    opts = parser.parse_args(argv)
    if opts.rounds < 1:
        parser.error("--rounds must be at least 1")
    unknown = [c for c in opts.cases if c not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; known: {', '.join(CASES)}")
    return child(opts) if opts.child else parent(opts)


if __name__ == "__main__":
    sys.exit(main())
