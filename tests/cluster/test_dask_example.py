"""The Dask example without a GPU: a real ``LocalCluster`` of worker
processes, numba-cuda-mlir compiling what each launch would run for compute
capability 9.0 (``--compile-only --cc 9.0``).  Needs dask[distributed] (the
``dask`` extra); skipped without it.  The GPU run, with launches, is in
test_cluster_gpu.py."""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("numba_cuda_mlir")
pytest.importorskip("dask.distributed", reason="needs dask[distributed] (the dask extra)")

import numba_cuda_lcs  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "dask_cluster_cache.py")
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(numba_cuda_lcs.__file__)))


def test_dask_workers_compile_each_configuration_once_compile_only(tmp_path):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([PACKAGE_PARENT, env.get("PYTHONPATH", "")])
    env.pop("NUMBA_CUDA_LCS_DISABLE", None)
    done = subprocess.run(
        [
            sys.executable,
            EXAMPLE,
            "--workers",
            "3",
            "--blocks",
            "32,64,128,256",
            "--compiler",
            "numba-cuda-mlir",
            "--compile-only",
            "--cc",
            "9.0",
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LCS-DASK ")]
    assert lines, done.stdout + done.stderr
    result = json.loads(lines[-1][len("LCS-DASK ") :])
    assert len(result["workers"]) == 3
    assert result["compiles"] == 4 and result["cache_loads"] == 8, result
    assert done.returncode == 0
