"""numba-cuda-mlir kernels through the C launch path, on a GPU (skipped
without one): a configured launch remembers a launch numba-cuda-mlir made
and launches such arguments again from C (``launch_plans.py``).  Every test
checks results on launches the fast path made (``launcher.match`` says it
would serve them), with new arrays and new values each time, against what
numba-cuda-mlir's own path computes."""

import numpy as np
import pytest

pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402

from numba_cuda_lcs import launch, launcher  # noqa: E402

pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("quiet_warnings")]


def served_from_c(site, args):
    """Whether the launch site's C path would launch *args* now."""
    return launcher.impl.match(site, tuple(args), launcher.current_context()) >= 0


def test_arrays_and_scalars_launch_from_c_with_new_values():
    @cuda.jit
    def axpy(out, x, a, n):
        i = cuda.grid(1)
        if i < n:
            out[i] = a * x[i] + i

    n = 1000
    site = axpy[8, 128]
    fast = 0
    for step in range(6):
        x = cuda.to_device(np.arange(n, dtype=np.float32) * (step + 1))
        out = cuda.device_array(n, np.float32)
        a = 0.5 + step
        args = (out, x, a, n)
        fast += served_from_c(site, args)
        site(*args)
        want = (a * np.arange(n, dtype=np.float32) * (step + 1) + np.arange(n)).astype(np.float32)
        np.testing.assert_allclose(out.copy_to_host(), want, rtol=1e-6)
    assert launcher.impl.remembered(site) >= 1
    assert fast == 5  # every launch after the first


@pytest.mark.parametrize(
    "value",
    [
        np.int32(-7),
        np.int8(-3),
        np.uint16(65000),
        np.uint64(2**63 + 5),
        2**40,
        True,
        2.5,
        np.float32(1.25),
    ],
    ids=["int32", "int8", "uint16", "uint64", "int", "bool", "float", "float32"],
)
def test_scalar_kinds_reach_the_kernel_unchanged(value):
    @cuda.jit
    def store(out, v):
        out[0] = v

    dtype = np.asarray(value).dtype
    site = store[1, 1]
    for delta in (0, 1, 1):  # the second and third launch come from C
        v = value if delta == 0 or dtype == np.bool_ else type(value)(value - 1)
        out = cuda.device_array(1, dtype)
        served = served_from_c(site, (out, v))
        site(out, v)
        assert out.copy_to_host()[0] == v
    assert served


def test_strided_and_fortran_arrays():
    @cuda.jit
    def copy2d(out, x):
        i, j = cuda.grid(2)
        if i < x.shape[0] and j < x.shape[1]:
            out[i, j] = x[i, j] * 2

    host = np.arange(24 * 40, dtype=np.float64).reshape(24, 40)
    views = {
        "every third column": lambda d: d[:, ::3],
        "every other row": lambda d: d[::2, 1:],
        "fortran order": lambda d: d,
    }
    for name, view in views.items():
        site = copy2d[(4, 8), (8, 8)]
        for scale in (1, 3, 5):
            values = host * scale
            if name == "fortran order":
                values = np.asfortranarray(values)
            x = view(cuda.to_device(values))
            out = cuda.device_array(x.shape, np.float64)
            site(out, x)
            want = view(values) * 2
            np.testing.assert_array_equal(out.copy_to_host(), want, err_msg=name)


def _add_kernel():
    """A fresh kernel: out = x + y."""

    @cuda.jit
    def add(out, x, y):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = x[i] + y[i]

    return add


def _cupy_operands(cp, stream, n):
    """(busy, x, y, out): CuPy arrays made on *stream*, x zeros and y ones of
    *n* elements, busy a large one for slow work."""
    with stream:
        busy = cp.ones(1 << 24, dtype=cp.float32)
        x = cp.zeros(n, dtype=cp.float32)
        y = cp.ones(n, dtype=cp.float32)
        out = cp.empty(n, dtype=cp.float32)
    return busy, x, y, out


def _update_after_slow_work(busy, x):
    """On the current stream: slow work, then x += 1 -- a launch that does
    not wait for that stream reads x before its update."""
    for _ in range(8):
        busy *= 1.0
    x += 1


def test_cupy_arrays_on_a_configured_stream_and_on_none():
    # With no stream configured numba-cuda-mlir launches on CuPy's current
    # stream (here a non-blocking one, then CuPy's default), synchronising
    # the stream each array's interface names first; so does a plan (the
    # stream read at each launch: tests/launch_path/test_launch_over_fake_driver.py).
    # The arrays are updated in place on that stream between launches, so
    # a launch on another stream would read stale values; after the first
    # launch each one is a remembered launch (match).
    cp = pytest.importorskip("cupy")
    add = _add_kernel()
    # A launch on another stream than CuPy's current one synchronises the
    # current one too (the plan's CuPy reader names it as the interface does).
    stream = cp.cuda.Stream(non_blocking=True)
    other = cp.cuda.Stream(non_blocking=True)
    cases = (
        (stream.ptr, stream),
        (None, stream),
        (None, cp.cuda.Stream.null),
        (other.ptr, stream),
    )
    for configured, current in cases:
        n = 1 << 20
        site = add[n // 256, 256, configured] if configured else add[n // 256, 256]
        busy, x, y, out = _cupy_operands(cp, current, n)
        for k in range(4):
            with current:
                _update_after_slow_work(busy, x)  # queued before the launch
                if k:
                    context = launcher.current_context()
                    assert launcher.impl.match(site, (out, x, y), context) >= 0, (configured, k)
                site(out, x, y)
                current.synchronize()
                other.synchronize()
            np.testing.assert_array_equal(cp.asnumpy(out), np.full(n, k + 2, np.float32))


def test_with_no_stream_configured_kernels_run_on_cupys_current_stream(monkeypatch):
    # numba-cuda-mlir launches on CuPy's current stream when a CuPy array is
    # an argument and no stream is configured; so must a remembered launch
    # (the site reads CuPy's current stream pointer at each launch).  A slow
    # kernel is still running on that stream right after the launch.  (Not
    # checked on the first two launches, where the kernel is compiled and
    # loaded: on an H200 the very first found the stream idle already.)
    cp = pytest.importorskip("cupy")
    from numba_cuda_lcs.backends.numba_cuda_mlir.manifest import NAMES

    @cuda.jit
    def slow(x, n):
        for _ in range(n):
            x[0] += 1.0

    from numba_cuda_lcs.backends.numba_cuda_mlir.configured_launch import ConfiguredLaunch

    slow_calls = []
    stock_slow_call = ConfiguredLaunch._lcs_slow_call

    def counting_slow_call(self, args):
        slow_calls.append(1)
        return stock_slow_call(self, args)

    monkeypatch.setattr(ConfiguredLaunch, "_lcs_slow_call", counting_slow_call)
    monkeypatch.setattr(NAMES.cuda_config, "CUDA_ARRAY_INTERFACE_SYNC", 0)
    site, n = slow[1, 1], 1 << 21
    x = cp.zeros(1, dtype=cp.float32)
    first, second = cp.cuda.Stream(non_blocking=True), cp.cuda.Stream(non_blocking=True)
    launches = [(first, False), (first, False), (first, True), (second, True), (second, True)]
    for k, (stream, check) in enumerate(launches):
        with stream:
            site(x, n)
            # after numba-cuda-mlir's own launch, every one from C (which
            # reads CuPy's stream when it launches)
            assert len(slow_calls) == 1, k
            if check:
                assert not stream.done, k  # queued on CuPy's current stream
            stream.synchronize()
    assert float(x[0]) == len(launches) * n


def test_interface_sync_turned_on_at_run_time_synchronises_the_next_launches(monkeypatch):
    # numba-cuda-mlir reads NUMBA_CUDA_ARRAY_INTERFACE_SYNC at every launch.
    # A launch remembered while it was off must not launch without the
    # synchronisation once it is on: the arrays are updated on CuPy's
    # current stream, after slow work, and the kernel runs on another one.
    cp = pytest.importorskip("cupy")
    from numba_cuda_lcs.backends.numba_cuda_mlir.manifest import NAMES

    current = cp.cuda.Stream(non_blocking=True)
    other = cp.cuda.Stream(non_blocking=True)
    n = 1 << 20
    site = _add_kernel()[n // 256, 256, other.ptr]
    busy, x, y, out = _cupy_operands(cp, current, n)
    monkeypatch.setattr(NAMES.cuda_config, "CUDA_ARRAY_INTERFACE_SYNC", 0)
    for _ in range(2):  # remembered with the setting off (ordered by hand)
        with current:
            x += 1
            current.synchronize()
            site(out, x, y)
        other.synchronize()
    assert served_from_c(site, (out, x, y))
    monkeypatch.setattr(NAMES.cuda_config, "CUDA_ARRAY_INTERFACE_SYNC", 1)
    for k in range(4):
        with current:
            _update_after_slow_work(busy, x)
            if k:
                assert served_from_c(site, (out, x, y)), k
            site(out, x, y)
        other.synchronize()
        current.synchronize()
        np.testing.assert_array_equal(cp.asnumpy(out), np.full(n, k + 4, np.float32))


def test_lcs_kernel_alternating_block_sizes_launch_from_c():
    @cuda.jit
    def stamp(out):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = launch.threads_per_block()

    sites = {block: stamp[2, block] for block in (32, 64, 128)}
    for _ in range(3):
        for block, site in sites.items():
            out = cuda.device_array(2 * block, np.int32)
            site(out)
            assert (out.copy_to_host() == block).all()
    assert all(launcher.impl.remembered(site) >= 1 for site in sites.values())


def test_recompile_and_dtype_change_launch_the_right_kernel():
    scale = 2

    @cuda.jit
    def times(out, x):
        i = cuda.grid(1)
        if i < x.size:
            out[i] = x[i] * scale

    site = times[1, 64]
    for dtype in (np.float32, np.float64, np.int32, np.float32):
        x = cuda.to_device(np.arange(64, dtype=dtype))
        out = cuda.device_array(64, dtype)
        site(out, x)
        site(out, x)
        np.testing.assert_array_equal(out.copy_to_host(), np.arange(64, dtype=dtype) * 2)
    times.recompile()  # globals are read again at the next compile
    x = cuda.to_device(np.arange(64, dtype=np.float32))
    out = cuda.device_array(64, np.float32)
    assert not served_from_c(site, (out, x))
    site(out, x)
    site(out, x)
    np.testing.assert_array_equal(out.copy_to_host(), np.arange(64, dtype=np.float32) * 2)


def test_plain_kernels_launch_from_c_while_planners_are_registered():
    # cuda.coop registers whole-function planners: kernels launch from C,
    # with the dynamic shared memory a planner requires (here 64 KiB: the
    # plan's function opted in too), and kernels a planner made
    # launch-dependent per configuration (here 32 and 64 threads).
    from numba_cuda_mlir._whole_function_planners import (
        WholeFunctionPlanner,
        _planner_registry,
        register_planner,
        require_launch_config,
        set_required_dynamic_shared_memory,
    )

    class Planner(WholeFunctionPlanner):
        def run(self):
            name = self.state.func_id.func_name
            if name == "needs_shared":
                set_required_dynamic_shared_memory(self.state, 64 * 1024)
            elif name == "per_launch" and not self.is_device_function:
                require_launch_config(self.state)
            return False

    @cuda.jit
    def plain(out):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = i

    @cuda.jit
    def needs_shared(out):
        buf = cuda.shared.array(0, np.int32)
        i = cuda.threadIdx.x
        buf[16383 - i] = 3 * i  # the last of 64 KiB
        cuda.syncthreads()
        out[i] = buf[16383 - i]

    @cuda.jit
    def per_launch(out):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = cuda.blockDim.x

    expected = {
        plain: np.arange(32),
        needs_shared: 3 * np.arange(32),
        per_launch: np.full(32, 32),
    }
    register_planner(Planner)
    try:
        for kernel, want in expected.items():
            site = kernel[1, 32]
            out = cuda.device_array(32, np.int32)
            for _ in range(3):
                out.copy_to_device(np.zeros(32, np.int32))
                site(out)
                np.testing.assert_array_equal(out.copy_to_host(), want, err_msg=kernel.__name__)
            assert launcher.impl.remembered(site) >= 1, kernel.__name__
        # two configurations of the launch-dependent kernel, alternating
        sites = {block: per_launch[1, block] for block in (32, 64)}
        outs = {block: cuda.device_array(block, np.int32) for block in sites}
        for _ in range(3):
            for block, site in sites.items():
                outs[block].copy_to_device(np.zeros(block, np.int32))
                site(outs[block])
                np.testing.assert_array_equal(outs[block].copy_to_host(), np.full(block, block))
        assert all(launcher.impl.remembered(site) >= 1 for site in sites.values())
    finally:
        _planner_registry._planners.remove(Planner)


def test_a_refused_launch_raises_what_numba_cuda_mlir_raises():
    from cuda.core._utils.cuda_utils import CUDAError

    @cuda.jit
    def noop(out):
        out[0] = 1

    out = cuda.device_array(1, np.int32)
    noop[1, 32](out)
    noop[1, 32](out)
    with pytest.raises(CUDAError):
        noop[1, 4096](out)  # more threads than a block may have


def test_shared_memory_past_48_kib_is_planned_opted_in():
    # 16 KiB static, then 8 KiB dynamic (within the 48 KiB a function takes
    # without opting in), 40 KiB and 100 KiB (past it: numba-cuda-mlir opts
    # its function in, a plan its own one).  (numba-cuda-mlir 0.6.0 places
    # the dynamic array over the static one -- seen on an H200 -- so the
    # static one is read before the dynamic one is written.)
    @cuda.jit
    def fill(out):
        static = cuda.shared.array(4096, np.float32)
        dynamic = cuda.shared.array(0, np.float32)
        i = cuda.threadIdx.x
        static[i] = i
        cuda.syncthreads()
        mirrored = static[31 - i]
        cuda.syncthreads()
        dynamic[i] = 2 * i
        cuda.syncthreads()
        out[i] = mirrored + dynamic[i]

    want = 31 + np.arange(32, dtype=np.float32)
    for kib in (8, 40, 100):
        site = fill[1, 32, 0, kib * 1024]
        for _ in range(3):
            out = cuda.device_array(32, np.float32)
            site(out)
            np.testing.assert_array_equal(out.copy_to_host(), want)
        assert launcher.impl.remembered(site) >= 1, kib


@pytest.mark.gpu(2)
def test_arrays_of_another_device_launch_in_that_devices_context():
    # numba-cuda-mlir launches in its first array's context; a plan only in
    # the current one, so such launches take numba-cuda-mlir's path.

    @cuda.jit
    def double(out, x):
        i = cuda.grid(1)
        if i < x.size:
            out[i] = 2 * x[i]

    site = double[1, 64]
    x0 = cuda.to_device(np.arange(64, dtype=np.float32))
    out0 = cuda.device_array(64, np.float32)
    site(out0, x0)
    site(out0, x0)
    assert served_from_c(site, (out0, x0))
    with cuda.gpus[1]:
        x1 = cuda.to_device(np.arange(64, dtype=np.float32) + 1)
        out1 = cuda.device_array(64, np.float32)
    for _ in range(2):
        site(out1, x1)  # from device 0's context
    with cuda.gpus[1]:
        np.testing.assert_array_equal(out1.copy_to_host(), 2 * (np.arange(64) + 1))
