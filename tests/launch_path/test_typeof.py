"""Argument typing with numba-cuda-lcs active: each device array's numba type
is remembered, and is exactly what numba-cuda's own typeof gives (no GPU
needed: device arrays over fake allocations)."""

import ctypes
import gc

import numpy as np
import pytest
from numba import cuda
from numba.cuda.cudadrv.devicearray import DeviceNDArray
from numba.cuda.typing.typeof import Purpose, typeof

from numba_cuda_lcs.backends.numba_cuda import typeof as lcs_typeof


class Mem:
    def __init__(self, ptr):
        self.device_ctypes_pointer = ctypes.c_void_p(ptr)


def device_array(shape, strides, dtype):
    return DeviceNDArray(shape, strides, np.dtype(dtype), gpu_data=Mem(4096))


@cuda.jit
def kernel(x):
    pass


CASES = [
    ((4, 6), (24, 4), "f4"),  # C
    ((4, 6), (4, 16), "f4"),  # F
    ((4, 6), (48, 8), "f8"),  # neither: A
    ((4, 6), (0, 4), "i4"),  # broadcast: A
    ((5,), (8,), "c16"),
    ((), (), "i8"),
]


@pytest.mark.parametrize("shape, strides, dtype", CASES)
def test_device_array_types_are_numba_cudas_own(shape, strides, dtype):
    arr = device_array(shape, strides, dtype)
    expected = typeof(arr, Purpose.argument)
    assert kernel.typeof_pyval(arr) == expected
    assert kernel.typeof_pyval(arr) == expected  # remembered


def test_remembered_per_array_and_forgotten_with_it():
    remembered = type(kernel).typeof_pyval.remembered
    c_order = device_array((4, 6), (24, 4), "f4")
    f_order = device_array((4, 6), (4, 16), "f4")
    assert kernel.typeof_pyval(c_order).layout == "C"
    assert kernel.typeof_pyval(f_order).layout == "F"
    assert id(c_order) in remembered and id(f_order) in remembered
    key = id(c_order)
    del c_order
    gc.collect()
    # The entry is dead: an array that reuses the id is typed afresh.
    ref, _ty = remembered[key]
    assert ref() is None


def test_other_values_are_typed_by_numba_cuda(monkeypatch):
    assert kernel.typeof_pyval(3) == typeof(3, Purpose.argument)
    assert kernel.typeof_pyval(np.float32(1)) == typeof(np.float32(1), Purpose.argument)


def test_the_memo_is_bounded(monkeypatch):
    monkeypatch.setattr(lcs_typeof, "MAX_REMEMBERED", 8)
    calls = []

    def original(self, val):
        calls.append(val)
        return "T"

    typeof_pyval = lcs_typeof.make_typeof_pyval(original)
    keep = [device_array((2,), (4,), "f4") for _ in range(20)]
    for arr in keep:
        assert typeof_pyval(None, arr) == "T"
    assert len(typeof_pyval.remembered) <= 8
    assert len(calls) == 20


def test_unloading_a_contexts_modules_invalidates_prepared_launch_state():
    # numba-cuda's Context.reset (cuda.close(), device resets) and
    # unload_module unload CUfunctions that prepared launchers hold; a new
    # context can reuse the old handle, so the state must be rebuilt.
    from numba.cuda.cudadrv import driver

    from numba_cuda_lcs import launcher as _launcher

    for method in (driver.Context.reset, driver.Context.unload_module):
        before = _launcher.generation
        # A stand-in, not a real context: numba-cuda's body fails on it.
        with pytest.raises((AttributeError, NameError)):
            method(object(), *([object()] if method is driver.Context.unload_module else []))
        assert _launcher.generation == before + 1
