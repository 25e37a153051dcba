import functools
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import numba_cuda_lcs  # noqa: E402, F401  (activates the package)

try:
    # numba-cuda first, as a program does: the package activates for it now,
    # not while a test module imports one of the backend's modules itself
    # (a backend module imported before numba.cuda trips its own activation).
    import numba.cuda  # noqa: E402, F401
except ImportError:  # numba-cuda-mlir alone
    pass
from support import twins as _twins  # noqa: E402

from numba_cuda_lcs import launcher, tls  # noqa: E402

# -- C speedups and their twins (see support/twins.py) -------------------------
#
# Tests run once, over the implementation the process binds (the C extensions
# when built).  A test whose behaviour depends on the implementation requests
# the ``twins`` fixture (or ``tls_impl``; a module: ``pytestmark =
# pytest.mark.usefixtures("twins")``) and runs over each twin; each such
# module says why.  NUMBA_CUDA_LCS_TWINS=c|python|c,python picks the twins;
# a missing C build is a skip, or an error when the C twin is asked for.

_C_PROBLEM = _twins.c_problem()
_TWIN_PARAMS = pytest.StashKey[list]()


def pytest_configure(config):
    # Usage errors (a bad NUMBA_CUDA_LCS_TWINS, the C twin asked for but not
    # built) stop the run before collection.
    config.stash[_TWIN_PARAMS] = _twins.params(problem=_C_PROBLEM)
    default = _twins.session_default()
    if default is not None:
        _twins.bind(default)


def pytest_report_header(config):
    line = f"numba-cuda-lcs: tests run once over the {_twins.in_effect()!r} implementation"
    if _C_PROBLEM:
        line += f"; the C twin is skipped: {_C_PROBLEM}"
    return line


def pytest_generate_tests(metafunc):
    if "twins" in metafunc.fixturenames:
        metafunc.parametrize(
            "twins",
            metafunc.config.stash[_TWIN_PARAMS],
            indirect=True,
            ids=lambda name: f"twins-{name}",
        )


@pytest.fixture
def twins(request):
    """Binds the twin this run of the test is over ("c" or "python") for the
    whole package; child processes started through support.processes or
    support.twins.child_env get it too."""
    previous = _twins.bind(request.param)
    try:
        yield request.param
    finally:
        _twins.restore(previous)


@pytest.fixture
def c_extension(request):
    """The C launcher module, for the few tests of what only it does (no
    Python counterpart): skipped, with why, where the twins run leave it out."""
    if _C_PROBLEM:
        pytest.skip(_C_PROBLEM)
    if "c" not in request.config.stash[_TWIN_PARAMS]:
        pytest.skip("NUMBA_CUDA_LCS_TWINS leaves out the C twin")
    return launcher.IMPLEMENTATIONS["c"]


@pytest.fixture
def tls_impl(twins):
    """The TLS module the test runs over (bound for the whole package)."""
    return tls.impl


@pytest.fixture
def quiet_warnings():
    """GPU tests launch small grids on purpose: silence numba-cuda's
    occupancy warnings and friends (tests that check a warning record it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        yield


# -- GPUs: the one gate ---------------------------------------------------------
#
# @pytest.mark.gpu: needs a CUDA GPU; @pytest.mark.gpu(2): needs two.  Tests
# without a GPU to run on are skipped here, with the reason.


@functools.cache
def gpu_count():
    """(CUDA GPUs numba-cuda sees, what it says when it sees none)."""
    try:
        from numba import cuda
    except ImportError:  # numba-cuda-mlir alone
        try:
            from numba_cuda_mlir import cuda
        except ImportError:
            return 0, "neither numba-cuda nor numba-cuda-mlir is installed"
    try:
        if not cuda.is_available():
            return 0, f"{cuda.__name__}.is_available() is False on this machine"
        return len(cuda.gpus), None
    except Exception as exc:
        return 0, f"{type(exc).__name__}: {exc}"


def gpu_skip_reason(needed):
    count, why = gpu_count()
    if count >= needed:
        return None
    if count == 0:
        return f"needs a CUDA GPU: {why}" if needed == 1 else f"needs {needed} CUDA GPUs: {why}"
    return f"needs {needed} CUDA GPUs: this machine has {count}"


def pytest_pycollect_makemodule(module_path, parent):
    # Bare install (no compiler extra): modules importing numpy or numba-cuda
    # skip naming the missing library and the extra (support/installs.py).
    from support import installs

    return installs.make_module(module_path, parent)


def pytest_collection_modifyitems(config, items):
    for item in items:
        needed = [m.args[0] if m.args else m.kwargs.get("n", 1) for m in item.iter_markers("gpu")]
        if needed:
            reason = gpu_skip_reason(max(needed))
            if reason is not None:
                item.add_marker(pytest.mark.skip(reason=reason))


def pytest_runtest_setup(item):
    if "needs_compiler" in item.keywords:
        from numba_cuda_lcs import _toolkit  # no public seam: the package's own probe

        problem = _toolkit.compile_problem()
        if problem is not None:
            pytest.skip(f"needs CUDA compilation: {problem}")
