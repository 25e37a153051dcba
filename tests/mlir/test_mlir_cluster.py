"""Many processes, one disk cache, numba-cuda-mlir, on CPU: compile once
across processes, warm ahead of time (the CLI with --cc, no GPU), the trust
check, bad input -- with real compiles and fresh processes.

Children compile what each launch would run through the backend's real
routing and numba-cuda-mlir's real compile path (cubins for compute
capability 9.0 without a GPU): ``kernel[...].compile_only(args)``, as warm
uses it; only the native launch is left out.
"""

import os
import signal
import stat
import subprocess
import sys

import pytest

pytest.importorskip("numba_cuda_mlir")

from support import cluster  # noqa: E402
from support.cluster import TIMEOUT, release_together, report  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import cache_trust  # noqa: E402

KERNELS = """\
from numba_cuda_mlir import cuda
from numba_cuda_mlir.numba_cuda import float32

from numba_cuda_lcs import launch


@cuda.jit(cache=True)
def blocky(x):
    buf = cuda.shared.array(launch.threads_per_block(), float32)
    buf[cuda.threadIdx.x] = x[cuda.threadIdx.x]
    cuda.syncthreads()
    x[cuda.threadIdx.x] = buf[0]


@cuda.jit(cache=True)
def plain(x):
    x[cuda.threadIdx.x] = 2.0


@cuda.jit
def uncached(x):
    x[cuda.threadIdx.x] = 3.0


def not_a_kernel(x):
    pass
"""

CHILD = r"""
import json, os, sys, time, warnings

spec = json.loads(sys.argv[1])
sys.path.insert(0, spec["module_dir"])
warnings.simplefilter("always")
import numpy as np
from numba_cuda_mlir import cuda  # activates the backend

from numba_cuda_lcs import inspection
from numba_cuda_lcs.backends import numba_cuda_mlir as backend

import lcs_cluster_kernels as module

kernel = getattr(module, spec["kernel"])
x = np.zeros(1024, np.float32)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with backend.compile_target((9, 0)):
        if spec.get("start_file"):
            open(spec["start_file"] + f".ready.{os.getpid()}", "w").close()
            while not os.path.exists(spec["start_file"]):
                time.sleep(0.002)
        for block in spec["blocks"]:
            kernel[1, block].compile_only((x,))  # what the launch runs; no GPU
counts = inspection.compile_counters(kernel)
print("LCS-RESULT " + json.dumps({
    "compiles": counts["compiles"],
    "cache_loads": counts["cache_loads"],
    "fields": counts["fields"],
    "warnings": [str(w.message) for w in caught
                 if "numba-cuda-lcs" in str(w.message)],
}))
"""


@pytest.fixture
def workspace(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lcs_cluster_kernels.py").write_text(KERNELS)
    (tmp_path / "child.py").write_text(CHILD)
    (tmp_path / "cache").mkdir()
    return tmp_path


def env_for(workspace, **extra):
    return cluster.cache_env(workspace, [workspace / "src"], **extra)


def child(workspace, kernel, blocks, start_file=None, **env):
    spec = {
        "module_dir": str(workspace / "src"),
        "kernel": kernel,
        "blocks": blocks,
        "start_file": None if start_file is None else str(start_file),
    }
    return cluster.spawn(workspace, spec, env_for(workspace, **env))


def run_child(workspace, kernel, blocks, **env):
    return report(child(workspace, kernel, blocks, **env))


def warm_cli(workspace, *args, **env):
    return subprocess.run(
        [sys.executable, "-m", "numba_cuda_lcs", "warm", *args],
        env=env_for(workspace, **env),
        cwd=str(workspace / "src"),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )


def cache_files(workspace):
    found = []
    for root, _dirs, names in os.walk(workspace / "cache"):
        found += [os.path.relpath(os.path.join(root, n), workspace / "cache") for n in names]
    return sorted(found)


def snapshot(workspace):
    return {name: (workspace / "cache" / name).read_bytes() for name in cache_files(workspace)}


BLOCKS = [32, 64, 128, 256]


# ---------------------------------------------------------------------------
# Compile once across processes
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("processes", [4])
def test_processes_started_together_compile_each_configuration_once(workspace, processes):
    start = workspace / "start"
    procs = [child(workspace, "blocky", BLOCKS, start_file=start) for _ in range(processes)]
    release_together(workspace, procs)
    reports = [report(p) for p in procs]
    assert sum(r["compiles"] for r in reports) == len(BLOCKS), reports
    assert sum(r["cache_loads"] for r in reports) == len(BLOCKS) * (processes - 1)
    assert all(r["fields"] == ["blockdim"] for r in reports)
    assert not [f for f in cache_files(workspace) if ".lock" in f or ".tmp" in f]


def test_processes_started_together_compile_a_plain_kernel_once(workspace):
    start = workspace / "start"
    procs = [child(workspace, "plain", BLOCKS, start_file=start) for _ in range(3)]
    release_together(workspace, procs)
    reports = [report(p) for p in procs]
    assert sum(r["compiles"] for r in reports) == 1, reports
    assert sum(r["cache_loads"] for r in reports) == 2
    assert all(r["fields"] == [] for r in reports)


# ---------------------------------------------------------------------------
# Warm ahead of time, without a GPU
# ---------------------------------------------------------------------------


def test_warm_then_a_fresh_process_loads_every_configuration(workspace):
    done = warm_cli(
        workspace,
        "lcs_cluster_kernels:blocky",
        "--signature",
        "float32[::1]",
        "--block",
        ",".join(map(str, BLOCKS)),
        "--grid",
        "1,4",
        "--cc",
        "9.0",
    )
    assert done.returncode == 0, done.stderr
    assert f"{len(BLOCKS) * 2} configuration(s): {len(BLOCKS)} compiled" in done.stdout
    assert "depends on blockdim" in done.stdout
    assert f"[{len(BLOCKS) * 2}/{len(BLOCKS) * 2}]" in done.stderr  # progress
    fresh = run_child(workspace, "blocky", BLOCKS)
    assert (fresh["compiles"], fresh["cache_loads"]) == (0, len(BLOCKS))
    again = warm_cli(
        workspace, "lcs_cluster_kernels:blocky", "-s", "float32[::1]", "-b", "32,64", "--cc", "9.0"
    )
    assert again.returncode == 0
    assert "0 compiled, 2 already cached, 0 failed" in again.stdout


def test_warm_in_parallel_processes(workspace):
    done = warm_cli(
        workspace,
        "lcs_cluster_kernels:blocky",
        "-s",
        "float32[::1]",
        "-s",
        "float64[::1]",
        "-b",
        ",".join(map(str, BLOCKS)),
        "--cc",
        "9.0",
        "-j",
        "3",
    )
    assert done.returncode == 0, done.stderr
    assert f"{2 * len(BLOCKS)} compiled, 0 already cached, 0 failed" in done.stdout
    fresh = run_child(workspace, "blocky", BLOCKS)
    assert (fresh["compiles"], fresh["cache_loads"]) == (0, len(BLOCKS))


def test_warm_api_with_cc_runs_in_a_worker_process(workspace, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(workspace / "cache"))
    monkeypatch.setenv("PYTHONPATH", env_for(workspace)["PYTHONPATH"])
    monkeypatch.syspath_prepend(str(workspace / "src"))
    report_ = numba_cuda_lcs.warm(
        "lcs_cluster_kernels:blocky", "float32[::1]", [(1, 32), (1, 64)], cc="9.0"
    )
    assert report_.ok and report_.compiled == 2 and report_.fields == ("blockdim",)
    fresh = run_child(workspace, "blocky", [32, 64])
    assert (fresh["compiles"], fresh["cache_loads"]) == (0, 2)


def test_warm_a_kernel_that_marks_nothing_compiles_its_plain_entry_once(workspace):
    done = warm_cli(
        workspace,
        "lcs_cluster_kernels:plain",
        "-s",
        "float32[::1]",
        "-b",
        "32,64,128",
        "--cc",
        "90",
    )
    assert done.returncode == 0, done.stderr
    assert "1 compiled, 0 already cached, 0 failed, 2 served by another's entry" in done.stdout
    assert "not launch-config sensitive" in done.stdout
    assert len([f for f in cache_files(workspace) if f.endswith(".nbc")]) == 1


BAD_INPUT = [
    (["nosuchmodule:blocky", "-s", "float32[::1]", "-b", "32"], "no module named"),
    (["MOD:nosuch", "-s", "float32[::1]", "-b", "32"], "kernels it defines: blocky, plain"),
    (["MOD:not_a_kernel", "-s", "float32[::1]", "-b", "32"], "not a kernel"),
    (["MOD", "-s", "float32[::1]", "-b", "32"], "MODULE:KERNEL"),
    (["MOD:blocky", "-s", "float32[::1", "-b", "32"], "cannot parse the signature"),
    (["MOD:blocky", "-s", "flaot32[::1]", "-b", "32"], "cannot parse the signature"),
    (["MOD:blocky", "-s", "float32[::1]", "-b", "2048"], "at most 1024 threads"),
    (["MOD:blocky", "-s", "float32[::1]", "-b", "32x64"], "threads per block"),
    (["MOD:blocky", "-s", "float32[::1]", "-b", "abc"], "cannot read block size"),
    (["MOD:blocky", "-s", "float32[::1]", "-b", "32", "--grid", "0"], "griddim"),
    (["MOD:blocky", "-s", "float32[::1]", "-b", "32", "--sharedmem", "9999999"], "shared memory"),
    (["MOD:blocky", "-s", "float32[::1]", "-b", "32", "--cc", "nine"], "write it as 9.0"),
    (["MOD:uncached", "-s", "float32[::1]", "-b", "32", "--cc", "9.0"], "cache=True"),
    (["MOD:blocky", "-s", "float32[::1]", "-b", "32", "-j", "0"], "-j"),
    (["MOD:blocky", "-s", "complex128(int64)", "-b", "32", "--cc", "9.0"], "return"),
]


def test_bad_input_names_the_fix_and_leaves_the_cache_as_it_was(tmp_path, monkeypatch, capsys):
    """In this process (the CLI's main()): nothing is compiled before the
    input is checked, so the cache stays as the first warm left it."""
    from numba_cuda_mlir.numba_cuda.core import config

    from numba_cuda_lcs.__main__ import main

    module = f"lcs_bad_input_{os.getpid()}_{id(tmp_path)}"
    (tmp_path / f"{module}.py").write_text(KERNELS)
    (tmp_path / "cache").mkdir()
    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(["warm", f"{module}:blocky", "-s", "float32[::1]", "-b", "64", "--cc", "9.0"]) == 0
    before = snapshot(tmp_path)
    assert before
    for args, message in BAD_INPUT:
        capsys.readouterr()
        args = [a.replace("MOD", module) for a in args]
        code = main(["warm", *args])
        err = capsys.readouterr().err
        assert code == 2, (args, err)
        assert "error:" in err and message in err, (args, err)
        assert snapshot(tmp_path) == before, args


def test_an_interrupted_warm_leaves_no_partial_entries(workspace):
    blocks = ",".join(str(32 * i) for i in range(1, 33))
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "numba_cuda_lcs",
            "warm",
            "lcs_cluster_kernels:blocky",
            "-s",
            "float32[::1]",
            "-b",
            blocks,
            "--cc",
            "9.0",
        ],
        env=env_for(workspace),
        cwd=str(workspace / "src"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    line = proc.stderr.readline()  # the first configuration is done
    while line and not line.startswith("["):
        line = proc.stderr.readline()
    assert line.startswith("[1/32]"), line
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err and "not reached (interrupted)" in out
    compiled = int(out.split("configuration(s): ")[1].split(" compiled")[0])
    assert 1 <= compiled < 32
    assert not [f for f in cache_files(workspace) if ".lock" in f or ".tmp" in f]
    # Every entry it wrote loads whole; the rest compile.
    fresh = run_child(workspace, "blocky", [32 * i for i in range(1, 33)])
    assert fresh["cache_loads"] == compiled
    assert fresh["compiles"] == 32 - compiled
    assert not [w for w in fresh["warnings"] if "unreadable" in w]


def test_numba_cuda_kernels_cannot_be_warmed_without_a_gpu_and_say_why(tmp_path):
    from numba import cuda

    if cuda.is_available():
        pytest.skip("this machine has a GPU")

    def kern(x):
        x[0] = 1

    kern.__module__ = __name__
    kernel = cuda.jit(cache=True)(kern)
    with pytest.raises(numba_cuda_lcs.WarmError) as info:
        numba_cuda_lcs.warm(kernel, "int64[::1]", [(1, 32)], cc="9.0")
    text = str(info.value)
    assert "_Kernel" in text and "get_current_device" in text and "--cc" in text


# ---------------------------------------------------------------------------
# A shared cache is code
# ---------------------------------------------------------------------------


def _make_world_writable(workspace):
    for root, dirs, _names in os.walk(workspace / "cache"):
        for d in dirs:
            path = os.path.join(root, d)
            os.chmod(path, os.stat(path).st_mode | stat.S_IWOTH)


def test_a_world_writable_cache_is_not_loaded_from(workspace):
    done = warm_cli(
        workspace, "lcs_cluster_kernels:blocky", "-s", "float32[::1]", "-b", "32,64", "--cc", "9.0"
    )
    assert done.returncode == 0, done.stderr
    _make_world_writable(workspace)
    before = snapshot(workspace)
    refused = run_child(workspace, "blocky", [32, 64])
    assert (refused["compiles"], refused["cache_loads"]) == (2, 0)
    warned = [w for w in refused["warnings"] if "not loading" in w]
    assert len(warned) == 1, refused["warnings"]  # once
    assert "chmod o-w" in warned[0] and cache_trust.TRUST_ENV in warned[0]
    assert snapshot(workspace) == before  # nothing saved, no lock taken there
    trusted = run_child(workspace, "blocky", [32, 64], **{cache_trust.TRUST_ENV: "any"})
    assert (trusted["compiles"], trusted["cache_loads"]) == (0, 2)
