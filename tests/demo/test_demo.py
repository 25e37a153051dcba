"""The demo (the README's main job) on this machine."""

import io
import os
import subprocess
import sys

import pytest
from conftest import HAS_GPU, requires_gpu
from support.installs import requires_numba_cuda

from numba_cuda_lcs import demo


def run_demo():
    out = io.StringIO()
    assert demo.main([], out=out) == 0
    return out.getvalue()


@pytest.mark.skipif(HAS_GPU, reason="checks the no-GPU message; this machine has a GPU")
@pytest.mark.needs_compiler
def test_demo_without_a_gpu_says_so_and_shows_the_compile_only_view():
    text = run_demo()
    assert "No CUDA GPU is available on this machine" in text
    assert "Traceback" not in text
    # The shared buffer follows the block size (64, 128, 256 float64).
    for size in ("[512];", "[1024];", "[2048];"):
        assert size in text
    assert "('blockdim',)" in text


@requires_gpu
@pytest.mark.gpu
def test_demo_on_a_gpu_compiles_once_per_block_size():
    text = run_demo()
    assert "WRONG" not in text
    part1 = text.split("Part 2")[0]
    assert part1.count("compiled for blockdim=") == 3  # 64, 128, 256
    assert "3 compiled" in text  # the block sum: one compile per block size


@requires_numba_cuda
def test_demo_command_runs_and_exits_zero():
    proc = subprocess.run(
        [sys.executable, "-m", "numba_cuda_lcs", "demo"],
        capture_output=True,
        text=True,
        timeout=600,
        env=dict(os.environ, PYTHONWARNINGS="ignore"),
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("numba-cuda-lcs ")
    assert "Traceback" not in proc.stdout + proc.stderr
