"""Which stream a numba-cuda-mlir launch plan launches on, and which
interface streams it synchronises, without a GPU: what
``launch_plans._stream_handle`` and ``NativeCompile.planned`` decide, as
numba-cuda-mlir's native launcher decides (a PyTorch tensor among the
arguments: PyTorch's current stream; else a CuPy array: CuPy's; else the
legacy default stream -- each or any subclass) and as its marshaller reads
``NUMBA_CUDA_ARRAY_INTERFACE_SYNC`` on every launch."""

import sys
import types

import pytest

pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402, F401

import numba_cuda_lcs  # noqa: E402, F401  (activates the package)
from numba_cuda_lcs import launcher  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda_mlir import launch_plans  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda_mlir.manifest import NAMES  # noqa: E402


@pytest.fixture
def libraries(monkeypatch):
    """Stand-in ``cupy`` and ``torch`` modules (their array classes only)."""
    cupy = types.ModuleType("cupy")
    torch = types.ModuleType("torch")

    class ndarray:  # noqa: N801 -- CuPy's name
        pass

    class Tensor:
        pass

    ndarray.__module__, Tensor.__module__ = "cupy", "torch"
    cupy.ndarray, torch.Tensor = ndarray, Tensor
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setitem(sys.modules, "torch", torch)
    return types.SimpleNamespace(ndarray=ndarray, Tensor=Tensor)


def handle(stream, *args):
    return launch_plans._stream_handle(types.SimpleNamespace(_launch_stream=stream), args)


def test_no_stream_and_no_library_array_is_the_legacy_default_stream(libraries):
    assert handle(None, 1, 2.0, object()) == 0


def test_cupy_arrays_and_their_subclasses_follow_cupys_current_stream(libraries):
    class Mine(libraries.ndarray):
        pass

    Mine.__module__ = "mylib"  # a subclass outside CuPy
    for array in (libraries.ndarray(), Mine()):
        assert handle(None, 1, array) == launcher.SITE_STREAM_CUPY_CURRENT


def test_pytorch_tensors_come_first_and_are_not_planned(libraries):
    class MyTensor(libraries.Tensor):
        pass

    MyTensor.__module__ = "mylib"
    assert handle(None, libraries.ndarray(), MyTensor()) is None
    assert handle(None, libraries.Tensor()) is None


def test_a_configured_handle_is_launched_on_whatever_the_arguments(libraries):
    assert handle(0x5000, libraries.ndarray()) == 0x5000
    assert handle(0, libraries.ndarray()) == 0
    assert handle(object(), 1) is None  # a stream object numba-cuda-mlir resolves


def _compile_result(handle=0x5000):
    array = NAMES.types.Array(NAMES.types.float32, 1, "C")
    function = types.SimpleNamespace(_handle=handle)
    return types.SimpleNamespace(
        signature=types.SimpleNamespace(args=(array,)),
        metadata={"cubin": b""},
        _codelibrary=types.SimpleNamespace(get_cufunc=lambda: function),
    ), (array,)


@pytest.mark.parametrize("first", [True, False])
def test_the_plan_follows_the_interface_sync_setting_of_the_launch(monkeypatch, first):
    result, key = _compile_result()
    compiled = launch_plans.NativeCompile(result, context=0x1000)
    for sync in (first, not first, first):
        monkeypatch.setattr(NAMES.cuda_config, "CUDA_ARRAY_INTERFACE_SYNC", sync)
        plan, _function, _required = compiled.planned(key)
        assert plan[0].cai_sync is sync


class _Interface:
    """An array as far as its CUDA array interface goes, naming a stream."""

    def __init__(self):
        self.__cuda_array_interface__ = {
            "version": 3,
            "data": (0x7000_0000, False),
            "shape": (4,),
            "strides": None,
            "typestr": "<f4",
            "stream": 0x5000,
        }


@pytest.fixture
def interface_sync():
    """Configures what launches read the interface-sync setting from, and
    which class counts as numba-cuda-mlir's own; restores the backend's."""
    yield launcher.configure_interface_sync
    launcher.configure_interface_sync(NAMES.cuda_config, NAMES.DeviceNDArrayBase)


def test_a_launch_reads_the_sync_setting_for_arrays_not_numba_cuda_mlirs_own(twins, interface_sync):
    # numba-cuda-mlir never synchronises for instances (subclasses too) of
    # its DeviceNDArrayBase; for other arrays a launch planned with another
    # value of the setting than the one in force declines.
    class Base:
        pass

    class Own(Base, _Interface):
        pass

    source = types.SimpleNamespace(CUDA_ARRAY_INTERFACE_SYNC=1)
    interface_sync(source, Base)
    plan = launch_plans.plan_for((NAMES.types.Array(NAMES.types.float32, 1, "C"),), False)
    planned = launcher.Launcher(0x3000, (1, 1, 1), (1, 1, 1), 0, False, plan)
    packed = planned.pack((Own(),))  # its own: the setting is not read
    with pytest.raises(TypeError, match="not one this launch plan marshals"):
        planned.pack((_Interface(),))
    source.CUDA_ARRAY_INTERFACE_SYNC = 0  # as the plan was made
    assert planned.pack((_Interface(),)) == packed
    del source.CUDA_ARRAY_INTERFACE_SYNC  # unreadable: declined
    with pytest.raises(TypeError, match="not one this launch plan marshals"):
        planned.pack((_Interface(),))
    assert planned.pack((Own(),)) == packed
