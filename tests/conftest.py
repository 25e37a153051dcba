import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import numba_cuda_lcs  # noqa: E402, F401  (activates the package)
from numba_cuda_lcs import _tls_py  # noqa: E402

try:
    from numba_cuda_lcs import _tls as _tls_c
except ImportError:  # pragma: no cover - the build always has it in CI
    _tls_c = None


def _gpu_available():
    try:
        from numba import cuda

        return cuda.is_available()
    except Exception:
        return False


HAS_GPU = _gpu_available()
NO_GPU_REASON = "needs a CUDA GPU: numba.cuda.is_available() is False on this machine"

requires_gpu = pytest.mark.skipif(not HAS_GPU, reason=NO_GPU_REASON)


def _tls_impls():
    impls = [pytest.param(_tls_py, id="python")]
    if _tls_c is not None:
        impls.insert(0, pytest.param(_tls_c, id="c"))
    return impls


@pytest.fixture(params=_tls_impls())
def tls_impl(request):
    return request.param


@pytest.fixture
def quiet_warnings():
    """GPU tests launch small grids on purpose: silence numba-cuda's
    occupancy warnings and friends (tests that check a warning record it)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        yield


def pytest_runtest_setup(item):
    if "needs_compiler" in item.keywords:
        from numba_cuda_lcs import _toolkit

        problem = _toolkit.compile_problem()
        if problem is not None:
            pytest.skip(f"needs CUDA compilation: {problem}")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "gpu" in item.keywords and not HAS_GPU:
            item.add_marker(pytest.mark.skip(reason=NO_GPU_REASON))
