#!/usr/bin/env python3
"""Charts of a launch-overhead results file (the JSON that
scripts/bench-launch-overhead.py --output writes).

    python scripts/plot-launch-overhead.py launch-overhead.json [--output-dir plots/]

Writes, <gpu> being the GPU's name in lower case with dashes:

  launch-overhead-<gpu>.png        microseconds per launch against the number
                                   of kernel arguments, one bar per variant,
                                   error bars = standard deviation over repeats
  launch-overhead-delta-<gpu>.png  the same minus the first variant's mean
  launch-overhead-cases-<gpu>.png  the same for the named argument cases
                                   (scalars "16s", CuPy arrays "4c", PyTorch
                                   tensors "4t", the floor's "4sync"...; only
                                   when the file has some)
  launch-scenarios-<gpu>.png       microseconds per launch with 1, 2 and 8
                                   configurations alternating (only when the
                                   file has scenarios)

A file measured in several environments (--python NAME=INTERPRETER) gets one
bar per environment and variant.

A file from scripts/bench-mlir-launch-overhead.py --out (numba-cuda-mlir,
stock vs active and the C floor) gets instead

  mlir-launch-overhead-<gpu>.png   median µs per launch for each argument
                                   case, one bar per variant (log scale),
                                   the active plain kernel's ratio to the C
                                   floor written above its group

A file from scripts/bench-paired.py --out (ratios of adjacent batches in
one process) gets

  paired-ratios-<gpu>.png          each comparison's median per-pair ratio
                                   (subject / baseline), bars from the first
                                   to the third quartile, lines at 1.03 and
                                   1.05 (the LC-S and alternating targets)

Needs matplotlib (the "plot" extra).
"""

import argparse
import json
import math
import os
import re
import statistics
import sys

# A fixed colour per variant, so that a variant looks the same in every chart
# and in charts of different files.
VARIANT_COLORS = {
    "stock": "tab:blue",
    "plain": "tab:orange",
    "lcs": "tab:green",
    "builtin": "tab:red",
    "floor": "tab:gray",
}
SPARE_COLORS = ["tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan"]

SCENARIOS = (
    ("single_us", "one configuration"),
    ("alternating_2_us", "2 alternating"),
    ("alternating_8_us", "8 alternating"),
)


def slug(text):
    """'NVIDIA H200' -> 'nvidia-h200' (safe in a file name)."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-") or "unknown-gpu"


def mean_std(values):
    mean = statistics.mean(values)
    std = statistics.stdev(values) if len(values) > 1 else 0.0
    return mean, std


def load_series(report):
    """One series per (environment, variant), in the file's order.

    Means and deviations are computed from the per-repeat values, which every
    variant has (the summary rows hold the same numbers for "this" only when
    the script wrote them)."""
    envs = report.get("environments") or {}
    several = len(envs) > 1
    series = []
    for env_name, env in envs.items():
        for variant, res in (env.get("results") or {}).items():
            overhead = res.get("overhead_us") or {}
            if not overhead:
                continue
            # Array counts ("0".."16") and the named cases ("4s", "4c", ...)
            # are charted apart.
            stats = {
                int(n): mean_std(values) for n, values in overhead.items() if values and n.isdigit()
            }
            named = {
                n: mean_std(values) for n, values in overhead.items() if values and not n.isdigit()
            }
            series.append(
                {
                    "label": f"{env_name}: {variant}" if several else variant,
                    "variant": variant,
                    "stats": stats,
                    "named": named,
                    "scenarios": res.get("scenarios") or {},
                    "info": res,
                }
            )
    return series


def assign_colors(series):
    spare = iter(SPARE_COLORS * 4)
    fallback = {}
    for s in series:
        color = VARIANT_COLORS.get(s["variant"])
        if color is None:
            color = fallback.setdefault(s["variant"], next(spare))
        s["color"] = color
    # Environments beyond the first are hatched, so that the same variant in
    # two environments keeps its colour and still tells them apart.
    env_of = [s["label"].split(": ")[0] if ": " in s["label"] else "" for s in series]
    first_env = env_of[0] if env_of else ""
    hatches = ["", "//", "..", "xx", "\\\\"]
    env_order = list(dict.fromkeys(env_of))
    for s, env in zip(series, env_of):
        s["hatch"] = hatches[env_order.index(env) % len(hatches)] if env != first_env else ""


def subtitle(report, series):
    def versions(key):
        # Several environments may differ: show every value, in file order.
        # A variant without the key (numba-cuda-mlir's has no numba-cuda) adds nothing.
        seen = dict.fromkeys(str(s["info"][key]) for s in series if s["info"].get(key))
        return "/".join(seen) or "?"

    parts = [
        f"numba-cuda {versions('numba_cuda')}",
        f"Python {versions('python')}",
        f"numpy {versions('numpy')}",
        f"driver {report.get('driver') or versions('driver')}",
        "1x1 launch, mean ± std over repeats; lower is better",
    ]
    return " · ".join(parts)


def legend_rows(count):
    return math.ceil(count / min(count, 5))


def grouped_bars(ax, groups, series, values_of, label_values=False):
    """Bars for every series inside each group; values_of(series, group)
    returns (value, error) or None where the series has no value."""
    width = 0.8 / max(1, len(series))
    for i, s in enumerate(series):
        xs, ys, errs = [], [], []
        for g, group in enumerate(groups):
            got = values_of(s, group)
            if got is None:
                continue
            xs.append(g - 0.4 + width * (i + 0.5))
            ys.append(got[0])
            errs.append(got[1])
        ax.bar(
            xs,
            ys,
            width,
            # No error bars where there is no deviation (the scenarios hold
            # one mean each): zero-length caps would only look like noise.
            yerr=errs if any(errs) else None,
            capsize=2,
            label=s["label"],
            color=s["color"],
            hatch=s["hatch"],
            edgecolor="black",
            linewidth=0.4,
            error_kw={"elinewidth": 0.8},
        )
        if label_values:
            # Beyond the error bar's end, so the number never sits on it.
            for x, y, e in zip(xs, ys, errs):
                up = y >= 0
                ax.annotate(
                    f"{y:.1f}",
                    (x, y + e if up else y - e),
                    xytext=(0, 2 if up else -2),
                    textcoords="offset points",
                    ha="center",
                    va="bottom" if up else "top",
                    rotation=90,
                    fontsize=6,
                )
    ax.set_xticks(range(len(groups)))
    ax.grid(axis="y", alpha=0.3)
    ax.set_axisbelow(True)


#: What the named argument cases launch (bench-launch-overhead.py's cases).
CASE_LABELS = {
    "4s": "4 scalars",
    "16s": "16 float32",
    "256s": "256 float32",
    "4c": "4 CuPy arrays",
    "4t": "4 PyTorch tensors",
    "80p": "80 pointers",
    "112p": "112 pointers",
    "4sync": "sync + 4 pointers",
}


def plot_overhead(plt, report, series, groups, path, stats="stats"):
    """µs per launch for each group (array counts, or with stats="named" the
    named cases), one bar per variant."""
    fig, ax = plt.subplots(figsize=(11, 5.5))

    def values_of(s, n):
        return s[stats].get(n)

    grouped_bars(ax, groups, series, values_of, label_values=True)
    if stats == "stats":
        ax.set_xticklabels([str(n) for n in groups])
        ax.set_xlabel("kernel arguments (device arrays)")
    else:
        ax.set_xticklabels([f"{CASE_LABELS.get(n, n)}\n({n})" for n in groups], fontsize=8)
        ax.set_xlabel("kernel arguments (named cases)")
    ax.set_ylabel("µs per launch")
    # Head room for the rotated value labels and the legend above the
    # tallest bar.
    top = max(m + e for s in series for n, (m, e) in s[stats].items() if n in groups)
    ax.set_ylim(0, top * (1.12 + 0.08 * legend_rows(len(series))))
    ax.set_title(
        f"Kernel launch overhead — {report.get('gpu', '?')}, {report.get('date', '?')}\n{subtitle(report, series)}",
        fontsize=10,
    )
    ax.legend(ncol=min(len(series), 5), fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def named_case_order(case):
    """CASE_LABELS' order first, then any other case by name."""
    order = list(CASE_LABELS)
    return (order.index(case), "") if case in order else (len(order), case)


def plot_delta(plt, report, series, args_counts, path):
    base = series[0]
    others = series[1:]
    fig, ax = plt.subplots(figsize=(11, 5.5))

    def values_of(s, n):
        if n not in s["stats"] or n not in base["stats"]:
            return None
        mean, std = s["stats"][n]
        base_mean, base_std = base["stats"][n]
        # The difference of two independent means: their deviations add in
        # quadrature.
        return mean - base_mean, math.hypot(std, base_std)

    grouped_bars(ax, args_counts, others, values_of, label_values=True)
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_xticklabels([str(n) for n in args_counts])
    ax.set_xlabel("kernel arguments (device arrays)")
    ax.set_ylabel(f"µs per launch minus {base['label']}")
    lo, hi = ax.get_ylim()
    ax.set_ylim(lo - (hi - lo) * 0.12, hi + (hi - lo) * 0.12)
    ax.set_title(
        f"Launch overhead relative to {base['label']} — {report.get('gpu', '?')}, {report.get('date', '?')}\n"
        "mean difference per launch; error bars combine both deviations; below 0 is faster",
        fontsize=10,
    )
    ax.legend(ncol=min(len(others), 5), fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def plot_scenarios(plt, report, series, path):
    with_scen = [s for s in series if any(k in s["scenarios"] for k, _ in SCENARIOS)]
    fig, ax = plt.subplots(figsize=(8, 4.5))

    def values_of(s, key):
        value = s["scenarios"].get(key)
        # The script stores one mean per scenario, no deviation.
        return None if value is None else (value, 0.0)

    grouped_bars(ax, [k for k, _ in SCENARIOS], with_scen, values_of, label_values=True)
    ax.set_xticklabels([label for _, label in SCENARIOS])
    ax.set_xlabel("configurations of one 1-argument kernel, launched in turn")
    ax.set_ylabel("µs per launch")
    top = max(
        v for s in with_scen for k, _ in SCENARIOS if (v := s["scenarios"].get(k)) is not None
    )
    ax.set_ylim(0, top * 1.2)
    ax.set_title(
        f"Alternating launch configurations — {report.get('gpu', '?')}, {report.get('date', '?')}",
        fontsize=10,
    )
    ax.legend(ncol=min(len(with_scen), 5), fontsize=8, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


#: numba-cuda-mlir benchmark variants in the order they are drawn.
MLIR_VARIANTS = (
    ("c-floor", "C floor (cudaLaunchKernel loop)", "tab:gray"),
    ("stock-plain", "numba-cuda-mlir", "tab:blue"),
    ("active-plain", "numba-cuda-mlir + lcs", "tab:orange"),
    ("stock-lcs", "numba-cuda-mlir, planner LC-S", "tab:cyan"),
    ("active-lcs", "+ lcs, LC-S", "tab:green"),
    ("stock-planner", "numba-cuda-mlir, planner registered", "tab:purple"),
    ("active-planner", "+ lcs, planner registered", "tab:pink"),
    ("active-planner-lcs", "+ lcs, planner LC-S", "tab:olive"),
)


def plot_mlir(plt, report, path):
    """The numba-cuda-mlir benchmark's medians per case (see the module
    docstring)."""
    medians = report.get("medians_us") or {}
    cases = report.get("cases") or sorted({k.split("/", 1)[1] for k in medians})
    cases = [c for c in cases if any(k.endswith(f"/{c}") for k in medians)]  # measured ones
    series = [
        {"label": label, "variant": v, "color": color, "hatch": ""}
        for v, label, color in MLIR_VARIANTS
        if any(f"{v}/{c}" in medians for c in cases)
    ]

    def values_of(s, case):
        value = medians.get(f"{s['variant']}/{case}")
        return None if value is None else (value, 0.0)

    fig, ax = plt.subplots(figsize=(14, 5.5))
    grouped_bars(ax, cases, series, values_of, label_values=True)
    ratios = report.get("ratios") or {}
    # Each case, and below it the active plain kernel's ratio to the C floor.
    ax.set_xticklabels(
        [
            f"{case}\n{ratios[key]:.2f}× floor" if key in ratios else case
            for case, key in ((c, f"active-plain-vs-floor/{c}") for c in cases)
        ]
    )
    ax.set_yscale("log")
    ax.set_xlabel(
        "arguments: device arrays; s: float32 scalars; c: CuPy arrays; t: PyTorch tensors; 1x8: 8 configurations alternating"
    )
    ax.set_ylabel("µs per launch (median over processes; log scale)")
    ax.set_ylim(bottom=min(medians.values()) / 2, top=max(medians.values()) * 2)
    ax.set_title(
        f"numba-cuda-mlir launch overhead — {report.get('gpu') or '?'}\n"
        f"numba-cuda-mlir {report.get('numba_cuda_mlir', '?')} · Python "
        f"{report.get('python', '?')} · kernel[1, 1](...) per launch; lower is better",
        fontsize=10,
    )
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def plot_paired(plt, report, path):
    """bench-paired.py's per-pair ratios (see the module docstring)."""
    summary = report.get("summary") or {}
    keys = list(summary)
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(keys) + 1.8))
    rows = range(len(keys))
    medians = [summary[k]["ratio_median"] for k in keys]
    low = [summary[k]["ratio_median"] - summary[k]["ratio_q1"] for k in keys]
    high = [summary[k]["ratio_q3"] - summary[k]["ratio_median"] for k in keys]
    colors = ["tab:green" if k.startswith("numba-cuda-mlir/") else "tab:orange" for k in keys]
    ax.barh(rows, [m - 1 for m in medians], left=1, color=colors, xerr=[low, high], capsize=2)
    for row, key in zip(rows, keys):
        ax.text(
            max(medians[row], summary[key]["ratio_q3"]) + 0.01,
            row,
            f"{medians[row]:.3f}",
            va="center",
            fontsize=7,
        )
    for x, label in ((1.0, None), (1.03, "1.03"), (1.05, "1.05")):
        ax.axvline(
            x, color="black" if label is None else "gray", lw=0.8, ls="-" if label is None else "--"
        )
    ax.set_yticks(list(rows))
    ax.set_yticklabels(keys, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("subject / baseline, adjacent batches in one process (median, quartiles)")
    ax.set_title(
        f"paired launch-overhead ratios — {report.get('gpu') or '?'}\n"
        f"{report.get('rounds', '?')} processes × {report.get('pairs_per_process', '?')} pairs of "
        f"{report.get('launches_per_batch', '?')} launches; orange numba-cuda, green numba-cuda-mlir",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=150)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "results",
        help="results JSON from scripts/bench-launch-overhead.py --output, "
        "scripts/bench-mlir-launch-overhead.py --out or scripts/bench-paired.py --out",
    )
    parser.add_argument(
        "--output-dir", default="plots", help="where the PNG files go (default: plots/)"
    )
    args = parser.parse_args(argv)

    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: no display needed
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            "matplotlib is not installed: pip install matplotlib (or the package's extra: pip install -e '.[plot]')",
            file=sys.stderr,
        )
        return 2

    try:
        with open(args.results) as f:
            report = json.load(f)
    except (OSError, ValueError) as exc:
        print(f"cannot read {args.results}: {exc}", file=sys.stderr)
        return 1

    # The other scripts' files, told by a key only they write: one chart each.
    for key, name, plot in (
        ("pairs_per_process", "paired-ratios", plot_paired),  # bench-paired.py
        ("medians_us", "mlir-launch-overhead", plot_mlir),  # bench-mlir-launch-overhead.py
    ):
        if key in report:
            gpu = slug((report.get("gpu") or "unknown-gpu").split(",")[0])
            os.makedirs(args.output_dir, exist_ok=True)
            path = os.path.join(args.output_dir, f"{name}-{gpu}.png")
            plot(plt, report, path)
            print(path)
            return 0

    series = load_series(report)
    if not series:
        print(f"{args.results} holds no launch-overhead results", file=sys.stderr)
        return 1
    assign_colors(series)
    args_counts = sorted({n for s in series for n in s["stats"]})

    os.makedirs(args.output_dir, exist_ok=True)
    # (the GPU's name without the driver version some files add after a comma)
    gpu = slug((report.get("gpu") or series[0]["info"].get("gpu") or "unknown-gpu").split(",")[0])
    written = []

    path = os.path.join(args.output_dir, f"launch-overhead-{gpu}.png")
    plot_overhead(plt, report, series, args_counts, path)
    written.append(path)

    if len(series) > 1:
        path = os.path.join(args.output_dir, f"launch-overhead-delta-{gpu}.png")
        plot_delta(plt, report, series, args_counts, path)
        written.append(path)

    named = sorted({n for s in series for n in s["named"]}, key=named_case_order)
    if named:
        path = os.path.join(args.output_dir, f"launch-overhead-cases-{gpu}.png")
        plot_overhead(plt, report, series, named, path, stats="named")
        written.append(path)

    if any(k in s["scenarios"] for s in series for k, _ in SCENARIOS):
        path = os.path.join(args.output_dir, f"launch-scenarios-{gpu}.png")
        plot_scenarios(plt, report, series, path)
        written.append(path)

    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
