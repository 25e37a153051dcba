#!/usr/bin/env python
"""Paired launch-overhead ratios: two kernels in one process, batch against
batch.

``bench-launch-overhead.py`` and ``bench-mlir-launch-overhead.py`` time
each variant (stock, active, ...) in processes of its own, interleaved.  On
a shared machine whole processes drift by tens of per cent (the H200 run of
2026-12-04: one kernel's five processes took 9.9-16.2 µs per launch), which
swamps the few per cent that targets such as "an LC-S kernel launches
within 1.03x of a plain one" are about.  Here the two launches a target
compares run in the same process, with the package active, in alternating
batches (which goes first drawn per pair); each ratio divides adjacent
batches, so drift slower than a batch cancels.  Reported: the median ratio
over all pairs of all processes with its quartiles, the median µs per
launch of each side, and the C floor of the same cases (measured between
the processes) for the ratios to it.  Each launch is ``kernel[1, block](args)``
-- configured at every launch, as alternating configurations must be --
so the µs and the ratios to the floor include configuring; the floor
comparisons of the targets are ``bench-launch-overhead.py``'s (configured
once).

Comparisons (baseline -> subject), each compiler in its own processes:

  lcs-vs-plain/CASE       the plain kernel -> the same kernel reading
                          ``numba_cuda_lcs.launch.threads_per_block()``
                          (launch-config sensitive on the block size)
  planner-lcs-vs-plain/CASE
                          (numba-cuda-mlir) the plain kernel -> a kernel a
                          planner made launch-dependent with
                          require_launch_config (cuda.coop's kind), the
                          planner registered throughout
  alternating-vs-single/plain, alternating-vs-single/lcs
                          one configuration, kernel[1, 32] -> 8 in turn,
                          kernel[1, 32 * k] for k = 1..8 (an LC-S kernel is
                          compiled and cached per configuration)
  cupy-vs-own/4c          four arrays of the compiler's class -> four CuPy
                          arrays (plain kernels; when CuPy is installed)
  cupy-nosync-vs-own/4c   (numba-cuda-mlir) the same, CuPy's side with
                          NUMBA_CUDA_ARRAY_INTERFACE_SYNC off: without the
                          stream synchronisation numba-cuda-mlir does before
                          each launch with CuPy arrays

CASE is one of --cases (default 0, 4, 16, 256s).  Every launch is
``kernel[1, block](*args)``; a batch is --launches launches and one
synchronize.  Figures, not assertions:

    python scripts/bench-paired.py --rounds 3 --out paired.json

Needs a GPU (or the stand-in driver of tests/support, where the figures
mean nothing).
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
import c_floor  # noqa: E402  (benchmarks/c_floor)
import launch_cases  # noqa: E402  (benchmarks/launch_cases.py)

COMPILERS = ("numba-cuda", "numba-cuda-mlir")
CASES = ("0", "4", "16", "256s")
#: the cases a comparison can take (4c-nosync and 1x8 are comparisons' own)
PAIRED_CASES = tuple(c for c in launch_cases.CASES if c not in ("4c-nosync", "1x8"))
FLOOR = "c-floor"
PLANNED_PREFIX = "planned_"  # kernels the benchmark's planner makes launch-dependent


class Side:
    """One side of a comparison: *kernel* launched with *args* in *blocks*
    (one block size each, in turn), with NUMBA_CUDA_ARRAY_INTERFACE_SYNC
    set to *cai_sync* while it runs (None: left as it is)."""

    def __init__(self, kernel, args, blocks=(1,), cai_sync=None):
        self.kernel, self.args, self.blocks, self.cai_sync = kernel, args, tuple(blocks), cai_sync


def _config(compiler):
    """The compiler's config module (NUMBA_CUDA_ARRAY_INTERFACE_SYNC)."""
    if compiler == "numba-cuda-mlir":
        from numba_cuda_mlir.numba_cuda.core import config
    else:
        from numba.cuda.core import config
    return config


def _batch(cuda, config, side, launches):
    """µs per launch of *launches* launches of *side*, synchronized once."""
    saved = config.CUDA_ARRAY_INTERFACE_SYNC
    if side.cai_sync is not None:
        config.CUDA_ARRAY_INTERFACE_SYNC = side.cai_sync
    try:
        kernel, args, blocks = side.kernel, side.args, side.blocks
        rounds = max(1, launches // len(blocks))
        started = time.perf_counter()
        if len(blocks) == 1:
            block = blocks[0]
            for _ in range(rounds):
                kernel[1, block](*args)
        else:
            for _ in range(rounds):
                for block in blocks:
                    kernel[1, block](*args)
        cuda.synchronize()
        return (time.perf_counter() - started) / (rounds * len(blocks)) * 1e6
    finally:
        config.CUDA_ARRAY_INTERFACE_SYNC = saved


def _comparisons(compiler, cuda, launch, cases):
    """Name -> (baseline Side, subject Side), and name -> why not measured."""
    kernel = launch_cases.kernel
    found, skipped = {}, {}
    mlir = compiler == "numba-cuda-mlir"
    for case in cases:
        args = launch_cases.arguments(case, cuda)
        plain = kernel(cuda, launch, case, len(args), lcs=False, prefix="plain_")
        lcs = kernel(cuda, launch, case, len(args), lcs=True, prefix="lcs_")
        found[f"lcs-vs-plain/{case}"] = (Side(plain, args), Side(lcs, args))
        if mlir:
            planned = kernel(cuda, launch, case, len(args), lcs=False, prefix=PLANNED_PREFIX)
            found[f"planner-lcs-vs-plain/{case}"] = (Side(plain, args), Side(planned, args))
    one = launch_cases.arguments("1", cuda)
    alternating = launch_cases.ALTERNATING_BLOCKS
    for lcs in (False, True):
        k = kernel(cuda, launch, "1x8", 1, lcs=lcs, prefix="lcs_" if lcs else "plain_")
        found[f"alternating-vs-single/{'lcs' if lcs else 'plain'}"] = (
            Side(k, one, alternating[:1]),
            Side(k, one, alternating),
        )
    try:
        cupy_args = launch_cases.arguments("4c", cuda)
    except ImportError as exc:
        skipped["cupy-vs-own/4c"] = f"{type(exc).__name__}: {exc}"
    else:
        own = launch_cases.arguments("4", cuda)
        own_kernel = kernel(cuda, launch, "4", 4, lcs=False, prefix="own_")
        found["cupy-vs-own/4c"] = (
            Side(own_kernel, own),
            Side(kernel(cuda, launch, "4c", 4, lcs=False, prefix="cupy_"), cupy_args),
        )
        if mlir:
            # a kernel of its own: a launch site remembers the setting its
            # plan was made with
            nosync = kernel(cuda, launch, "4c", 4, lcs=False, prefix="cupy_nosync_")
            found["cupy-nosync-vs-own/4c"] = (
                Side(own_kernel, own),
                Side(nosync, cupy_args, cai_sync=0),
            )
    return found, skipped


def worker(compiler, cases, launches, pairs, seed):
    """Name -> {"baseline_us": [...], "subject_us": [...]} for this process
    (adjacent batches at the same index), or {"unsupported": why}."""
    import warnings

    warnings.simplefilter("ignore")
    import numba_cuda_lcs
    from numba_cuda_lcs import launch

    if not numba_cuda_lcs.is_active():
        raise SystemExit(f"numba-cuda-lcs is not active: {numba_cuda_lcs.inactive_reason()}")
    if compiler == "numba-cuda-mlir":
        from numba_cuda_mlir import cuda
        from numba_cuda_mlir._whole_function_planners import (
            WholeFunctionPlanner,
            register_planner,
            require_launch_config,
        )

        class RequireLaunch(WholeFunctionPlanner):
            """Makes the benchmark's planned_* kernels launch-dependent."""

            def run(self):
                name = self.state.func_ir.func_id.func_name
                if not self.is_device_function and name.startswith(PLANNED_PREFIX):
                    require_launch_config(self.state)
                return False

        register_planner(RequireLaunch)
    else:
        from numba import cuda
    config = _config(compiler)
    comparisons, skipped = _comparisons(compiler, cuda, launch, cases)
    results = {name: {"unsupported": why} for name, why in skipped.items()}
    rng = random.Random(seed)
    live = {}
    for name, sides in comparisons.items():
        try:  # compile and warm up both sides
            for side in sides:
                for _ in range(3):
                    _batch(cuda, config, side, 100)
        except Exception as exc:  # what the compiler refuses: reported
            results[name] = {"unsupported": f"{type(exc).__name__}: {exc}"[:500]}
            continue
        live[name] = sides
        results[name] = {"baseline_us": [], "subject_us": []}
    # Pairs of every comparison in turn (one comparison's pairs spread over
    # the process's run, like the others').
    for _ in range(pairs):
        for name, (baseline, subject) in live.items():
            first_baseline = rng.random() < 0.5
            for side in (baseline, subject) if first_baseline else (subject, baseline):
                key = "baseline_us" if side is baseline else "subject_us"
                results[name][key].append(_batch(cuda, config, side, launches))
    return results


def run_worker(compiler, cases, launches, pairs, seed):
    env = dict(os.environ)
    env.pop("NUMBA_CUDA_LCS_DISABLE", None)
    proc = subprocess.run(
        [sys.executable, __file__, "--worker", compiler, ",".join(cases)]
        + ["--launches", str(launches), "--pairs", str(pairs), "--seed", str(seed)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        print(f"{compiler}: the worker failed:\n{proc.stderr[-4000:]}", file=sys.stderr)
        return {"failed": f"worker exit {proc.returncode}: {proc.stderr.strip()[-300:]}"}
    return json.loads(lines[-1])


def _quartiles(values):
    if len(values) < 2:
        return values[0], values[0]
    q = statistics.quantiles(values, n=4, method="inclusive")
    return q[0], q[2]


def floor_cases(compiler, name):
    """The C floor's cases of comparison *name*'s (baseline, subject)
    launches on *compiler*."""
    kind, case = name.split("/")
    if kind.startswith("alternating"):
        return "1", "1"
    if case == "4c":  # own arrays, then CuPy's: numba-cuda-mlir synchronises
        cupy = "4c-nosync" if "nosync" in kind else "4c"
        return "4", c_floor.MLIR_CUPY_FLOOR[cupy] if compiler == "numba-cuda-mlir" else "4"
    return case, case


def summarise(collected, floors):
    """Per compiler and comparison: the median and quartiles of the per-pair
    ratios, each side's median µs, and each side's median over the C floor
    of its case where there is one."""
    summary = {}
    for compiler, comparisons in collected.items():
        for name, data in comparisons.items():
            if not data["baseline_us"]:
                continue
            ratios = [s / b for b, s in zip(data["baseline_us"], data["subject_us"])]
            low, high = _quartiles(ratios)
            entry = {
                "pairs": len(ratios),
                "ratio_median": statistics.median(ratios),
                "ratio_q1": low,
                "ratio_q3": high,
                "baseline_us": statistics.median(data["baseline_us"]),
                "subject_us": statistics.median(data["subject_us"]),
            }
            base_case, subject_case = floor_cases(compiler, name)
            if floors.get(base_case) and floors.get(subject_case):
                entry["c_floor_case"] = subject_case
                entry["c_floor_us"] = statistics.median(floors[subject_case])
                entry["subject_vs_floor"] = entry["subject_us"] / entry["c_floor_us"]
                entry["baseline_vs_floor"] = entry["baseline_us"] / statistics.median(
                    floors[base_case]
                )
            summary[f"{compiler}/{name}"] = entry
    return summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="processes per compiler")
    parser.add_argument("--pairs", type=int, default=15, help="pairs of batches per process")
    parser.add_argument("--launches", type=int, default=2000, help="launches per batch")
    parser.add_argument(
        "--compilers",
        type=launch_cases.comma_separated(COMPILERS),
        default=list(COMPILERS),
        help=f"comma-separated subset of {','.join(COMPILERS)}",
    )
    parser.add_argument(
        "--cases",
        type=launch_cases.comma_separated(PAIRED_CASES),
        default=list(CASES),
        help=f"comma-separated cases of launch_cases.py (default {','.join(CASES)})",
    )
    parser.add_argument("--out", default="paired.json")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--worker", nargs=2, metavar=("COMPILER", "CASES"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        compiler, cases = args.worker
        result = worker(compiler, cases.split(","), args.launches, args.pairs, args.seed)
        print(json.dumps(result))
        return 0

    binary, why = c_floor.build()
    if binary is None:
        print(f"c-floor: not measured ({why})", flush=True)
    floor_cases = [c for c in dict.fromkeys([*args.cases, "1", "4", "4sync"]) if c in c_floor.CASES]
    collected = {c: {} for c in args.compilers}
    failed, unsupported = {}, {}
    floors = {case: [] for case in floor_cases}
    order = list(args.compilers)
    rng = random.Random(args.seed)
    for round_ in range(args.rounds):
        rng.shuffle(order)
        for compiler in order:
            found = run_worker(compiler, args.cases, args.launches, args.pairs, args.seed + round_)
            if "failed" in found:
                failed.setdefault(compiler, found["failed"])
                continue
            for name, data in found.items():
                if "unsupported" in data:
                    unsupported.setdefault(f"{compiler}/{name}", data["unsupported"])
                    continue
                into = collected[compiler].setdefault(name, {"baseline_us": [], "subject_us": []})
                into["baseline_us"] += data["baseline_us"]
                into["subject_us"] += data["subject_us"]
            print(
                f"round {round_ + 1}/{args.rounds} {compiler}: {len(found)} comparisons", flush=True
            )
        if binary is not None:
            for case in floor_cases:
                try:
                    floors[case].append(min(c_floor.run(binary, case, args.launches, 3)))
                except RuntimeError as exc:
                    unsupported.setdefault(f"{FLOOR}/{case}", str(exc)[-300:])
    floors = {case: values for case, values in floors.items() if values}
    summary = summarise(collected, floors)
    try:
        import numba_cuda_lcs

        lcs_version = numba_cuda_lcs.__version__
    except Exception:
        lcs_version = None
    report = {
        "what": "per-pair ratios subject/baseline of adjacent batches in one process "
        "(package active); µs per kernel[1, block](...) launch",
        "gpu": c_floor.gpu(),
        "numba_cuda_lcs": lcs_version,
        "python": platform.python_version(),
        "rounds": args.rounds,
        "pairs_per_process": args.pairs,
        "launches_per_batch": args.launches,
        "summary": summary,
        "c_floor_us": floors,
        "samples": collected,
        "not_measured": unsupported,
        "failed": failed,
    }
    with open(args.out, "w") as f:
        json.dump(report, f, indent=2)

    print(f"\nGPU {report['gpu']}")
    print(
        f"{'compiler/comparison':<50} {'ratio':>6} {'q1':>6} {'q3':>6} {'pairs':>5} "
        f"{'base µs':>8} {'subj µs':>8} {'floor':>6} {'subj/floor':>10}"
    )
    for key, e in summary.items():
        floor = f"{e['c_floor_us']:6.2f} {e['subject_vs_floor']:10.2f}" if "c_floor_us" in e else ""
        print(
            f"{key:<50} {e['ratio_median']:6.3f} {e['ratio_q1']:6.3f} {e['ratio_q3']:6.3f} "
            f"{e['pairs']:5d} {e['baseline_us']:8.2f} {e['subject_us']:8.2f} {floor}"
        )
    for key, why in sorted({**unsupported, **failed}.items()):
        print(f"not measured: {key}: {why}")
    print(f"written: {args.out}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
