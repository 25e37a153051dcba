"""Each example's compile-only path, in a subprocess (no GPU needed; the GPU
path is run by scripts/run-examples.sh on a GPU machine)."""

import os
import subprocess
import sys

import pytest

EXAMPLES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "examples")
EXAMPLES = sorted(
    name[:-3]
    for name in os.listdir(EXAMPLES_DIR)
    if name.endswith(".py") and not name.startswith("_")
)
#: Examples on numba-cuda-mlir; they print "skipped: ..." where it is missing.
MLIR = {"numba_cuda_mlir_kernel"}
#: Examples whose compile-only path other tests run (with what they need).
TESTED_ELSEWHERE = {"dask_cluster_cache": "tests/cluster/test_dask_example.py"}


@pytest.fixture
def twins():
    """The examples run in their own processes: one run, not one per twin."""
    yield None


def test_every_example_is_listed():
    assert set(EXAMPLES) == {
        "block_size_rewrite",
        "launch_constants",
        "cupy_and_torch",
        "numba_cuda_mlir_kernel",
        "disk_cache",
        "inspection",
        "dask_cluster_cache",
    }


@pytest.mark.needs_compiler
@pytest.mark.parametrize("name", [n for n in EXAMPLES if n not in TESTED_ELSEWHERE])
def test_example_compile_only_path(name):
    proc = subprocess.run(
        [sys.executable, os.path.join(EXAMPLES_DIR, f"{name}.py"), "--compile-only"],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "Traceback" not in output
    if name in MLIR and "skipped:" in proc.stdout:
        assert "numba-cuda-mlir" in proc.stdout or "numba_cuda_mlir" in proc.stdout
        return
    assert proc.stdout.startswith("compile-only path"), output
    assert "  ok: " in proc.stdout and "FAILED" not in proc.stdout


def test_examples_document_how_to_run():
    for name in EXAMPLES:
        with open(os.path.join(EXAMPLES_DIR, f"{name}.py")) as f:
            doc = f.read()
        assert f"python examples/{name}.py" in doc, name
        assert "--compile-only" in doc and ("cc=(9, 0)" in doc or "--cc 9.0" in doc), name
