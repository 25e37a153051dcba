"""pytest-benchmark suite: launch-path costs of numba-cuda-lcs.

    python -m pytest benchmarks                          # run, print the table
    python -m pytest benchmarks --benchmark-autosave     # also save under .benchmarks/
    pytest-benchmark compare 0001 0002                   # compare two saved runs

Not collected by a plain ``python -m pytest`` (pyproject's testpaths is
"tests").  The GPU benchmarks (groups "launch-*") skip without a CUDA GPU;
the CPU ones (key computation, thread-local argument swap, configured-launch
lookup) run anywhere, with or without a GPU.

Every launch is 1x1 or 1x32 of an empty kernel, so what is timed is the host
side of a launch: configuration lookup, routing, argument preparation and the
driver call.  The launch queue is left to fill and drains at the end (as in
scripts/bench-launch-overhead.py): steady-state launch throughput.
"""

import warnings

import numpy as np
import pytest
from numba import cuda
from numba.cuda.core.errors import NumbaPerformanceWarning
from numba.cuda.core.rewrites import Rewrite, register_rewrite, rewrite_registry

import numba_cuda_lcs  # activates the package: every benchmark runs with it
from numba_cuda_lcs import _tls_py, keys

try:
    from numba_cuda_lcs import _tls as _tls_c
except ImportError:  # the optional C extension was not built
    _tls_c = None


def _gpu_available():
    try:
        return cuda.is_available()
    except Exception:
        return False


HAS_GPU = _gpu_available()
requires_gpu = pytest.mark.skipif(not HAS_GPU, reason="needs a CUDA GPU")

# ---------------------------------------------------------------------------
# The LC-S kernels: a rewrite marks every kernel named benchlcs_* as
# sensitive to its block size, once per compile, and logs the block size it
# compiled for (so the benchmarks can check they time the LC-S path).
# ---------------------------------------------------------------------------

COMPILED_BLOCKS = []

# numba has no way to unregister a rewrite: register once per process, even
# if this module is imported twice (another import mode, a re-run).
_FLAG = "_numba_cuda_lcs_bench_rewrite"

if not getattr(rewrite_registry, _FLAG, False):
    setattr(rewrite_registry, _FLAG, True)

    @register_rewrite("after-inference")
    class MarkBenchLCS(Rewrite):
        def __init__(self, state=None):
            super().__init__(state)
            # A rewrite instance serves one compile; match() is called for
            # every block, and one mark per compile is enough.
            self._done = False
            self._block = None

        def match(self, func_ir, block, typemap, calltypes):
            if self._done or not func_ir.func_id.func_name.startswith("benchlcs_"):
                return False
            self._block = block
            return True

        def apply(self):
            cfg = numba_cuda_lcs.ensure_current_launch_config()
            cfg.mark_kernel_as_launch_config_sensitive(fields="blockdim")
            COMPILED_BLOCKS.append(cfg.blockdim)
            self._done = True
            return self._block


@cuda.jit
def plain_k0():
    pass


@cuda.jit
def plain_k1(a):
    pass


@cuda.jit
def benchlcs_k1(a):
    pass


@pytest.fixture(autouse=True)
def _no_occupancy_warnings():
    # A 1-block grid makes numba-cuda warn about occupancy; the warning
    # machinery would be timed too.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NumbaPerformanceWarning)
        yield


@pytest.fixture
def device_array():
    return cuda.device_array(16, dtype=np.float32)


def _launches(benchmark, fn, launches_per_call=1):
    """Benchmark *fn* after one warm-up call (compiles happen there, not in
    the timings), then wait for the queued launches."""
    fn()
    cuda.synchronize()
    benchmark.extra_info["launches_per_call"] = launches_per_call
    benchmark(fn)
    cuda.synchronize()


# ---------------------------------------------------------------------------
# GPU: kernel launches
# ---------------------------------------------------------------------------


@pytest.mark.gpu
@requires_gpu
@pytest.mark.benchmark(group="launch-plain")
def test_launch_plain_0_args(benchmark):
    configured = plain_k0[1, 1]
    _launches(benchmark, lambda: configured())


@pytest.mark.gpu
@requires_gpu
@pytest.mark.benchmark(group="launch-plain")
def test_launch_plain_1_arg(benchmark, device_array):
    configured = plain_k1[1, 1]
    _launches(benchmark, lambda: configured(device_array))


@pytest.mark.gpu
@requires_gpu
@pytest.mark.benchmark(group="launch-lcs")
def test_launch_lcs_1_arg(benchmark, device_array):
    configured = benchlcs_k1[1, 32]
    _launches(benchmark, lambda: configured(device_array))
    assert (32, 1, 1) in COMPILED_BLOCKS, "the benchlcs_ rewrite did not mark the kernel"


@pytest.mark.gpu
@requires_gpu
@pytest.mark.benchmark(group="launch-lcs")
def test_launch_lcs_2_configs_alternating(benchmark, device_array):
    # Two block sizes: two compiled kernels, and each launch has to route to
    # the one for its configuration.  One call = two launches.
    first, second = benchlcs_k1[1, 32], benchlcs_k1[2, 64]

    def both():
        first(device_array)
        second(device_array)

    _launches(benchmark, both, launches_per_call=2)
    assert {(32, 1, 1), (64, 1, 1)} <= set(COMPILED_BLOCKS), "not compiled per block size"


# ---------------------------------------------------------------------------
# CPU: pieces of the launch path (no GPU needed)
# ---------------------------------------------------------------------------


@pytest.mark.benchmark(group="cpu-keys")
def test_launch_keys(benchmark):
    result = benchmark(keys.launch_keys, (1, 1, 1), (32, 1, 1), 0)
    assert result[keys.BLOCKDIM] == (keys.BLOCKDIM, (32, 1, 1))


def _tls_impls():
    c = pytest.param(
        _tls_c,
        id="c",
        marks=pytest.mark.skipif(
            _tls_c is None, reason="the C extension numba_cuda_lcs._tls is not built"
        ),
    )
    return [c, pytest.param(_tls_py, id="python")]


@pytest.mark.benchmark(group="cpu-tls")
@pytest.mark.parametrize("impl", _tls_impls())
def test_tls_swap_args_pair(benchmark, impl):
    # What every launch does: publish its arguments, then restore the
    # previous ones.
    swap = impl.swap_args
    args = (1, 2)

    def pair():
        prev = swap(args)
        swap(prev)

    benchmark(pair)
    assert impl.current_args() is None


@pytest.mark.benchmark(group="cpu-configure")
def test_configured_launch_lookup(benchmark):
    @cuda.jit
    def lookup_k(a):
        pass

    first = lookup_k[1, 32]
    # numba-cuda caches configured launches: after the first, kernel[1, 32]
    # is a lookup returning the same object, which is what is timed here.
    result = benchmark(lambda: lookup_k[1, 32])
    assert result is first
    assert hasattr(result, "mark_kernel_as_launch_config_sensitive"), "numba-cuda-lcs is not active"
