"""``python -m numba_cuda_lcs``: help, version, bad arguments, pipes, info.

``info`` reports the TLS implementation the process bound: that test runs
over both twins (the command's process gets the twin under test); the rest
runs once."""

import subprocess
import sys

import pytest
from support.installs import requires_numba_cuda
from support.processes import PACKAGE_PARENT, run_python
from support.twins import child_env

import numba_cuda_lcs


def run_cli(*args, env=None, timeout=300):
    # From where the package under test lives (run_python's default): from an
    # unpacked sdist, the current directory would shadow the installed wheel.
    return run_python("-m", "numba_cuda_lcs", *args, env=env, check=False, timeout=timeout)


def test_help_lists_the_commands():
    proc = run_cli("--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: python -m numba_cuda_lcs")
    for word in ("demo", "info", "--version"):
        assert word in proc.stdout


@pytest.mark.parametrize("command", ["demo", "info"])
def test_each_command_has_help_and_help_does_not_run_it(command):
    proc = run_cli(command, "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"usage: python -m numba_cuda_lcs {command}")
    # Neither the demo's nor info's output.
    assert "numba-cuda-lcs 0" not in proc.stdout and "versions:" not in proc.stdout


def test_version():
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"numba-cuda-lcs {numba_cuda_lcs.__version__}"


@pytest.mark.parametrize("args", [["--bogus"], ["bogus"], ["info", "extra"]])
def test_unknown_arguments_are_rejected_with_usage(args):
    proc = run_cli(*args)
    assert proc.returncode == 2
    assert proc.stderr.startswith("usage: python -m numba_cuda_lcs")
    assert proc.stdout == ""


@requires_numba_cuda
def test_info_reports_versions_tls_hook_and_patches(twins):
    proc = run_cli("info")
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for name in ("numba-cuda-lcs", "numba-cuda", "numba", "numpy", "cuda-bindings", "cuda-core"):
        assert f"\n  {name}: " in out
    assert f"numba-cuda-lcs: {numba_cuda_lcs.__version__}" in out
    assert f"TLS implementation: {twins}" in out
    # and every numba-cuda internal the backend reads, from its manifest
    from numba_cuda_lcs.backends.numba_cuda import manifest

    assert "internals read (numba-cuda" in out
    for line in manifest.describe():
        assert line in out
    assert "start-up hook: " in out
    assert "active: True" in out
    assert "replaces CUDADispatcher.call:" in out


def test_info_when_disabled_says_why():
    proc = run_cli("info", env={"NUMBA_CUDA_LCS_DISABLE": "1"})
    assert proc.returncode == 0, proc.stderr
    assert "active: False" in proc.stdout
    assert "why not: NUMBA_CUDA_LCS_DISABLE=1 is set" in proc.stdout


@pytest.mark.parametrize("command", ["info", "demo"])
def test_no_broken_pipe_when_the_reader_stops_early(command):
    # `python -m numba_cuda_lcs info | head -1`
    proc = subprocess.run(
        f"'{sys.executable}' -m numba_cuda_lcs {command} | head -1",
        shell=True,
        cwd=PACKAGE_PARENT,
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.stdout.count("\n") == 1
    assert "BrokenPipeError" not in proc.stderr and "Traceback" not in proc.stderr, proc.stderr
