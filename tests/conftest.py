import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

import numba_cuda_lcs  # noqa: E402, F401  (activates the package)
from numba_cuda_lcs import launcher, tls  # noqa: E402


def _gpu_available():
    try:
        from numba import cuda

        return cuda.is_available()
    except Exception:
        return False


HAS_GPU = _gpu_available()
NO_GPU_REASON = "needs a CUDA GPU: numba.cuda.is_available() is False on this machine"

requires_gpu = pytest.mark.skipif(not HAS_GPU, reason=NO_GPU_REASON)


# Every test runs over each implementation of the package's C speedups -- the
# thread-local state and the launcher -- and over their pure-Python twins,
# switched in the one place that binds each.  NUMBA_CUDA_LCS_TWINS=c|python
# restricts the run to one of them.
_ONLY = os.environ.get("NUMBA_CUDA_LCS_TWINS", "")
TWINS = [
    name
    for name in ("c", "python")
    if name in tls.IMPLEMENTATIONS and name in launcher.IMPLEMENTATIONS and _ONLY in ("", name)
] or ["python"]


@pytest.fixture(autouse=True, params=TWINS, ids=lambda name: f"twins-{name}")
def twins(request):
    previous = tls.use(request.param), launcher.use(request.param)
    try:
        yield request.param
    finally:
        tls.use(previous[0])
        launcher.use(previous[1])


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


def pytest_runtest_setup(item):
    if "needs_compiler" in item.keywords:
        from numba_cuda_lcs import _toolkit

        problem = _toolkit.compile_problem()
        if problem is not None:
            pytest.skip(f"needs CUDA compilation: {problem}")


def pytest_collection_modifyitems(config, items):
    # one_twin: tests whose work happens in child processes (which bind
    # their own implementation) run once, over the C twin when built.
    if len(TWINS) > 1:
        dropped = [
            item
            for item in items
            if "one_twin" in item.keywords
            and getattr(getattr(item, "callspec", None), "params", {}).get("twins") != TWINS[0]
        ]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [item for item in items if item not in dropped]
    for item in items:
        if "gpu" in item.keywords and not HAS_GPU:
            item.add_marker(pytest.mark.skip(reason=NO_GPU_REASON))
