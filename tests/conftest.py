import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import numba_cuda_lcs  # noqa: E402  (activates the package)
from numba_cuda_lcs import tls  # noqa: E402


def _gpu_available():
    try:
        from numba import cuda

        return cuda.is_available()
    except Exception:
        return False


HAS_GPU = _gpu_available()
NO_GPU_REASON = "needs a CUDA GPU: numba.cuda.is_available() is False on this machine"

requires_gpu = pytest.mark.skipif(not HAS_GPU, reason=NO_GPU_REASON)


# Every test runs over each thread-local-state implementation (the C
# extension and its pure-Python twin), switched in the one place that binds
# it.  NUMBA_CUDA_LCS_TLS=c|python restricts the run to one of them.
_ONLY = os.environ.get("NUMBA_CUDA_LCS_TLS", "")
TLS_NAMES = [name for name in ("c", "python") if name in tls.IMPLEMENTATIONS and _ONLY in ("", name)]


@pytest.fixture(autouse=True, params=TLS_NAMES, ids=lambda name: f"tls-{name}")
def tls_implementation(request):
    previous = tls.use(request.param)
    try:
        yield request.param
    finally:
        tls.use(previous)


@pytest.fixture
def tls_impl(tls_implementation):
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


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "gpu" in item.keywords and not HAS_GPU:
            item.add_marker(pytest.mark.skip(reason=NO_GPU_REASON))
