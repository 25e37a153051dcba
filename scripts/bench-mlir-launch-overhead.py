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
  stock-planner, active-planner
                the plain kernel while a whole-function planner that touches
                nothing is registered (as with cuda.coop imported): stock,
                and with numba-cuda-lcs active
  active-planner-lcs
                numba-cuda-lcs active, the kernel made launch-dependent by
                the same planner as stock-lcs (what cuda.coop's kernels are)

each launching ``kernel[1, 1](*args)`` in a loop (synchronized at the end of
each batch) for the argument cases

  0, 1, 4, 16   that many numba-cuda-mlir device arrays
  16s, 256s     that many float32 scalars (numba-cuda-mlir's microbenchmark)
  4c            four CuPy arrays, no stream configured (numba-cuda-mlir
                follows CuPy's current stream); when CuPy is installed
  4c-nosync     4c with NUMBA_CUDA_ARRAY_INTERFACE_SYNC off for the case
                (numba-cuda-mlir's config, set while it runs): without the
                stream synchronisation numba-cuda-mlir does before every
                launch by default -- what the launch path itself costs
  4t            four PyTorch tensors, likewise (numba-cuda-mlir 0.6.0 cannot
                type them: reported unsupported)
  1x8           one array, 8 configurations alternating (kernel[1, 32 * k]
                for k = 1..8, one after another): against "1", what a
                kernel compiled per configuration costs when they alternate

and

  c-floor       the C floor: benchmarks/c_floor/launch_floor.cu, built here
                with nvcc (skipped, saying so, without one), calling
                cudaLaunchKernel in the same loop with its arguments packed
                once -- the cost of the launch alone on this GPU (cases 0,
                1, 4, 16, 16s, 256s; with case 16 also 80p: 80 8-byte
                parameters, as many as 16 arrays take in numba-cuda-mlir's
                kernels, the floor of those launches; for 4c 4sync: four
                pointers with the stream synchronised before each launch,
                as numba-cuda-mlir does for CuPy arrays, and for 4c-nosync
                case 4).

Prints µs per launch and the ratios active/stock, stock/active (the
speed-up), active/floor, LC-S/plain and 8-alternating/single; writes
everything as JSON (--out).  Figures, not assertions.

    python scripts/bench-mlir-launch-overhead.py --rounds 5 --out mlir-overhead.json

Needs a GPU.  Plain kernels must not get slower with the package: the
``active-plain / stock-plain`` ratios are the check.
"""

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time

BENCHMARKS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "benchmarks")
sys.path[:0] = [os.path.join(BENCHMARKS, "c_floor"), BENCHMARKS]
import c_floor  # noqa: E402  (benchmarks/c_floor, shared with bench-launch-overhead.py)
import launch_cases  # noqa: E402  (benchmarks/launch_cases.py, shared with bench-paired.py)

VARIANTS = (
    "stock-plain",
    "stock-lcs",
    "active-plain",
    "active-lcs",
    "stock-planner",
    "active-planner",
    "active-planner-lcs",
)
FLOOR = "c-floor"
CASES = launch_cases.CASES
ALTERNATING = launch_cases.ALTERNATING


def floor_case(case):
    """The C floor's case for a launch of *case* (numba-cuda-mlir
    synchronises CuPy's stream before launching with CuPy arrays), or None."""
    return case if case in c_floor.CASES else c_floor.MLIR_CUPY_FLOOR.get(case)


def worker(variant, cases, launches, batches):
    """Case -> per-batch µs per launch in this process's *variant*, or
    ``{"unsupported": why}``."""
    import warnings

    warnings.simplefilter("ignore")
    active = variant.startswith("active")
    launch = None
    if active:
        import numba_cuda_lcs  # noqa: F401  (activates)
        from numba_cuda_lcs import launch
    from numba_cuda_mlir import cuda

    lcs = variant.endswith("lcs")
    planner_lcs = lcs and (not active or "planner" in variant)
    if planner_lcs or "planner" in variant:
        from numba_cuda_mlir._whole_function_planners import (
            WholeFunctionPlanner,
            register_planner,
            require_launch_config,
        )

        class RequireLaunch(WholeFunctionPlanner):
            def run(self):
                if planner_lcs and not self.is_device_function:
                    require_launch_config(self.state)
                return False

        register_planner(RequireLaunch)

    ours = active and lcs and not planner_lcs  # LC-S through numba_cuda_lcs.launch
    return {case: _measure(cuda, launch, case, ours, launches, batches) for case in cases}


def _measure(cuda, launch, case, lcs, launches, batches):
    if case == "4c-nosync":
        from numba_cuda_mlir.numba_cuda.core import config

        saved = config.CUDA_ARRAY_INTERFACE_SYNC
        config.CUDA_ARRAY_INTERFACE_SYNC = 0
        try:
            return _measure(cuda, launch, "4c", lcs, launches, batches)
        finally:
            config.CUDA_ARRAY_INTERFACE_SYNC = saved
    try:
        args = launch_cases.arguments(case, cuda)
    except ImportError as exc:
        return {"unsupported": f"{type(exc).__name__}: {exc}"}
    kernel = launch_cases.kernel(cuda, launch, case, len(args), lcs)
    blocks = launch_cases.ALTERNATING_BLOCKS if case == "1x8" else [1]
    try:
        for _ in range(200 // len(blocks) + 1):  # compile, warm up
            for block in blocks:
                kernel[1, block](*args)
        cuda.synchronize()
    except Exception as exc:  # what numba-cuda-mlir refuses (PyTorch tensors in 0.6.0)
        return {"unsupported": f"{type(exc).__name__}: {exc}"[:500]}
    try:
        return _time(cuda, kernel, args, blocks, launches, batches)
    except Exception as exc:  # a launch failing mid-run: reported, the others go on
        return {"failed": f"{type(exc).__name__}: {exc}"[:500]}


def _time(cuda, kernel, args, blocks, launches, batches):
    results = []
    rounds = max(1, launches // len(blocks))
    for _ in range(batches):
        started = time.perf_counter()
        if len(blocks) == 1:
            for _ in range(launches):
                kernel[1, 1](*args)
        else:
            for _ in range(rounds):
                for block in blocks:
                    kernel[1, block](*args)
        cuda.synchronize()
        results.append((time.perf_counter() - started) / (rounds * len(blocks)) * 1e6)
    return results


def run_worker(variant, cases, launches, batches):
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
            ",".join(cases),
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
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        # The whole process failed (a crash, a fault): every case of this
        # round says so; the other rounds and variants go on.
        print(f"{variant}: the worker failed:\n{proc.stderr[-4000:]}", file=sys.stderr)
        why = f"worker exit {proc.returncode}: {proc.stderr.strip()[-300:]}"
        return {case: {"failed": why} for case in cases}
    return json.loads(lines[-1])


def _floor_cases(binary, cases, launches, batches):
    """The C floor's figures for the *cases* it has (a failure reported)."""
    found = {}
    for case in cases:
        if case in c_floor.CASES:
            try:
                found[case] = c_floor.run(binary, case, launches, batches)
            except RuntimeError as exc:
                found[case] = {"failed": str(exc)[-500:]}
    return found


def _ratio(medians, a, b):
    if a in medians and b in medians:
        return medians[a] / medians[b]
    return None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="processes per variant (interleaved; each measures every case)",
    )
    parser.add_argument("--launches", type=int, default=20000, help="launches per batch")
    parser.add_argument("--batches", type=int, default=5, help="batches per process")
    parser.add_argument(
        "--cases",
        type=launch_cases.comma_separated(CASES),
        default=list(CASES),
        help=f"comma-separated subset of {','.join(CASES)}",
    )
    parser.add_argument("--out", default="mlir-launch-overhead.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("VARIANT", "CASES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        variant, cases = args.worker
        print(json.dumps(worker(variant, cases.split(","), args.launches, args.batches)))
        return 0

    rng = random.Random(args.seed)
    floor, why = c_floor.build()
    variants = VARIANTS + ((FLOOR,) if floor else ())
    if floor is None:
        print(f"c-floor: not measured ({why})", flush=True)
    cases = list(args.cases)
    as_passed = c_floor.SIXTEEN_ARRAYS_AS_PASSED["numba-cuda-mlir"]
    floor_cases = list(
        dict.fromkeys(
            [floor_case(c) for c in cases if floor_case(c)] + ([as_passed] if "16" in cases else [])
        )
    )
    samples = {(v, c): [] for v in variants for c in cases if v != FLOOR}
    samples.update({(FLOOR, c): [] for c in floor_cases if FLOOR in variants})
    unsupported = {}
    order = list(variants)
    for round_ in range(args.rounds):
        rng.shuffle(order)
        for variant in order:
            if variant == FLOOR:
                found = _floor_cases(floor, floor_cases, args.launches, args.batches)
            else:
                found = run_worker(variant, cases, args.launches, args.batches)
            for case, per_batch in found.items():
                if isinstance(per_batch, dict):  # unsupported, or failed
                    why = per_batch.get("unsupported") or f"failed: {per_batch.get('failed')}"
                    if (variant, case) not in unsupported:
                        unsupported[variant, case] = why
                        print(f"{variant:<13} case {case}: not measured ({why})", flush=True)
                    continue
                samples[variant, case].append(min(per_batch))
            print(
                f"round {round_ + 1}/{args.rounds} {variant:<13} "
                + ", ".join(
                    f"{c} {min(v):.2f}" for c, v in found.items() if not isinstance(v, dict)
                ),
                flush=True,
            )
        # What the rounds so far measured, in case the run is cut short.
        with open(args.out, "w") as f:
            json.dump(
                {
                    "partial": f"after round {round_ + 1} of {args.rounds}",
                    "samples_us": {f"{v}/{c}": s for (v, c), s in samples.items()},
                    "not_measured": {f"{v}/{c}": why for (v, c), why in unsupported.items()},
                },
                f,
                indent=2,
            )

    medians = {f"{v}/{c}": statistics.median(s) for (v, c), s in samples.items() if s}
    ratios = {}
    for c in cases:
        pairs = {
            "plain": ("active-plain", "stock-plain"),
            "lcs": ("active-lcs", "stock-lcs"),
            "speedup-plain": ("stock-plain", "active-plain"),
            "speedup-lcs": ("stock-lcs", "active-lcs"),
            "lcs-vs-plain": ("active-lcs", "active-plain"),
            "planner": ("active-planner", "stock-planner"),
            "planner-lcs": ("active-planner-lcs", "stock-lcs"),
            "planner-vs-plain": ("active-planner", "active-plain"),
        }
        if floor:
            pairs.update({f"{v}-vs-floor": (v, FLOOR) for v in VARIANTS})
        for name, (a, b) in pairs.items():
            # (the floor's figure for CuPy arrays: with the synchronisation)
            ratio = _ratio(medians, f"{a}/{c}", f"{b}/{floor_case(c) if b == FLOOR else c}")
            if ratio is not None:
                ratios[f"{name}/{c}"] = ratio
    for v in VARIANTS:
        # 16 arrays against the floor of as many parameters (5 per array)
        ratio = _ratio(medians, f"{v}/16", f"{FLOOR}/{as_passed}")
        if ratio is not None:
            ratios[f"{v}-vs-floor-as-passed/16"] = ratio
    for v in VARIANTS:
        ratio = _ratio(medians, f"{v}/1x8", f"{v}/1")
        if ratio is not None:
            ratios[f"{v}-alternating-vs-single"] = ratio

    try:
        import numba_cuda_mlir

        mlir_version = numba_cuda_mlir.__version__
    except Exception:
        mlir_version = None
    report = {
        "what": "µs per kernel[1, 1](...) launch, median over processes of the best batch",
        "gpu": c_floor.gpu(),
        "numba_cuda_mlir": mlir_version,
        "python": platform.python_version(),
        "rounds": args.rounds,
        "launches_per_batch": args.launches,
        "batches": args.batches,
        "cases": cases,
        "medians_us": medians,
        "samples_us": {f"{v}/{c}": s for (v, c), s in samples.items()},
        "not_measured": {f"{v}/{c}": why for (v, c), why in unsupported.items()},
        "c_floor": "measured" if floor else f"not measured: {why}",
        "ratios": ratios,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)

    def cell(key, width, digits=2):
        value = medians.get(key) if "/" in key and key in medians else ratios.get(key)
        return f"{value:{width}.{digits}f}" if value is not None else f"{'-':>{width}}"

    print()
    print(f"GPU {report['gpu']}")
    print(
        f"{'case':>5} {'stock':>8} {'active':>8} {'ratio':>6} {'speedup':>7}   "
        f"{'stock-lcs':>9} {'active-lcs':>10} {'ratio':>6}   "
        f"{'C floor':>8} {'active/floor':>12} {'lcs/floor':>9} {'lcs/plain':>9}"
    )
    for c in cases:
        print(
            f"{c:>5} {cell(f'stock-plain/{c}', 8)} {cell(f'active-plain/{c}', 8)} "
            f"{cell(f'plain/{c}', 6, 3)} {cell(f'speedup-plain/{c}', 7, 1)}   "
            f"{cell(f'stock-lcs/{c}', 9)} {cell(f'active-lcs/{c}', 10)} {cell(f'lcs/{c}', 6, 3)}   "
            f"{cell(f'{FLOOR}/{floor_case(c)}', 8)} {cell(f'active-plain-vs-floor/{c}', 12)} "
            f"{cell(f'active-lcs-vs-floor/{c}', 9)} {cell(f'lcs-vs-plain/{c}', 9, 3)}"
        )
    print(
        f"\nwith a planner registered: {'case':>5} {'stock':>8} {'active':>8} "
        f"{'ratio':>6} {'active/plain':>12}"
    )
    for c in cases:
        print(
            f"{'':27}{c:>5} {cell(f'stock-planner/{c}', 8)} {cell(f'active-planner/{c}', 8)} "
            f"{cell(f'planner/{c}', 6, 3)} {cell(f'planner-vs-plain/{c}', 12, 3)}"
        )
    print(f"\nplanner LC-S (cuda.coop's kind): {'case':>5} {'stock':>8} {'active':>8} {'ratio':>6}")
    for c in cases:
        print(
            f"{'':33}{c:>5} {cell(f'stock-lcs/{c}', 8)} {cell(f'active-planner-lcs/{c}', 8)} "
            f"{cell(f'planner-lcs/{c}', 6, 3)}"
        )
    if "active-plain-vs-floor-as-passed/16" in ratios:
        print(
            f"\n16 arrays against the C floor of {as_passed} ({cell(f'{FLOOR}/{as_passed}', 0)} us, "
            "as many parameters as numba-cuda-mlir's kernels take): "
            + ", ".join(
                f"{v} {ratios[f'{v}-vs-floor-as-passed/16']:.3f}"
                for v in VARIANTS
                if f"{v}-vs-floor-as-passed/16" in ratios
            )
        )
    for v in VARIANTS:
        if f"{v}-alternating-vs-single" in ratios:
            print(
                f"{v}: {ALTERNATING} configurations alternating / a single one: "
                f"{ratios[f'{v}-alternating-vs-single']:.3f}"
            )
    for (v, c), why in sorted(unsupported.items()):
        print(f"not measured: {v} case {c}: {why}")
    slower = [c for c in cases if ratios.get(f"plain/{c}", 0) > 1.05]
    if slower:
        print(f"WARNING: plain launches of cases {slower} are >5% slower with the package")
    print(f"written: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
