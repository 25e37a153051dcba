"""scripts/plot-launch-overhead.py on results files of both benchmark
scripts (synthetic figures; the charts of real runs are committed under
benchmarks/results)."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("matplotlib", reason="the plot extra: pip install -e '.[plot]'")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "plot-launch-overhead.py")


def plot(tmp_path, report):
    results = tmp_path / "results.json"
    results.write_text(json.dumps(report))
    done = subprocess.run(
        [sys.executable, SCRIPT, str(results), "--output-dir", str(tmp_path / "plots")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return [line for line in done.stdout.splitlines() if line.endswith(".png")]


def test_the_numba_cuda_mlir_benchmark_is_charted_per_case(tmp_path):
    cases = ["0", "1", "4", "16", "16s", "256s", "4c", "1x8"]
    medians = {}
    for i, case in enumerate(cases):
        medians[f"stock-plain/{case}"] = 20.0 + i
        medians[f"active-plain/{case}"] = 5.0 + i
        if case not in ("4c", "1x8"):
            medians[f"c-floor/{case}"] = 4.0
    report = {
        "gpu": "NVIDIA H200, 580.159.04",
        "numba_cuda_mlir": "0.6.0",
        "python": "3.12.3",
        "cases": cases,
        "medians_us": medians,
        "ratios": {
            f"active-plain-vs-floor/{c}": medians[f"active-plain/{c}"] / 4.0 for c in cases[:6]
        },
    }
    written = plot(tmp_path, report)
    assert [os.path.basename(p) for p in written] == ["mlir-launch-overhead-nvidia-h200.png"]
    assert os.path.getsize(written[0]) > 10_000


def test_the_numba_cuda_benchmark_charts_every_array_count(tmp_path):
    overhead = {
        "0": [4.0, 4.2],
        "1": [4.5, 4.6],
        "4": [5.5, 5.4],
        "16": [9.0, 9.5],
        "16s": [5.0, 5.1],
    }
    report = {
        "gpu": "NVIDIA H200",
        "date": "2026-12-04",
        "environments": {
            "this": {
                "results": {
                    "stock": {
                        "overhead_us": {k: [v * 3 for v in vs] for k, vs in overhead.items()}
                    },
                    "plain": {"overhead_us": overhead},
                    "c-floor": {"overhead_us": {k: [3.8] for k in overhead}},
                }
            }
        },
    }
    written = plot(tmp_path, report)
    assert [os.path.basename(p) for p in written] == [
        "launch-overhead-nvidia-h200.png",
        "launch-overhead-delta-nvidia-h200.png",
        "launch-overhead-cases-nvidia-h200.png",  # the named case, 16s
    ]


def test_the_paired_benchmark_is_charted_per_comparison(tmp_path):
    summary = {
        f"{compiler}/{name}": {
            "pairs": 45,
            "ratio_median": 1.0 + i / 100,
            "ratio_q1": 0.99 + i / 100,
            "ratio_q3": 1.02 + i / 100,
            "baseline_us": 4.5,
            "subject_us": 4.5 * (1.0 + i / 100),
        }
        for compiler in ("numba-cuda", "numba-cuda-mlir")
        for i, name in enumerate(("lcs-vs-plain/0", "lcs-vs-plain/4", "cupy-vs-own/4c"))
    }
    report = {
        "gpu": "NVIDIA H200, 580.159.04",
        "rounds": 3,
        "pairs_per_process": 15,
        "launches_per_batch": 2000,
        "summary": summary,
    }
    written = plot(tmp_path, report)
    assert [os.path.basename(p) for p in written] == ["paired-ratios-nvidia-h200.png"]
    assert os.path.getsize(written[0]) > 10_000
