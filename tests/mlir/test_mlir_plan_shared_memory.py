"""Dynamic shared memory of a numba-cuda-mlir launch plan, without a GPU.

A plan launches numba-cuda-mlir's own module's function, not the one its
native launcher opts in past 48 KiB, so the plan opts its function in
itself (``launch_plans.allow_dynamic_shared_memory``, here over a stand-in
for ``cuda.bindings.driver``); and a kernel a planner gave a dynamic shared
memory requirement launches with at least that much, as numba-cuda-mlir
launches it (``NativeCompile.planned``).
"""

import types

import pytest

pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402, F401

import numba_cuda_lcs  # noqa: E402, F401  (activates the package)
from numba_cuda_lcs.backends.numba_cuda_mlir import launch_plans  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda_mlir.manifest import NAMES  # noqa: E402

KIB = 1024


class Driver:
    """The two calls a plan makes, on functions whose limit it records."""

    CUfunction_attribute = types.SimpleNamespace(
        CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES="max-dynamic-shared"
    )

    def __init__(self, limit=48 * KIB, device_max=227 * KIB, readable=True):
        self.limits = {}
        self.default, self.device_max, self.readable = limit, device_max, readable
        self.raised = []

    def CUfunction(self, handle):
        return handle

    def cuFuncGetAttribute(self, attribute, function):
        assert attribute == "max-dynamic-shared"
        if not self.readable:
            return 1, 0  # CUDA_ERROR_INVALID_VALUE
        return 0, self.limits.get(function, self.default)

    def cuFuncSetAttribute(self, function, attribute, value):
        assert attribute == "max-dynamic-shared"
        if value > self.device_max:
            return (1,)
        self.raised.append((function, value))
        self.limits[function] = value
        return (0,)


def test_within_the_functions_limit_nothing_is_opted_in():
    driver = Driver()
    assert launch_plans.allow_dynamic_shared_memory(7, 48 * KIB, driver)
    assert driver.raised == []


def test_past_the_limit_the_function_is_opted_in():
    driver = Driver()
    assert launch_plans.allow_dynamic_shared_memory(7, 100 * KIB, driver)
    assert driver.raised == [(7, 100 * KIB)]
    assert launch_plans.allow_dynamic_shared_memory(7, 100 * KIB, driver)
    assert driver.raised == [(7, 100 * KIB)]  # once


def test_a_smaller_plan_never_lowers_a_larger_ones_limit():
    driver = Driver()
    assert launch_plans.allow_dynamic_shared_memory(7, 200 * KIB, driver)
    assert launch_plans.allow_dynamic_shared_memory(7, 64 * KIB, driver)
    assert driver.limits[7] == 200 * KIB
    assert driver.raised == [(7, 200 * KIB)]


def test_what_the_device_refuses_or_an_unreadable_limit_is_not_planned():
    assert not launch_plans.allow_dynamic_shared_memory(7, 300 * KIB, Driver())
    assert not launch_plans.allow_dynamic_shared_memory(7, 1 * KIB, Driver(readable=False))


def _compile_result(required=None, handle=0x5000):
    metadata = {"cubin": b""}
    if required is not None:
        metadata[NAMES.required_dynamic_shared_memory_key] = required
    function = types.SimpleNamespace(_handle=handle)
    return types.SimpleNamespace(
        signature=types.SimpleNamespace(args=(NAMES.types.float32,)),
        metadata=metadata,
        _codelibrary=types.SimpleNamespace(get_cufunc=lambda: function),
    )


@pytest.mark.parametrize("required, expected", [(None, 0), (0, 0), (96 * KIB, 96 * KIB)])
def test_a_planners_shared_memory_requirement_travels_with_the_plan(required, expected):
    compiled = launch_plans.NativeCompile(_compile_result(required), context=0x1000)
    plan, function, required_shared = compiled.planned((NAMES.types.float32,))
    assert function == 0x5000 and len(plan) == 1
    assert required_shared == expected


def test_a_requirement_that_is_not_a_size_is_not_planned():
    compiled = launch_plans.NativeCompile(_compile_result("lots"), context=0x1000)
    assert compiled.planned((NAMES.types.float32,)) is None


def test_what_a_record_derives_is_derived_once():
    compiled = launch_plans.NativeCompile(_compile_result(), context=0x1000)
    first = compiled.planned((NAMES.types.float32,))
    compiled.result.metadata[NAMES.required_dynamic_shared_memory_key] = 8 * KIB
    assert compiled.planned((NAMES.types.float32,)) is first
