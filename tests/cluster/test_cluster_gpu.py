"""Many processes, one disk cache, real launches on a GPU, both compilers:
processes started together compile each configuration once in total; warm
(the CLI) then a fresh process launches every warmed configuration with no
compile; the Dask example (``examples/dask_cluster_cache.py``) compiles each
configuration once over all its workers.

Run on a GPU machine (see docs/running-at-scale.md for the exact commands):
``python -m pytest -q -p no:cacheprovider tests/cluster``.
"""

import importlib.util
import json
import os
import subprocess
import sys
import time

import pytest
from support import cluster

pytestmark = pytest.mark.gpu

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
EXAMPLE = os.path.join(ROOT, "examples", "dask_cluster_cache.py")
TIMEOUT = 600
BLOCKS = [32, 64, 96, 128, 192, 256, 512, 1024]

KERNELS = {
    "numba-cuda": """\
from numba import cuda
from numba.cuda import types

from numba_cuda_lcs import launch


@cuda.jit(cache=True)
def reverse_each_block(x):
    buf = cuda.shared.array(launch.threads_per_block(), types.float32)
    i = cuda.threadIdx.x
    g = cuda.blockIdx.x * cuda.blockDim.x + i
    buf[i] = x[g]
    cuda.syncthreads()
    x[g] = buf[launch.threads_per_block() - 1 - i]
""",
    "numba-cuda-mlir": """\
from numba_cuda_mlir import cuda
from numba_cuda_mlir.numba_cuda import float32

from numba_cuda_lcs import launch


@cuda.jit(cache=True)
def reverse_each_block(x):
    buf = cuda.shared.array(launch.threads_per_block(), float32)
    i = cuda.threadIdx.x
    g = cuda.blockIdx.x * cuda.blockDim.x + i
    buf[i] = x[g]
    cuda.syncthreads()
    x[g] = buf[launch.threads_per_block() - 1 - i]
""",
}

CHILD = r"""
import json, os, sys, time, warnings

spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["module_dir"])
warnings.simplefilter("ignore")
import numpy as np

import lcs_gpu_cluster_kernels as module
from numba_cuda_lcs import inspection

kernel = module.reverse_each_block
if spec["compiler"] == "numba-cuda-mlir":
    from numba_cuda_mlir import cuda
else:
    from numba import cuda
cuda.to_device(np.zeros(1, np.float32))  # the CUDA context, before the start
if spec.get("start_file"):
    open(spec["start_file"] + f".ready.{os.getpid()}", "w").close()
    while not os.path.exists(spec["start_file"]):
        time.sleep(0.002)
started = time.perf_counter()
correct = True
for block in spec["blocks"]:
    host = np.arange(4 * block, dtype=np.float32)
    x = cuda.to_device(host)
    kernel[4, block](x)
    expected = host.reshape(4, block)[:, ::-1].ravel()
    correct = correct and bool(np.array_equal(x.copy_to_host(), expected))
seconds = time.perf_counter() - started
counts = inspection.compile_counters(kernel)
print("LCS-RESULT " + json.dumps({
    "compiles": counts["compiles"], "cache_loads": counts["cache_loads"],
    "fields": counts["fields"], "correct": correct, "seconds": seconds,
}))
"""


def _gpu(compiler):
    try:
        if compiler == "numba-cuda-mlir":
            if importlib.util.find_spec("numba_cuda_mlir") is None:
                return False
            from numba_cuda_mlir import cuda
        else:
            from numba import cuda
        return bool(cuda.is_available())
    except Exception:
        return False


@pytest.fixture(params=sorted(KERNELS))
def compiler(request):
    if not _gpu(request.param):
        pytest.skip(f"needs a CUDA GPU ({request.param})")
    return request.param


@pytest.fixture
def workspace(tmp_path, compiler):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lcs_gpu_cluster_kernels.py").write_text(KERNELS[compiler])
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "cache").mkdir()
    return tmp_path


def env_for(workspace, **extra):
    return cluster.cache_env(workspace, [workspace / "src"], **extra)


def child(workspace, compiler, blocks, start_file=None):
    spec = {
        "module_dir": str(workspace / "src"),
        "compiler": compiler,
        "blocks": blocks,
        "start_file": None if start_file is None else str(start_file),
    }
    return cluster.spawn(workspace, spec, env_for(workspace))


def report(proc):
    return cluster.report(proc, timeout=TIMEOUT)


@pytest.mark.parametrize("processes", [4, 8])
def test_processes_started_together_compile_each_configuration_once(workspace, compiler, processes):
    start = workspace / "start"
    procs = [child(workspace, compiler, BLOCKS, start) for _ in range(processes)]
    deadline = time.monotonic() + TIMEOUT
    while len(list(workspace.glob("start.ready.*"))) < processes:  # all at the line
        assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
        time.sleep(0.05)
    start.touch()
    reports = [report(p) for p in procs]
    assert all(r["correct"] for r in reports)
    assert sum(r["compiles"] for r in reports) == len(BLOCKS), reports
    assert sum(r["cache_loads"] for r in reports) == len(BLOCKS) * (processes - 1)


@pytest.mark.parametrize("with_cc", [False, True])
def test_warm_then_a_fresh_process_launches_with_no_compile(workspace, compiler, with_cc):
    args = ["-s", "float32[::1]", "-b", ",".join(map(str, BLOCKS)), "-g", "4", "-j", "2"]
    if with_cc:
        if compiler == "numba-cuda":
            from numba import cuda
        else:
            from numba_cuda_mlir import cuda
        major, minor = cuda.get_current_device().compute_capability
        args += ["--cc", f"{major}.{minor}"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "numba_cuda_lcs",
            "warm",
            "lcs_gpu_cluster_kernels:reverse_each_block",
        ]
        + args,
        env=env_for(workspace),
        cwd=str(workspace / "src"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"{len(BLOCKS)} compiled, 0 already cached, 0 failed" in done.stdout
    fresh = report(child(workspace, compiler, BLOCKS))
    assert fresh["correct"]
    assert (fresh["compiles"], fresh["cache_loads"]) == (0, len(BLOCKS))


def test_dask_example_compiles_each_configuration_once_over_all_workers(tmp_path, compiler):
    pytest.importorskip("dask.distributed", reason="needs dask[distributed] (the dask extra)")
    blocks = "32,64,128,256,512,1024"
    done = subprocess.run(
        [
            sys.executable,
            EXAMPLE,
            "--workers",
            "4",
            "--blocks",
            blocks,
            "--compiler",
            compiler,
            "--cache-dir",
            str(tmp_path / "cache"),
            "--json",
        ],
        env=env_for(tmp_path),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("LCS-DASK ")]
    assert lines, done.stdout + done.stderr
    result = json.loads(lines[-1][len("LCS-DASK ") :])
    assert len(result["workers"]) == 4
    assert all(w["correct"] for w in result["workers"])
    assert result["compiles"] == result["configurations"] == 6, result
    assert result["cache_loads"] == 6 * 3
    assert done.returncode == 0
