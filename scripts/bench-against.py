#!/usr/bin/env python3
"""Launch overhead of two git refs of this repository, side by side.

    python scripts/bench-against.py main HEAD [--loops N] [--repeats N]
                                    [--variants stock,lcs] [--output compare.json]
    python scripts/bench-against.py --compare a.json b.json [--output compare.json]

For each ref: a detached git worktree in a temporary directory, the C
extension built in place there, and that worktree's own
scripts/bench-launch-overhead.py run with PYTHONPATH pointing at the worktree,
so that the ref's numba_cuda_lcs is the one imported (by this interpreter,
with its installed numba-cuda).  The worktree is removed afterwards, also when
something fails.  Then a table per variant and argument count: mean A, mean B
and B/A (below 1: B launches faster).

--compare only compares two results files that exist already (no GPU needed).

Exit status: 2 without a CUDA GPU (the benchmark itself needs one; argparse
also exits 2 on a usage error), the benchmark's own status when it failed
otherwise, 1 on any other failure.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH = os.path.join("scripts", "bench-launch-overhead.py")
# What bench-launch-overhead.py prints when the machine has no GPU.
NO_GPU_MARK = "no cuda gpu"
# Scenario entries that are microseconds per launch (comparable as ratios).
SCENARIO_KEYS = {
    "single_us": "1 config",
    "alternating_2_us": "2 alternating",
    "alternating_8_us": "8 alternating",
}


class Failed(Exception):
    """A step failed; .code is the exit status to leave with."""

    def __init__(self, message, code=1):
        super().__init__(message)
        self.code = code


# ---------------------------------------------------------------------------
# Comparison of two results files
# ---------------------------------------------------------------------------


def _mean_std(values):
    return statistics.mean(values), (statistics.stdev(values) if len(values) > 1 else 0.0)


def compare_reports(report_a, report_b):
    """Rows comparing two bench-launch-overhead.py reports.

    Environments, variants and argument counts present in both are compared,
    in A's order.  Each row: environment, variant, args, mean/std of A and B
    (µs per launch) and ratio = mean B / mean A.  Scenario rows have
    ``args`` None and ``scenario`` set (one mean each, no deviation)."""
    rows = []
    envs_b = report_b.get("environments") or {}
    for env, data_a in (report_a.get("environments") or {}).items():
        if env not in envs_b:
            continue
        results_a = data_a.get("results") or {}
        results_b = envs_b[env].get("results") or {}
        for variant, res_a in results_a.items():
            res_b = results_b.get(variant)
            if res_b is None:
                continue
            over_a = res_a.get("overhead_us") or {}
            over_b = res_b.get("overhead_us") or {}
            for n in sorted(set(over_a) & set(over_b), key=int):
                mean_a, std_a = _mean_std(over_a[n])
                mean_b, std_b = _mean_std(over_b[n])
                rows.append(
                    {
                        "environment": env,
                        "variant": variant,
                        "args": int(n),
                        "scenario": None,
                        "mean_a_us": mean_a,
                        "std_a_us": std_a,
                        "mean_b_us": mean_b,
                        "std_b_us": std_b,
                        "ratio": mean_b / mean_a,
                    }
                )
            scen_a = res_a.get("scenarios") or {}
            scen_b = res_b.get("scenarios") or {}
            for key in SCENARIO_KEYS:
                if key in scen_a and key in scen_b:
                    rows.append(
                        {
                            "environment": env,
                            "variant": variant,
                            "args": None,
                            "scenario": key,
                            "mean_a_us": scen_a[key],
                            "std_a_us": None,
                            "mean_b_us": scen_b[key],
                            "std_b_us": None,
                            "ratio": scen_b[key] / scen_a[key],
                        }
                    )
    return rows


def _gpu(report):
    return report.get("gpu") or "?"


def print_comparison(rows, label_a, label_b, report_a, report_b, out=sys.stdout):
    print(f"\nA = {label_a}  ({_gpu(report_a)}, {report_a.get('date', '?')})", file=out)
    print(f"B = {label_b}  ({_gpu(report_b)}, {report_b.get('date', '?')})", file=out)
    if _gpu(report_a) != _gpu(report_b):
        print(
            "note: A and B were measured on different GPUs; the ratios mix machine and code.",
            file=out,
        )
    if not rows:
        print("nothing to compare: no environment, variant and argument count in both", file=out)
        return
    for env in dict.fromkeys(r["environment"] for r in rows):
        print(f"\n== environment {env}: µs per launch, B/A below 1 means B is faster", file=out)
        print(
            f"{'variant':9s} {'args':>13s} {'mean A':>9s} {'std A':>7s} {'mean B':>9s} {'std B':>7s} {'B/A':>7s}",
            file=out,
        )
        for r in rows:
            if r["environment"] != env:
                continue
            what = str(r["args"]) if r["scenario"] is None else SCENARIO_KEYS[r["scenario"]]
            std_a = "" if r["std_a_us"] is None else f"{r['std_a_us']:.2f}"
            std_b = "" if r["std_b_us"] is None else f"{r['std_b_us']:.2f}"
            print(
                f"{r['variant']:9s} {what:>13s} {r['mean_a_us']:9.2f} {std_a:>7s} "
                f"{r['mean_b_us']:9.2f} {std_b:>7s} {r['ratio']:7.3f}",
                file=out,
            )


def load_report(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError) as exc:
        raise Failed(f"cannot read results file {path}: {exc}") from None


# ---------------------------------------------------------------------------
# Measuring a ref in a temporary worktree
# ---------------------------------------------------------------------------


def _git(root, *args):
    proc = subprocess.run(["git", "-C", root, *args], capture_output=True, text=True)
    if proc.returncode != 0:
        raise Failed(f"git {' '.join(args)} failed: {proc.stderr.strip()}")
    return proc.stdout.strip()


def _build_extension(python, worktree, ref):
    """Build numba_cuda_lcs._tls in place.  The extension is optional in
    setup.py (the pure-Python twin takes over), so a build that only skipped
    it still succeeds: say so, since it changes what is measured."""
    proc = subprocess.run(
        [python, "setup.py", "-q", "build_ext", "--inplace"],
        cwd=worktree,
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-20:])
        raise Failed(f"{ref}: building the C extension failed:\n{tail}")
    package = os.path.join(worktree, "numba_cuda_lcs")
    built = any(
        name.startswith("_tls") and name.endswith((".so", ".pyd")) for name in os.listdir(package)
    )
    if not built:
        print(
            f"[{ref}] warning: the C extension did not build; the pure-Python TLS twin is measured",
            file=sys.stderr,
        )
    return "c" if built else "python"


def _check_import(python, worktree, env, ref):
    """The ref's package must be the one imported, not an installed copy (an
    editable install's finder could otherwise win).  Run outside the
    worktree: "python -c" puts the working directory on sys.path, which the
    benchmark (run as a script) does not have."""
    proc = subprocess.run(
        [
            python,
            "-c",
            "import os, numba_cuda_lcs; print(os.path.dirname(os.path.abspath(numba_cuda_lcs.__file__)))",
        ],
        cwd=os.path.dirname(worktree),
        env=env,
        capture_output=True,
        text=True,
    )
    expected = os.path.realpath(os.path.join(worktree, "numba_cuda_lcs"))
    got = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    if proc.returncode != 0 or os.path.realpath(got) != expected:
        detail = (
            proc.stderr.strip().splitlines()[-1:] if proc.returncode else [f"imported from {got}"]
        )
        raise Failed(f"{ref}: cannot import the worktree's numba_cuda_lcs ({'; '.join(detail)})")


def _run_bench(python, worktree, env, bench_args, output, ref):
    """Run the worktree's benchmark; its stdout and stderr go straight to
    ours, and stderr is also kept to tell "no GPU" from other failures."""
    cmd = [python, os.path.join(worktree, BENCH), *bench_args, "--output", output]
    print(f"[{ref}] {' '.join(cmd)}", file=sys.stderr, flush=True)
    proc = subprocess.Popen(
        cmd, cwd=worktree, env=env, stderr=subprocess.PIPE, text=True, bufsize=1
    )
    err_lines = []
    try:
        for line in proc.stderr:
            sys.stderr.write(line)
            err_lines.append(line)
        code = proc.wait()
    except BaseException:
        # Interrupted (Ctrl-C): stop the benchmark before its worktree goes.
        proc.kill()
        proc.wait()
        raise
    if code == 0:
        return
    if code == 2 and any(NO_GPU_MARK in line.lower() for line in err_lines):
        raise Failed(
            f"No CUDA GPU on this machine: {BENCH} of {ref} exited 2 (it needs a GPU). "
            "Run bench-against on a machine with one, or compare existing results with --compare A.json B.json.",
            code=2,
        )
    raise Failed(f"{ref}: {BENCH} failed (exit {code})", code=code if code > 0 else 1)


def measure_ref(root, python, ref, bench_args):
    """Benchmark *ref* in a temporary worktree; returns (commit, tls, report)."""
    try:
        commit = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}")
    except Failed:
        raise Failed(f"{ref!r} is not a commit of {root}") from None
    tmp = tempfile.mkdtemp(prefix="bench-against-")
    worktree = os.path.join(tmp, "worktree")
    added = False
    try:
        _git(root, "worktree", "add", "--quiet", "--detach", worktree, commit)
        added = True
        if not os.path.exists(os.path.join(worktree, BENCH)):
            raise Failed(f"{ref} ({commit[:10]}) has no {BENCH}")
        tls = _build_extension(python, worktree, ref)
        env = dict(os.environ)
        # The worktree first, so that its numba_cuda_lcs (and start-up hook
        # module) shadow whatever this interpreter has installed.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (worktree, env.get("PYTHONPATH")) if p)
        _check_import(python, worktree, env, ref)
        output = os.path.join(tmp, "results.json")
        _run_bench(python, worktree, env, bench_args, output, ref)
        return commit, tls, load_report(output)
    finally:
        if added:
            proc = subprocess.run(
                ["git", "-C", root, "worktree", "remove", "--force", worktree],
                capture_output=True,
                text=True,
            )
            if proc.returncode != 0:
                print(
                    f"[{ref}] git worktree remove failed ({proc.stderr.strip()}); deleting it",
                    file=sys.stderr,
                )
        shutil.rmtree(tmp, ignore_errors=True)
        if added:
            # Drops the worktree's record if "remove" could not.
            subprocess.run(["git", "-C", root, "worktree", "prune"], capture_output=True)


def _bench_args(args):
    """Only the options given are passed on, so each ref's benchmark keeps
    its own defaults."""
    out = []
    for name in ("loops", "loops4", "repeats", "variants"):
        value = getattr(args, name)
        if value is not None:
            out += [f"--{name}", str(value)]
    if args.no_scenarios:
        out.append("--no-scenarios")
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("refs", nargs="*", metavar="REF", help="two git refs: A (baseline) and B")
    parser.add_argument(
        "--compare",
        nargs=2,
        metavar=("A.json", "B.json"),
        help="only compare two existing results files",
    )
    parser.add_argument("--loops", type=int, help="passed to bench-launch-overhead.py")
    parser.add_argument("--loops4", type=int, help="passed to bench-launch-overhead.py")
    parser.add_argument("--repeats", type=int, help="passed to bench-launch-overhead.py")
    parser.add_argument(
        "--variants", help="passed to bench-launch-overhead.py (e.g. stock,plain,lcs)"
    )
    parser.add_argument(
        "--no-scenarios", action="store_true", help="passed to bench-launch-overhead.py"
    )
    parser.add_argument("--output", help="write both reports and the comparison here (JSON)")
    args = parser.parse_args(argv)

    if args.compare and args.refs:
        parser.error("give either two refs or --compare A.json B.json, not both")
    if not args.compare and len(args.refs) != 2:
        parser.error("give two git refs (A B), or --compare A.json B.json")

    try:
        if args.compare:
            sides = []
            for path in args.compare:
                sides.append(
                    {"label": path, "file": os.path.abspath(path), "report": load_report(path)}
                )
        else:
            root = _git(os.path.dirname(os.path.abspath(__file__)), "rev-parse", "--show-toplevel")
            sides = []
            for ref in args.refs:
                commit, tls, report = measure_ref(root, sys.executable, ref, _bench_args(args))
                sides.append(
                    {
                        "label": f"{ref} ({commit[:10]}, {tls} TLS)",
                        "ref": ref,
                        "commit": commit,
                        "tls": tls,
                        "report": report,
                    }
                )
    except Failed as exc:
        print(f"bench-against: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        print("bench-against: interrupted", file=sys.stderr)
        return 130

    a, b = sides
    rows = compare_reports(a["report"], b["report"])
    print_comparison(rows, a["label"], b["label"], a["report"], b["report"])
    if args.output:
        combined = {"date": time.strftime("%Y-%m-%d %H:%M:%S"), "a": a, "b": b, "comparison": rows}
        with open(args.output, "w") as f:
            json.dump(combined, f, indent=1)
        print(f"\nwrote {args.output}")
    return 0 if rows else 1


if __name__ == "__main__":
    sys.exit(main())
