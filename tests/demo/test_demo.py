"""The demo (the README's main job).  On a GPU it launches through the
launcher and launch sites (C or twin): over both; the rest runs once."""

import io

import pytest
from support.installs import requires_numba_cuda
from support.processes import run_python

from numba_cuda_lcs import demo


def run_demo():
    out = io.StringIO()
    assert demo.main([], out=out) == 0
    return out.getvalue()


@pytest.mark.needs_compiler
def test_demo_without_a_gpu_says_so_and_shows_the_compile_only_view(monkeypatch):
    from numba import cuda

    monkeypatch.setattr(cuda, "is_available", lambda: False)  # any machine, as one without
    text = run_demo()
    assert "No CUDA GPU is available on this machine" in text
    assert "Traceback" not in text
    # The shared buffer follows the block size (64, 128, 256 float64).
    for size in ("[512];", "[1024];", "[2048];"):
        assert size in text
    assert "('blockdim',)" in text


@pytest.mark.gpu
def test_demo_on_a_gpu_compiles_once_per_block_size(twins):
    text = run_demo()
    assert "WRONG" not in text
    part1 = text.split("Part 2")[0]
    assert part1.count("compiled for blockdim=") == 3  # 64, 128, 256
    assert "3 compiled" in text  # the block sum: one compile per block size


@requires_numba_cuda
def test_demo_command_runs_and_exits_zero():
    proc = run_python("-m", "numba_cuda_lcs", "demo", env={"PYTHONWARNINGS": "ignore"}, timeout=600)
    assert proc.stdout.startswith("numba-cuda-lcs ")
    assert "Traceback" not in proc.stdout + proc.stderr
