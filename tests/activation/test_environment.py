"""Machines without what the package needs, and the disable variable: the
package stays importable and says plainly why it is not active."""

import os
import subprocess
import sys

import pytest
from support.installs import requires_numba_cuda

import numba_cuda_lcs
from numba_cuda_lcs import _toolkit, demo


def run_python(code, **env):
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, **env),
    )
    assert proc.returncode == 0, proc.stderr
    return proc


STATE = (
    "import numba_cuda_lcs as m\n"
    "print(m.is_active(), m.deactivate(), m.activate(), m.is_active())\n"
    "print(m.inactive_reason())\n"
)


@requires_numba_cuda
def test_simulator_is_inactive_and_says_why():
    proc = run_python(
        STATE + "from numba import cuda\n"
        "import numpy as np\n"
        "@cuda.jit\n"
        "def k(x):\n"
        "    x[0] = 7\n"
        "a = np.zeros(1)\n"
        "k[1, 1](a)\n"
        "print(a[0])\n",
        NUMBA_ENABLE_CUDASIM="1",
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "False False False False"
    assert lines[1].startswith("NUMBA_ENABLE_CUDASIM is set: the CUDA simulator")
    assert lines[2] == "7.0"  # the simulator itself still works


@pytest.mark.parametrize("command", ["info", "demo"])
@requires_numba_cuda
def test_simulator_command_line_answers_plainly(command):
    proc = subprocess.run(
        [sys.executable, "-m", "numba_cuda_lcs", command],
        capture_output=True,
        text=True,
        timeout=300,
        env=dict(os.environ, NUMBA_ENABLE_CUDASIM="1"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "NUMBA_ENABLE_CUDASIM is set" in proc.stdout


@pytest.mark.parametrize(
    "value, active",
    [("1", False), ("TRUE", False), ("yes", False), ("on", False),
     ("0", True), ("false", True), ("No", True), ("off", True), ("", True)],
)  # fmt: skip
@requires_numba_cuda
def test_disable_variable_accepted_values(value, active):
    proc = run_python(
        "import warnings\nwarnings.simplefilter('error')\n" + STATE,
        NUMBA_CUDA_LCS_DISABLE=value,
    )
    first, reason = proc.stdout.splitlines()
    assert first.split()[0] == str(active)
    assert (reason == "None") is active
    if not active:
        assert reason == f"NUMBA_CUDA_LCS_DISABLE={value} is set, so numba-cuda is left untouched."


@requires_numba_cuda
def test_unrecognised_disable_value_warns_and_stays_active():
    proc = run_python(STATE, NUMBA_CUDA_LCS_DISABLE="maybe")
    assert proc.stdout.splitlines()[0].split()[0] == "True"
    assert "RuntimeWarning: NUMBA_CUDA_LCS_DISABLE='maybe' is not recognised" in proc.stderr
    assert proc.stderr.count("is not recognised") == 1  # once per process


BLOCK_NUMBA_CUDA = (
    "import sys\n"
    "class Block:\n"
    "    def find_spec(self, name, path=None, target=None):\n"
    "        blocked = ('numba_cuda.', 'numba.cuda', 'numba_cuda_mlir')\n"
    "        if name == 'numba_cuda' or name.startswith(blocked):\n"
    "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
    "sys.meta_path.insert(0, Block())\n"
)


def test_import_without_numba_cuda_is_inactive_and_names_the_extra():
    proc = run_python(
        BLOCK_NUMBA_CUDA + STATE + "import numba_cuda_lcs.__main__ as cli\ncli.info()\n"
    )
    lines = proc.stdout.splitlines()
    assert lines[0] == "False False False False"
    assert lines[1].startswith("neither numba-cuda nor numba-cuda-mlir is installed")
    assert "numba-cuda-lcs[cu13]" in lines[1]
    assert "active: False" in proc.stdout


def test_demo_without_numba_cuda_fails_with_the_fix():
    code = BLOCK_NUMBA_CUDA + ("from numba_cuda_lcs import demo\nraise SystemExit(demo.main([]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1
    assert "numba-cuda nor numba-cuda-mlir is installed" in proc.stdout
    assert "numba-cuda-lcs[cu13]" in proc.stdout
    assert "Traceback" not in proc.stderr


@requires_numba_cuda
def test_unsupported_numba_cuda_reason_after_a_refused_activation(monkeypatch):
    from numba_cuda_lcs.backends.numba_cuda import manifest

    numba_cuda_lcs.deactivate()
    try:
        monkeypatch.setattr(manifest.numba_cuda, "__version__", "0.31.0")
        with pytest.raises(numba_cuda_lcs.UnsupportedNumbaCudaError):
            numba_cuda_lcs.activate()
        assert "supports numba-cuda 0.30.x" in numba_cuda_lcs.inactive_reason()
    finally:
        monkeypatch.undo()
        numba_cuda_lcs.activate()
    assert numba_cuda_lcs.inactive_reason() is None


@requires_numba_cuda
def test_deactivate_reason():
    numba_cuda_lcs.deactivate()
    try:
        assert "deactivate() was called" in numba_cuda_lcs.inactive_reason()
    finally:
        numba_cuda_lcs.activate()


# What cuda-pathfinder raises when the cu13/cu12 extra is not installed.
NVRTC_MISSING = (
    'Failure finding "libnvrtc.so.13 or libnvrtc.so.12": No such file: '
    "libnvrtc.so.13 or libnvrtc.so.12"
)


def test_missing_library_names_nvrtc_not_nvvm():
    try:
        try:
            raise OSError(NVRTC_MISSING)
        except OSError as inner:
            raise RuntimeError("compilation failed") from inner
    except RuntimeError as exc:
        assert _toolkit.missing_library(exc) == "NVRTC (libnvrtc)"
        text = _toolkit.describe_compile_failure(exc)
    assert text.startswith("NVRTC (libnvrtc) is not installed")
    assert "numba-cuda-lcs[cu13]" in text and "numba-cuda-lcs[cu12]" in text
    assert _toolkit.missing_library(OSError("libnvvm.so: cannot open shared object")) == (
        "NVVM (libnvvm)"
    )
    assert _toolkit.missing_library(ValueError("bad argument")) is None


@requires_numba_cuda
def test_demo_names_the_missing_library(monkeypatch, capsys):
    import io

    from numba import cuda

    def no_nvrtc(out):
        raise OSError(NVRTC_MISSING)

    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(demo, "_cpu_demo", no_nvrtc)
    out = io.StringIO()
    assert demo.main([], out=out) == 1  # a step that fails fails the demo
    text = out.getvalue()
    assert "NVRTC (libnvrtc) is not installed" in text and "[cu13]" in text
    assert "NVVM" not in text


@requires_numba_cuda
def test_demo_keeps_warnings_the_user_should_see(monkeypatch):
    import io
    import warnings

    from numba import cuda

    def warns(out):
        warnings.warn("something the user should see", UserWarning, stacklevel=1)
        warnings.warn(
            "Grid size 1 will likely result in GPU under-utilization", UserWarning, stacklevel=1
        )

    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(demo, "_cpu_demo", warns)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert demo.main([], out=io.StringIO()) == 0
    messages = [str(w.message) for w in caught]
    assert messages == ["something the user should see"]
