"""Readers: a launch site reads a remembered CuPy array or DLPack-exchange
object (PyTorch 2.10+) by its attributes or one C call, not by building
``__cuda_array_interface__`` on every launch.  What a user relies on:

* a reader is used only where it gives exactly what numba-cuda's own
  marshalling gives (the plan's fallback) for that object;
* any change numba-cuda would see -- pointer, shape, strides, dtype,
  device, the producer's current stream -- sends the launch to the slow
  path, which orders the streams or raises as stock does.

Fakes stand in for CuPy and PyTorch: a CuPy-like class registered with
``configure_cupy``, and a class whose DLPack exchange API is a ctypes table.
The readers' tests run over the C module and its pure-Python twin (their
fixtures request ``twins``): each implements the readers on its own.  The
hit counter's base class is fixed at import: once.
"""

import ctypes
import sys
import types

import numpy as np
import pytest

from numba_cuda_lcs import activation, launcher
from numba_cuda_lcs._launcher_py.arg_kinds import K_ARRAY

twin = launcher.IMPLEMENTATIONS["python"]

CONTEXT = 0x5000


class Site(launcher.LaunchSite):
    def __init__(self):
        self.dispatcher = None
        self.pre_launch_callbacks = []


def _c_strides(shape, itemsize):
    out, step = [], itemsize
    for extent in reversed(shape):
        out.append(step)
        step *= extent
    return tuple(reversed(out))


def numba_values(ptr, shape, strides, itemsize):
    """What numba-cuda's marshalling gives for an array argument."""
    size = int(np.prod(shape, dtype=np.int64)) if shape else 1
    return [0, 0, size, itemsize, ptr, *shape, *strides]


class Recorder:
    """The plan's fallback (numba-cuda's marshalling), recording calls."""

    def __init__(self, disagree=False):
        self.calls = 0
        self.disagree = disagree

    def __call__(self, value, stream, retr):
        self.calls += 1
        vals = value.numba_values()
        if self.disagree:
            vals[-1] += 1
        return vals


def array_launcher(ndim, itemsize=4, typestr="<f4", fallback=None):
    plan = (
        (K_ARRAY, fallback or Recorder(), (8,) * (5 + 2 * ndim), ndim, itemsize, typestr, True),
    )
    return launcher.Launcher(0x1234, (1, 1, 1), (1, 1, 1), 0, False, plan)


def remember(site, args, lnch, stream_handle=0):
    return launcher.remember(site, tuple(args), lnch, stream_handle, None, None, CONTEXT)


def match(site, args):
    return launcher.impl.match(site, tuple(args), CONTEXT)


# -- CuPy ---------------------------------------------------------------------


class Stream:
    def __init__(self, ptr):
        self.ptr = ptr


class Memory:
    def __init__(self, ptr):
        self.ptr = ptr


class FakeCupy:
    """The attributes of cupy.ndarray a reader uses, plus its interface."""

    current = Stream(0)  # CuPy's current stream (cupy.cuda.get_current_stream)
    null_stream = 1  # what the interface says for stream 0 (2: per-thread)

    def __init__(self, shape=(16,), strides=None, dtype=np.float32, ptr=0x1000):
        self.dtype = np.dtype(dtype)
        self.data = Memory(ptr)
        self.shape = shape
        self._strides = strides
        self.interface_reads = 0

    @property
    def ndim(self):
        return len(self.shape)

    @property
    def size(self):
        return int(np.prod(self.shape, dtype=np.int64))

    @property
    def _c_contiguous(self):
        return self._strides is None

    @property
    def strides(self):
        return self._strides or _c_strides(self.shape, self.dtype.itemsize)

    def __dlpack__(self, stream=None):  # numba-cuda imports CuPy by DLPack
        raise BufferError("a fake: numba-cuda's own import is not run on CPU")

    @property
    def __cuda_array_interface__(self):
        self.interface_reads += 1
        ptr = FakeCupy.current.ptr or FakeCupy.null_stream
        return dict(
            shape=self.shape,
            typestr=self.dtype.str,
            data=(self.data.ptr, False),
            version=3,
            strides=self._strides,
            stream=ptr,
        )

    def numba_values(self):
        return numba_values(self.data.ptr, self.shape, self.strides, self.dtype.itemsize)


def configure_cupy_as_import_does():
    """The reader of the real CuPy where it is imported, else none (what
    ``import cupy`` configures)."""
    if "cupy" in sys.modules:
        activation._cupy_imported()
    else:
        launcher.configure_cupy(None, None)


@pytest.fixture
def cupy_reader(twins):
    FakeCupy.current, FakeCupy.null_stream = Stream(0), 1
    launcher.configure_cupy(FakeCupy, lambda: FakeCupy.current)
    try:
        yield
    finally:
        configure_cupy_as_import_does()


def test_cupy_arrays_are_read_by_attributes_once_remembered(cupy_reader):
    site, a = Site(), FakeCupy()
    fallback = Recorder()
    assert remember(site, [a], array_launcher(1, fallback=fallback))
    assert fallback.calls == 1  # the reader was checked against numba-cuda's values
    a.interface_reads = 0
    assert [match(site, [a]) for _ in range(3)] == [0, 0, 0]
    assert a.interface_reads == 0


def test_cupy_changes_numba_cuda_would_see_take_the_slow_path(cupy_reader):
    site, a = Site(), FakeCupy(shape=(4, 4))
    assert remember(site, [a], array_launcher(2))
    assert match(site, [a]) == 0
    a.shape = (2, 8)  # reshaped in place
    assert match(site, [a]) == -1
    a.shape = (4, 4)
    a.data = Memory(0x2000)  # another allocation
    assert match(site, [a]) == -1
    a.data = Memory(0x1000)
    a._strides = (4, 16)  # a transposed view's strides
    assert match(site, [a]) == -1
    a._strides = None
    a.dtype = np.dtype(np.int32)
    assert match(site, [a]) == -1
    a.dtype = np.dtype(np.float32)
    assert match(site, [a]) == 0
    assert match(site, [FakeCupy(shape=(4, 4))]) == -1  # another object


def test_cupy_vectors_changed_in_place_take_the_slow_path(cupy_reader):
    # (a 1-D array's shape is read through its size)
    site, a = Site(), FakeCupy(shape=(16,))
    assert remember(site, [a], array_launcher(1))
    assert match(site, [a]) == 0
    a.shape = (8,)
    assert match(site, [a]) == -1
    a.shape = (2, 8)
    assert match(site, [a]) == -1
    a.shape = (16,)
    a._strides = (8,)  # every other element
    assert match(site, [a]) == -1
    a._strides = None
    assert match(site, [a]) == 0


def test_cupy_reader_follows_changes_to_the_class(cupy_reader):
    # The C reader calls the attributes' descriptors it found on the class
    # directly; a class changed afterwards (here or in a base) is read anew.
    class Base(FakeCupy):
        pass

    class Array(Base):
        pass

    launcher.configure_cupy(Array, lambda: FakeCupy.current)
    site, a = Site(), Array(shape=(16,))
    assert remember(site, [a], array_launcher(1))
    assert [match(site, [a]) for _ in range(2)] == [0, 0]
    Array.size = property(lambda self: 8)
    assert match(site, [a]) == -1
    del Array.size
    assert match(site, [a]) == 0
    Base._c_contiguous = property(lambda self: False)  # strides read: (4,) here
    Base.strides = property(lambda self: (8,))
    assert match(site, [a]) == -1
    del Base._c_contiguous, Base.strides
    assert match(site, [a]) == 0


def test_the_c_reader_keeps_the_descriptors_it_reads_by(cupy_reader, twins):
    # attr_memo.h: the C reader calls the descriptors it found on the class
    # (holding a reference to each) instead of looking them up at every
    # read -- on every Python version it supports; a changed class is
    # looked up again.
    if twins != "c":
        pytest.skip("the Python twin reads attributes as Python does")

    class Array(FakeCupy):
        pass

    launcher.configure_cupy(Array, lambda: FakeCupy.current)
    size = FakeCupy.__dict__["size"]
    held = sys.getrefcount(size)
    site, a = Site(), Array(shape=(16,))
    assert remember(site, [a], array_launcher(1))
    assert match(site, [a]) == 0
    assert sys.getrefcount(size) == held + 1
    Array.size = property(lambda self: 16)  # the same value, another descriptor
    assert match(site, [a]) == 0
    assert sys.getrefcount(size) == held


def test_cupy_reader_follows_a_descriptor_class_changed_later(cupy_reader):
    # (descriptors of a class that can change are read as Python reads them)
    class Size:
        def __get__(self, obj, objtype=None):
            return 16

        def __set__(self, obj, value):
            raise AttributeError

    class Array(FakeCupy):
        size = Size()

    launcher.configure_cupy(Array, lambda: FakeCupy.current)
    site, a = Site(), Array(shape=(16,))
    assert remember(site, [a], array_launcher(1))
    assert match(site, [a]) == 0
    del Size.__get__  # Array.size is now the Size object itself: not a size
    assert match(site, [a]) == -1


def test_cupy_arrays_of_more_dimensions_than_the_reader_takes_use_the_interface(cupy_reader):
    site, a = Site(), FakeCupy(shape=(1,) * 40)
    assert remember(site, [a], array_launcher(40))
    a.interface_reads = 0
    assert match(site, [a]) == 0 and a.interface_reads == 1


def test_cupy_strided_arrays_compare_their_strides(cupy_reader):
    site, a = Site(), FakeCupy(shape=(4, 4), strides=(4, 16))
    assert remember(site, [a], array_launcher(2))
    a.interface_reads = 0
    assert match(site, [a]) == 0 and a.interface_reads == 0
    a._strides = (4, 32)
    assert match(site, [a]) == -1


def test_cupy_on_another_stream_takes_the_slow_path(cupy_reader):
    # numba-cuda's DLPack import orders CuPy's current stream before the
    # launch's: only the slow path does that.
    site, a = Site(), FakeCupy()
    assert remember(site, [a], array_launcher(1))
    assert match(site, [a]) == 0
    FakeCupy.current = Stream(0xABC)
    assert match(site, [a]) == -1
    FakeCupy.current = Stream(0)
    assert match(site, [a]) == 0


def test_importing_cupy_arms_the_reader_with_its_current_stream(cupy_reader, monkeypatch):
    cuda_module = types.SimpleNamespace(get_current_stream=lambda: FakeCupy.current)
    monkeypatch.setitem(
        sys.modules, "cupy", types.SimpleNamespace(ndarray=FakeCupy, cuda=cuda_module)
    )
    activation._cupy_imported()
    site, a = Site(), FakeCupy()
    assert remember(site, [a], array_launcher(1))
    a.interface_reads = 0
    assert match(site, [a]) == 0 and a.interface_reads == 0  # read by attributes
    FakeCupy.current = Stream(0xABC)
    assert match(site, [a]) == -1  # CuPy's stream is another one now
    FakeCupy.current = Stream(0)
    assert match(site, [a]) == 0


def test_cupy_user_stream_launches_match_their_own_stream(cupy_reader):
    FakeCupy.current = Stream(0xABC)
    site, a = Site(), FakeCupy()
    assert remember(site, [a], array_launcher(1), stream_handle=0xABC)
    a.interface_reads = 0
    assert match(site, [a]) == 0 and a.interface_reads == 0
    FakeCupy.current = Stream(0)
    assert match(site, [a]) == -1


def test_cupy_per_thread_default_stream_is_not_the_legacy_one(cupy_reader):
    # With per-thread default streams, CuPy's stream 0 is named 2 by its
    # interface: not the legacy default stream that handle 0 launches on.
    FakeCupy.null_stream = 2
    site, a = Site(), FakeCupy()
    assert remember(site, [a], array_launcher(1))
    assert match(site, [a]) == -1
    site2 = Site()
    assert remember(site2, [a], array_launcher(1), stream_handle=2)
    assert match(site2, [a]) == 0


def test_no_reader_where_it_disagrees_with_numba_cuda(cupy_reader):
    site, a = Site(), FakeCupy()
    assert remember(site, [a], array_launcher(1, fallback=Recorder(disagree=True)))
    a.interface_reads = 0
    assert match(site, [a]) == 0  # served, through the interface dict as before
    assert a.interface_reads == 1


def test_cupy_reader_off_reads_the_interface(cupy_reader):
    launcher.configure_cupy(None, None)
    site, a = Site(), FakeCupy()
    assert remember(site, [a], array_launcher(1))
    a.interface_reads = 0
    assert match(site, [a]) == 0 and a.interface_reads == 1


def test_configure_cupy_rejects_what_is_not_a_class_and_a_callable(twins):
    with pytest.raises(TypeError, match="configure_cupy"):
        launcher.impl.configure_cupy("cupy.ndarray", None)


# -- DLPack's C exchange API ---------------------------------------------------


# The twin's declarations of dlpack.h's structs; the C module has its own,
# so a layout mistake in either fails that module's tests.
ExchangeAPI = twin.dlpack_abi.ExchangeAPI
FROM_PY, WORK_STREAM = twin.dlpack_abi.FROM_PY, twin.dlpack_abi.WORK_STREAM


class FakeTensor:
    """A producer with DLPack's exchange API (as torch.Tensor has)."""

    work_stream = 0  # the producer's current stream (0: legacy default)
    fail = False  # the exchange call fails (a Python error set)

    def __init__(self, shape=(16,), strides=None, bits=32, code=2, ptr=0x1000, device=0):
        self.shape, self.strides, self.bits, self.code = shape, strides, bits, code
        self.ptr, self.device, self.offset = ptr, device, 0
        self.interface_reads = 0

    @property
    def itemsize(self):
        return self.bits // 8

    def __dlpack__(self, stream=None):
        raise BufferError("a fake: numba-cuda's own import is not run on CPU")

    @property
    def __cuda_array_interface__(self):  # v2: no stream, as PyTorch's
        self.interface_reads += 1
        strides = None if self.strides is None else tuple(s * self.itemsize for s in self.strides)
        return dict(
            typestr=f"<f{self.itemsize}",
            shape=self.shape,
            strides=strides,
            data=(self.ptr, False),
            version=2,
        )

    def numba_values(self):
        strides = self.strides or tuple(
            s // self.itemsize for s in _c_strides(self.shape, self.itemsize)
        )
        return numba_values(
            self.ptr + self.offset, self.shape, [s * self.itemsize for s in strides], self.itemsize
        )


def _fill(obj, out):
    if FakeTensor.fail:  # a producer also sets an error, which a ctypes callback cannot
        return -1
    t = out.contents
    obj._keep = (
        (ctypes.c_int64 * max(len(obj.shape), 1))(*obj.shape),
        None if obj.strides is None else (ctypes.c_int64 * max(len(obj.strides), 1))(*obj.strides),
    )
    t.data, t.byte_offset = obj.ptr, obj.offset
    t.device.device_type, t.device.device_id = 2, obj.device
    t.ndim = len(obj.shape)
    t.dtype.code, t.dtype.bits, t.dtype.lanes = obj.code, obj.bits, 1
    t.shape = ctypes.cast(obj._keep[0], ctypes.POINTER(ctypes.c_int64))
    t.strides = (
        None if obj._keep[1] is None else ctypes.cast(obj._keep[1], ctypes.POINTER(ctypes.c_int64))
    )
    return 0


def _work_stream(device_type, device_id, out):
    out[0] = FakeTensor.work_stream or None
    return 0


_CALLBACKS = (FROM_PY(_fill), WORK_STREAM(_work_stream))  # kept alive
_API = ExchangeAPI(
    1, 3, None, None, None, None, *(ctypes.cast(f, ctypes.c_void_p).value for f in _CALLBACKS)
)
_NAME = b"dlpack_exchange_api"
_capsule_new = ctypes.PYFUNCTYPE(
    ctypes.py_object, ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p
)(("PyCapsule_New", ctypes.pythonapi))
FakeTensor.__dlpack_c_exchange_api__ = _capsule_new(ctypes.addressof(_API), _NAME, None)


@pytest.fixture
def tensors(twins):
    FakeTensor.work_stream, FakeTensor.fail = 0, False
    yield
    FakeTensor.work_stream, FakeTensor.fail = 0, False


def test_exchange_api_objects_are_read_without_their_interface(tensors):
    site, t = Site(), FakeTensor(shape=(4, 4))
    fallback = Recorder()
    assert remember(site, [t], array_launcher(2, fallback=fallback))
    assert fallback.calls == 1
    t.interface_reads = 0
    assert [match(site, [t]) for _ in range(3)] == [0, 0, 0]
    assert t.interface_reads == 0


@pytest.mark.parametrize(
    "change",
    [
        lambda t: setattr(t, "shape", (2, 8)),
        lambda t: setattr(t, "strides", (1, 4)),
        lambda t: setattr(t, "ptr", 0x2000),
        lambda t: setattr(t, "offset", 16),
        lambda t: setattr(t, "device", 1),
        lambda t: setattr(t, "code", 0),  # an int32 tensor of the same width
    ],
    ids=["shape", "strides", "pointer", "offset", "device", "dtype"],
)
def test_exchange_api_changes_take_the_slow_path(tensors, change):
    site, t = Site(), FakeTensor(shape=(4, 4))
    assert remember(site, [t], array_launcher(2))
    assert match(site, [t]) == 0
    change(t)
    assert match(site, [t]) == -1


def test_exchange_api_stream_must_be_the_launchs(tensors):
    site, t = Site(), FakeTensor()
    assert remember(site, [t], array_launcher(1))
    FakeTensor.work_stream = 0xBEEF  # e.g. `with torch.cuda.stream(s):`
    assert match(site, [t]) == -1
    user = Site()
    assert remember(user, [t], array_launcher(1), stream_handle=0xBEEF)
    assert match(user, [t]) == 0
    FakeTensor.work_stream = 0
    assert match(site, [t]) == 0 and match(user, [t]) == -1


def test_exchange_api_failures_are_mismatches_not_errors(tensors):
    site, t = Site(), FakeTensor()
    assert remember(site, [t], array_launcher(1))
    FakeTensor.fail = True
    assert match(site, [t]) == -1


def test_exchange_api_disagreeing_with_numba_cuda_keeps_the_interface(tensors):
    site, t = Site(), FakeTensor()
    assert remember(site, [t], array_launcher(1, fallback=Recorder(disagree=True)))
    t.interface_reads = 0
    assert match(site, [t]) == 0 and t.interface_reads == 1


# -- hit counter ---------------------------------------------------------------


def test_dispatcher_state_counts_hits_in_its_base_class():
    pytest.importorskip("numba.cuda")
    from numba_cuda_lcs.backends.numba_cuda.records import DispatcherState

    state = DispatcherState()
    assert isinstance(state, launcher.HitCounter) and state.hits == 0
    state.hits += 2
    assert state.hits == 2


def test_the_c_hit_counter_is_the_base_class_where_built_and_counts_integers(c_extension):
    pytest.importorskip("numba.cuda")
    from numba_cuda_lcs.backends.numba_cuda.records import DispatcherState

    assert launcher.HitCounter is c_extension.HitCounter  # whichever twin is bound
    with pytest.raises(TypeError):
        DispatcherState().hits = "many"
