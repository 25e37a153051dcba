"""The numba-cuda-mlir launch-overhead benchmark, run end to end over the
stand-in CUDA driver (tests/support/fake_libcuda.c): every variant and
argument case is compiled, launched and reported, so a GPU run does not
fail on the script itself.  The figures mean nothing here (no kernel
runs); a GPU machine runs the benchmark for real (gpu-suite's mlir-bench)."""

import json
import os
import subprocess
import sys

import pytest
from support.installs import requires_numpy

pytestmark = requires_numpy

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "scripts", "bench-mlir-launch-overhead.py")


def run_over_stand_in(tmp_path, script, args, stage):
    """*script* with *args* in a child over the stand-in driver (skipped
    where a real driver is installed: gpu-suite.sh's *stage* runs it)."""
    pytest.importorskip("numba_cuda_mlir")
    from support import fake_driver

    if fake_driver.installed_driver():
        pytest.skip(f"a GPU machine runs this benchmark for real (gpu-suite.sh {stage})")
    return subprocess.run(
        [sys.executable, script] + args,
        env=fake_driver.child_env(fake_driver.build(tmp_path)),
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_every_variant_and_case_is_measured_and_reported(tmp_path):
    out = tmp_path / "bench.json"
    done = run_over_stand_in(
        tmp_path,
        SCRIPT,
        ["--rounds", "1", "--launches", "20", "--batches", "1", "--out", str(out)],
        "mlir-bench",
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(out.read_text())
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location("bench_mlir", SCRIPT)
    bench = module_from_spec(spec)
    spec.loader.exec_module(bench)
    measured = {"0", "1", "4", "16", "16s", "256s", "1x8"}  # no CuPy, PyTorch here
    for variant in bench.VARIANTS:
        for case in measured:
            assert f"{variant}/{case}" in report["medians_us"], (variant, case)
    assert report["ratios"]["plain/0"] > 0 and "planner-lcs/4" in report["ratios"]
    # what is not measured says why (CuPy and PyTorch missing; no real driver
    # for the C floor here)
    assert all(why for why in report["not_measured"].values())
    assert "GPU " in done.stdout and "written:" in done.stdout


STAND_IN_SCRIPT = os.path.join(ROOT, "scripts", "bench-stand-in-launch.py")


def test_the_stand_in_launch_benchmark_measures_every_variant(tmp_path):
    """scripts/bench-stand-in-launch.py: the CPU cost of a launch over the
    stand-in driver, stock, with the package and with pointers per parameter:
    every variant and case measured and written (figures not judged)."""
    pytest.importorskip("numba_cuda_mlir")
    from support import fake_driver

    if fake_driver.installed_driver():
        pytest.skip("the stand-in driver runs where there is no CUDA driver")
    out = tmp_path / "stand-in.json"
    done = subprocess.run(
        [sys.executable, STAND_IN_SCRIPT, "--rounds", "1", "--launches", "200"]
        + ["--cases", "0,4", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    medians = json.loads(out.read_text())["medians_us"]
    assert set(medians) == {"stock", "after", "after-pointers"}
    for variant in medians.values():
        assert set(variant) == {"0", "4"} and all(v > 0 for v in variant.values())
    assert "written:" in done.stdout


def test_the_stand_in_benchmark_measures_the_before_tree_it_is_given(tmp_path):
    """--before DIR: that tree's package is the one imported (a child run by
    "python -c" has its working directory first on sys.path, which would be
    this checkout's)."""
    pytest.importorskip("numba_cuda_mlir")
    from support import fake_driver

    if fake_driver.installed_driver():
        pytest.skip("the stand-in driver runs where there is no CUDA driver")
    before, mark = tmp_path / "before", tmp_path / "imported"
    (before / "numba_cuda_lcs").mkdir(parents=True)
    (before / "numba_cuda_lcs" / "__init__.py").write_text(
        "import os\nopen(os.environ['LCS_TEST_BEFORE_MARK'], 'a').write('x')\n"
    )
    done = subprocess.run(
        [sys.executable, STAND_IN_SCRIPT, "--rounds", "1", "--launches", "20"]
        + ["--cases", "0", "--before", str(before), "--json", str(tmp_path / "out.json")],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=ROOT,
        env=dict(os.environ, LCS_TEST_BEFORE_MARK=str(mark)),
    )
    assert done.returncode == 0, done.stderr[-4000:]
    assert mark.read_text() == "x"  # imported by the before variant's process only
    assert "before" in json.loads((tmp_path / "out.json").read_text())["medians_us"]


PAIRED_SCRIPT = os.path.join(ROOT, "scripts", "bench-paired.py")


def test_the_paired_benchmark_measures_every_comparison_in_pairs(tmp_path):
    """scripts/bench-paired.py over the stand-in driver (numba-cuda-mlir;
    numba-cuda needs calls the stand-in lacks): every comparison of every
    case is measured in as many pairs as asked, and summarised."""
    out = tmp_path / "paired.json"
    done = run_over_stand_in(
        tmp_path,
        PAIRED_SCRIPT,
        ["--rounds", "2", "--pairs", "3", "--launches", "20", "--compilers", "numba-cuda-mlir"]
        + ["--cases", "0,4", "--out", str(out)],
        "paired",
    )
    assert done.returncode == 0, done.stderr[-4000:]
    report = json.loads(out.read_text())
    expected = {
        f"numba-cuda-mlir/{name}"
        for name in (
            "lcs-vs-plain/0",
            "lcs-vs-plain/4",
            "planner-lcs-vs-plain/0",
            "planner-lcs-vs-plain/4",
            "alternating-vs-single/plain",
            "alternating-vs-single/lcs",
        )
    }
    assert set(report["summary"]) == expected, report["not_measured"]
    for entry in report["summary"].values():
        assert entry["pairs"] == 6  # 2 processes x 3 pairs
        assert entry["ratio_q1"] <= entry["ratio_median"] <= entry["ratio_q3"]
    # CuPy is not installed here: said so, not left out silently
    assert "numba-cuda-mlir/cupy-vs-own/4c" in report["not_measured"]
    assert "written:" in done.stdout


def test_the_overhead_table_compares_a_case_the_first_variant_lacks_with_the_next():
    # The C floor has no CuPy case: listed first, its absence must not drop
    # the other variants' CuPy rows from the table.
    from importlib.util import module_from_spec, spec_from_file_location

    spec = spec_from_file_location(
        "bench_overhead", os.path.join(ROOT, "scripts", "bench-launch-overhead.py")
    )
    bench = module_from_spec(spec)
    spec.loader.exec_module(bench)
    results = {
        "c-floor": {"overhead_us": {"4": [4.0, 4.0]}},
        "after": {"overhead_us": {"4": [5.0, 5.0], "4c": [9.0, 9.0]}},
        "before": {"overhead_us": {"4": [6.0, 6.0], "4c": [12.0, 12.0]}},
    }
    rows = {(r["variant"], r["args"]): r for r in bench.summarize(results, "c-floor")}
    assert rows["after", "4"]["base"] == "c-floor" and rows["after", "4"]["ratio"] == 1.25
    assert rows["before", "4c"]["base"] == "after" and rows["before", "4c"]["ratio"] == 12 / 9
    assert rows["after", "4c"]["median_ratio"] == 1.0
