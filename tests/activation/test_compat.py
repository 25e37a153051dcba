"""Known problems of the environment (numba_cuda_lcs.compat): numpy 2.5 or
later with numba-cuda 0.30.x is detected at activation, by ``info`` and by
the demo -- simulated by replacing the version reader."""

import io
import warnings

import pytest
from support.installs import requires_numba_cuda

import numba_cuda_lcs
from numba_cuda_lcs import compat


def fake_versions(monkeypatch, numpy, numba_cuda="0.30.4"):
    versions = {"numpy": numpy, "numba-cuda": numba_cuda}
    monkeypatch.setattr(compat, "distribution_version", versions.get)
    monkeypatch.setattr(compat, "_warned", False)


@pytest.mark.parametrize("numpy", ["2.5.0", "2.5.1", "2.6.0rc1", "3.0.0"])
def test_numpy_2_5_with_numba_cuda_0_30_is_a_problem_naming_the_fix(monkeypatch, numpy):
    fake_versions(monkeypatch, numpy)
    problem = compat.numpy_problem()
    assert problem is not None
    assert f"numpy {numpy}" in problem and "row_stack" in problem
    assert "pip install 'numpy<2.5'" in problem
    assert compat.known_problems() == [problem]


@pytest.mark.parametrize(
    "numpy, numba_cuda",
    [("2.4.3", "0.30.4"), ("1.26.4", "0.30.4"), ("2.5.0", "0.31.0"), (None, "0.30.4")],
)
def test_no_problem_otherwise(monkeypatch, numpy, numba_cuda):
    fake_versions(monkeypatch, numpy, numba_cuda)
    assert compat.numpy_problem() is None
    assert compat.known_problems() == []


def test_no_problem_without_numba_cuda(monkeypatch):
    fake_versions(monkeypatch, "2.5.0", None)
    assert compat.known_problems() == []


def test_the_installed_environment_reads_real_versions():
    # The real reader answers with strings (or None) and this test
    # environment (the extras pin numpy<2.5) has no known problem.
    assert compat.distribution_version("no-such-distribution-xyz") is None
    assert compat.known_problems() == []


@requires_numba_cuda
def test_activation_warns_once_naming_the_fix(monkeypatch):
    fake_versions(monkeypatch, "2.5.0")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert numba_cuda_lcs.activate()
        assert numba_cuda_lcs.activate()
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1
    assert "pip install 'numpy<2.5'" in messages[0]


def test_info_shows_the_problem_first_and_next_to_active(monkeypatch):
    from numba_cuda_lcs import __main__ as cli

    fake_versions(monkeypatch, "2.5.0")
    out = io.StringIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # info may import a compiler
        assert cli.info(out) == 0
    lines = out.getvalue().splitlines()
    assert lines[0].startswith("WARNING: numpy 2.5.0 is installed")
    assert "pip install 'numpy<2.5'" in lines[0]
    active = next(i for i, line in enumerate(lines) if line.startswith("active:"))
    after = "\n".join(lines[active:])
    assert "WARNING (kernels will not compile)" in after and "numpy<2.5" in after


@requires_numba_cuda
def test_demo_fails_with_the_problem_when_a_step_fails(monkeypatch):
    from numba import cuda

    from numba_cuda_lcs import demo

    def row_stack_error(out):
        raise AttributeError("module 'numpy' has no attribute 'row_stack'")

    fake_versions(monkeypatch, "2.5.0")
    monkeypatch.setattr(cuda, "is_available", lambda: False)
    monkeypatch.setattr(demo, "_cpu_demo", row_stack_error)
    out = io.StringIO()
    assert demo.main([], out=out) == 1
    text = out.getvalue()
    assert text.count("pip install 'numpy<2.5'") >= 2  # up front and with the failure
    assert "demo FAILED" in text and "row_stack" in text


@requires_numba_cuda
def test_demo_fails_on_a_wrong_result(monkeypatch):
    from numba import cuda

    from numba_cuda_lcs import demo

    def wrong(out):
        raise SystemExit("demo: wrong sum")

    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setattr(demo, "_hook_demo", wrong)
    out = io.StringIO()
    assert demo.main([], out=out) == 1
    assert "demo FAILED: demo: wrong sum" in out.getvalue()
