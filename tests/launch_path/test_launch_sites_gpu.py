"""Launch sites on a real GPU: a configured launch relaunches what it has
resolved without the slow path, and never when the slow path could decide
differently.  ``slow_calls`` counts the slow path (``CUDADispatcher.call``);
kernels write what they were given, so outputs prove which kernel ran.
"""

import numpy as np
import pytest
from support import rewrites  # noqa: F401  (registers the stamp rewrite)

# The launch sites, C and twin, launching for real: over both twins.
pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("twins", "quiet_warnings")]

from numba import cuda  # noqa: E402
from numba.cuda.dispatcher import CUDADispatcher  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import inspection, launcher  # noqa: E402


@pytest.fixture
def slow_calls(monkeypatch):
    """The arguments of every launch that took the slow path."""
    calls = []
    original = CUDADispatcher.call

    def counting(self, args, launch):
        calls.append(args)
        return original(self, args, launch)

    monkeypatch.setattr(CUDADispatcher, "call", counting)
    return calls


def make_store():
    @cuda.jit
    def store(out, x):
        out[0] = x

    return store


def test_repeated_launches_skip_the_slow_path_and_land_in_each_array(slow_calls):
    store = make_store()
    configured = store[1, 1]
    outs = [cuda.to_device(np.zeros(1, np.float64)) for _ in range(5)]
    for i, out in enumerate(outs):
        configured(out, float(i))
    assert len(slow_calls) == 1  # the first resolved it; new arrays of that type reuse it
    assert [out.copy_to_host()[0] for out in outs] == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert launcher.impl.remembered(configured) == 1


def test_other_argument_types_take_the_slow_path_and_their_own_kernel(slow_calls):
    store = make_store()
    configured = store[1, 1]
    f64 = cuda.to_device(np.zeros(1, np.float64))
    i64 = cuda.to_device(np.zeros(1, np.int64))
    configured(f64, 1.5)
    configured(i64, 7)  # another array type and scalar type
    configured(f64, 2.5)  # served by the first remembered launch
    configured(i64, 2**63 - 1)
    assert len(slow_calls) == 2
    configured(i64, np.int32(5))  # numpy int32: another overload
    assert len(slow_calls) == 3
    assert len(store.overloads) == 3
    assert f64.copy_to_host()[0] == 2.5
    assert i64.copy_to_host()[0] == 5


def test_ints_beyond_int64_are_typed_by_numba_cuda(slow_calls):
    store = make_store()
    u64 = cuda.to_device(np.zeros(1, np.uint64))
    store[1, 1](u64, 1)
    store[1, 1](u64, 2**64 - 1)  # uint64 for numba: never the int64 kernel
    assert len(slow_calls) == 2
    assert u64.copy_to_host()[0] == 2**64 - 1


def test_host_arrays_always_take_the_slow_path_and_are_copied_back(slow_calls):
    store = make_store()
    host = np.zeros(1, np.float64)
    for i in range(3):
        store[1, 1](host, float(i + 1))
        assert host[0] == i + 1
    assert len(slow_calls) == 3


def test_callbacks_added_after_a_launch_run_on_the_next(slow_calls):
    store = make_store()
    configured = store[1, 1]
    out = cuda.to_device(np.zeros(1, np.float64))
    configured(out, 1.0)
    seen = []
    configured.pre_launch_callbacks.append(lambda kernel, launch: seen.append(launch.args))
    configured(out, 2.0)
    assert len(seen) == 1 and seen[0][1] == 2.0
    configured.pre_launch_callbacks.clear()
    configured(out, 3.0)
    configured(out, 4.0)
    assert len(seen) == 1
    assert out.copy_to_host()[0] == 4.0


def make_block_stamp():
    @cuda.jit
    def stamp_block(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 987654321  # BLOCK_X (support.rewrites)

    return stamp_block


def total_hits(kernel):
    return sum(row["hits"] for row in inspection.specializations(kernel))


def test_lcs_kernels_relaunch_their_own_configuration_and_count_hits(slow_calls):
    stamp = make_block_stamp()
    outs = {b: cuda.to_device(np.zeros(1, np.int64)) for b in (32, 64)}
    for block, out in outs.items():
        stamp[1, block](out)
    assert len(slow_calls) == 2
    before = total_hits(stamp)
    assert before == 2
    for _ in range(5):
        for block, out in outs.items():
            out.copy_to_device(np.zeros(1, np.int64))
            stamp[1, block](out)
            assert int(out.copy_to_host()[0]) == block
    assert len(slow_calls) == 2
    assert total_hits(stamp) == before + 10


def test_evicted_configurations_compile_again_when_launched(slow_calls):
    stamp = make_block_stamp()
    numba_cuda_lcs.set_max_specializations(stamp, 2)  # the root and one more
    out = cuda.to_device(np.zeros(1, np.int64))
    for block in (32, 64, 96, 64, 32):
        stamp[1, block](out)
        assert int(out.copy_to_host()[0]) == block
    # 96 evicted 64, and 64 evicted 96: the configured launches of 64 and 32
    # (cached by numba-cuda's configure) must not relaunch what they
    # remembered before the evictions.
    assert len(slow_calls) == 5


def test_deactivate_sends_held_configured_launches_to_numba_cuda():
    store = make_store()
    configured = store[1, 1]
    out = cuda.to_device(np.zeros(1, np.float64))
    configured(out, 1.0)
    args = (out, 1.0)
    context = launcher.current_context()
    assert launcher.impl.match(configured, args, context) == 0
    numba_cuda_lcs.deactivate()
    try:
        assert launcher.impl.match(configured, args, context) == -1
        configured(out, 2.0)  # numba-cuda's own call now
        assert out.copy_to_host()[0] == 2.0
    finally:
        numba_cuda_lcs.activate()
    configured(out, 3.0)
    configured(out, 4.0)
    assert out.copy_to_host()[0] == 4.0


def test_cupy_arrays_reshaped_in_place_are_typed_again(slow_calls):
    cupy = pytest.importorskip("cupy")

    @cuda.jit
    def ndim_of(a, out):
        out[0] = a.ndim
        out[1] = a.shape[0]

    out = cuda.to_device(np.zeros(2, np.int64))
    a = cupy.zeros(16, dtype=cupy.float32)
    ndim_of[1, 1](a, out)
    ndim_of[1, 1](a, out)
    assert len(slow_calls) == 1
    a.shape = (4, 4)  # same object, another numba type
    ndim_of[1, 1](a, out)
    assert list(out.copy_to_host()) == [2, 4]
    assert len(slow_calls) == 2
    b = cupy.ones(16, dtype=cupy.float32)  # another object: typed once
    ndim_of[1, 1](b, out)
    ndim_of[1, 1](b, out)
    assert list(out.copy_to_host()) == [1, 16]
    assert len(slow_calls) == 3


def _copy_kernel():
    @cuda.jit
    def copy(src, dst):
        i = cuda.grid(1)
        if i < src.size:
            dst[i] = src[i]

    return copy


def test_cupy_arrays_relaunch_from_their_attributes(slow_calls):
    # CuPy is read by attributes (launcher.configure_cupy, armed on import),
    # not by building __cuda_array_interface__ on every launch.
    cupy = pytest.importorskip("cupy")
    copy = _copy_kernel()[4, 64]
    src, dst = cupy.arange(256, dtype=cupy.float32), cupy.zeros(256, dtype=cupy.float32)
    for k in range(5):
        src += 1
        copy(src, dst)
        assert float(dst[255]) == 256 + k  # each launch sees the latest values
    assert len(slow_calls) == 1


def test_cupy_arrays_on_another_stream_are_ordered_by_the_slow_path(slow_calls):
    cupy = pytest.importorskip("cupy")
    copy = _copy_kernel()[1024, 256]
    n = 1 << 18
    src, dst = cupy.zeros(n, dtype=cupy.float32), cupy.zeros(n, dtype=cupy.float32)
    copy(src, dst)
    with cupy.cuda.Stream(non_blocking=True):
        for _ in range(20):  # queue work on CuPy's stream the launch must follow
            src += 1
        copy(src, dst)  # numba-cuda's default stream: numba-cuda orders CuPy's before it
    cuda.synchronize()
    assert len(slow_calls) == 2
    assert float(dst[-1]) == 20.0
    copy(src, dst)
    assert len(slow_calls) == 2  # back on CuPy's default stream: the fast path


def test_torch_tensors_relaunch_through_dlpack_exchange(slow_calls):
    torch = pytest.importorskip("torch")
    if not hasattr(torch.Tensor, "__dlpack_c_exchange_api__"):
        pytest.skip(f"torch {torch.__version__} has no DLPack exchange API")
    copy = _copy_kernel()[4, 64]
    src = torch.arange(256, dtype=torch.float32, device="cuda")
    dst = torch.zeros(256, dtype=torch.float32, device="cuda")
    for k in range(5):
        src += 1
        copy(src, dst)
        assert float(dst[255]) == 256 + k
    assert len(slow_calls) == 1
    view = src[::2]  # strided: its own kernel, relaunched too
    half = torch.zeros(128, dtype=torch.float32, device="cuda")
    copy(view, half)
    copy(view, half)
    assert len(slow_calls) == 2
    assert torch.equal(half, src[::2])


def test_torch_tensors_requiring_grad_launch_as_numba_cuda_launches_them(slow_calls):
    # numba-cuda 0.30.4 accepts them (measured, stock): so does the fast path.
    torch = pytest.importorskip("torch")
    copy = _copy_kernel()[4, 64]
    src = torch.ones(256, dtype=torch.float32, device="cuda")
    dst = torch.zeros(256, dtype=torch.float32, device="cuda")
    copy(src, dst)
    src.requires_grad_(True)
    with torch.no_grad():
        src.mul_(3)
    copy(src, dst)
    assert len(slow_calls) == 1
    assert float(dst[0]) == 3.0


def test_torch_tensors_on_another_stream_are_ordered_by_the_slow_path(slow_calls):
    torch = pytest.importorskip("torch")
    copy = _copy_kernel()[1024, 256]
    n = 1 << 18
    src = torch.zeros(n, dtype=torch.float32, device="cuda")
    dst = torch.zeros(n, dtype=torch.float32, device="cuda")
    copy(src, dst)
    stream = torch.cuda.Stream()
    with torch.cuda.stream(stream):
        for _ in range(20):
            src += 1
        copy(src, dst)
    cuda.synchronize()
    torch.cuda.synchronize()
    assert len(slow_calls) == 2
    assert float(dst[-1]) == 20.0
