"""Machines without what the package needs, and the disable variable: the
package stays importable and says plainly why it is not active.

Nothing here depends on the C speedups: every test runs once (children run
the twin the session runs, see support/processes.py)."""

import sys

import pytest
from support import processes
from support.installs import requires_numba_cuda

import numba_cuda_lcs
from numba_cuda_lcs import demo


def run_python(code, **env):
    return processes.run_python("-c", code, env=env)


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
    proc = processes.run_python("-m", "numba_cuda_lcs", command, env={"NUMBA_ENABLE_CUDASIM": "1"})
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
    proc = processes.run_python("-c", code, check=False)
    assert proc.returncode == 1
    assert "numba-cuda nor numba-cuda-mlir is installed" in proc.stdout
    assert "numba-cuda-lcs[cu13]" in proc.stdout
    assert "Traceback" not in proc.stderr


@requires_numba_cuda
def test_unsupported_numba_cuda_reason_after_a_refused_activation(monkeypatch):

    numba_cuda_lcs.deactivate()
    try:
        monkeypatch.setattr(sys.modules["numba_cuda"], "__version__", "0.31.0")
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


def cpu_demo_with(monkeypatch, compile_ptx):
    """The demo's exit code and text on a machine without a GPU whose
    ``compile_ptx`` is *compile_ptx* (numba-cuda's public function, which
    the demo calls)."""
    import io

    from numba import cuda

    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(cuda, "compile_ptx", compile_ptx)
    out = io.StringIO()
    code = demo.main([], out=out)
    return code, out.getvalue()


@pytest.mark.parametrize(
    "error, says",
    [
        (OSError(NVRTC_MISSING), "NVRTC (libnvrtc) is not installed"),
        ("chained", "NVRTC (libnvrtc) is not installed"),
        (OSError("libnvvm.so: cannot open shared object"), "NVVM (libnvvm) is not installed"),
        (
            ValueError("bad argument"),
            "CUDA code cannot be compiled here (ValueError: bad argument)",
        ),
    ],
    ids=["nvrtc", "nvrtc-chained", "nvvm", "other"],
)
@requires_numba_cuda
def test_demo_names_the_missing_library(monkeypatch, error, says):
    def compile_ptx(*args, **kwargs):
        if error == "chained":  # the loader's error behind numba-cuda's own
            try:
                raise OSError(NVRTC_MISSING)
            except OSError as inner:
                raise RuntimeError("compilation failed") from inner
        raise error

    code, text = cpu_demo_with(monkeypatch, compile_ptx)
    assert code == 1  # a step that fails fails the demo
    assert "the compile-only view cannot run: " + says in text
    if "is not installed" in says:
        assert "numba-cuda-lcs[cu13]" in text and "numba-cuda-lcs[cu12]" in text
    if "NVRTC" in says:
        assert "NVVM" not in text


@requires_numba_cuda
def test_demo_keeps_warnings_the_user_should_see(monkeypatch):
    import warnings

    calls = []

    def compile_ptx(*args, **kwargs):
        if not calls:
            warnings.warn("something the user should see", UserWarning, stacklevel=1)
            warnings.warn(
                "Grid size 1 will likely result in GPU under-utilization", UserWarning, stacklevel=1
            )
        calls.append(args)
        return "", None

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        cpu_demo_with(monkeypatch, compile_ptx)
    messages = [str(w.message) for w in caught]
    assert messages == ["something the user should see"]
    # The compile-only view ran (this fake's empty PTX then fails the demo).
    assert calls
