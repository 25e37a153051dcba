"""Launch constants (numba_cuda_lcs.launch) through compile-only paths: no
GPU needed."""

import pytest
from numba import cuda
from numba.cuda import types

import numba_cuda_lcs
from numba_cuda_lcs import launch, launchconfig
from numba_cuda_lcs.errors import LaunchConstantUsageError


def stamp_accessors(out):
    buf = cuda.shared.array(launch.threads_per_block(), types.float32)
    local = cuda.local.array(launch.blockdim()[0], types.int64)
    total = 0
    for i in range(launch.blockdim()[0]):
        local[i] = i
        total += local[i]
    buf[0] = total
    out[0] = launch.blocks_per_grid() + buf[0] + launch.sharedmem()


def _shared_decl(ptx):
    return [line.strip() for line in ptx.splitlines() if ".shared" in line and ".b8" in line]


def test_launch_constants_size_arrays_and_mark_exactly_their_fields():
    with launchconfig.compiling_for(5, 32, sharedmem=16) as cfg:
        ptx_32, _ = cuda.compile_ptx(stamp_accessors, (types.float32[:],), cc=(9, 0))
    with launchconfig.compiling_for(5, 128) as cfg_128:
        ptx_128, _ = cuda.compile_ptx(stamp_accessors, (types.float32[:],), cc=(9, 0))
    assert "[128];" in _shared_decl(ptx_32)[0]  # 32 float32
    assert "[512];" in _shared_decl(ptx_128)[0]  # 128 float32
    assert cfg.marked_fields == ("griddim", "blockdim", "sharedmem")
    assert cfg_128.marked_fields == ("griddim", "blockdim", "sharedmem")


def block_only(out):
    out[0] = launch.threads_per_block()


def test_reading_one_accessor_marks_only_its_field():
    with launchconfig.compiling_for(9, (8, 4)) as cfg:
        ptx, _ = cuda.compile_ptx(block_only, (types.int64[:],), cc=(9, 0))
    assert cfg.marked_fields == ("blockdim",)
    assert "32;" in ptx


def test_accessors_without_a_launch_fail_at_compile_time_naming_the_fix():
    with pytest.raises(numba_cuda_lcs.LaunchConfigUnavailableError) as info:
        cuda.compile_ptx(block_only, (types.int64[:],), cc=(9, 0))
    message = str(info.value)
    assert "launch.threads_per_block()" in message and "'block_only'" in message
    assert "kernel[grid, block]" in message and "compiling_for" in message
    # Kernel code cannot write a hook: the message must not suggest one.
    assert "hook" not in message and "rewrite" not in message


def size_without_parentheses(out):
    buf = cuda.shared.array(launch.threads_per_block, types.float32)
    out[0] = buf[0]


def called_with_an_argument(out):
    out[0] = launch.blockdim(0)


def tuple_as_an_array_size(out):
    buf = cuda.shared.array(launch.blockdim(), types.float32)
    out[0] = buf[0]


def tuple_as_a_range(out):
    for i in range(launch.griddim()):
        out[0] = i


@pytest.mark.parametrize(
    "kernel, expected",
    [
        (size_without_parentheses, "launch.threads_per_block is used as a value"),
        (called_with_an_argument, "launch.blockdim() takes no arguments"),
        (tuple_as_an_array_size, "3-tuple, used as an array size"),
        (tuple_as_a_range, "3-tuple, used as range()"),
    ],
    ids=lambda value: getattr(value, "__name__", None),
)
def test_misused_accessors_name_the_accessor_and_the_fix(kernel, expected):
    with launchconfig.compiling_for(2, 32):
        with pytest.raises(LaunchConstantUsageError) as info:
            cuda.compile_ptx(kernel, (types.float32[:],), cc=(9, 0))
    message = str(info.value)
    assert expected in message
    assert f"'{kernel.__name__}'" in message
    assert "launch." in message.split(":", 1)[-1]  # the fix names an accessor
    assert "none" not in message.lower().split()  # not numba's typing error


def sized_by_arithmetic(out):
    buf = cuda.shared.array(launch.blockdim()[0] * 2 + 1, types.float32)
    out[0] = buf[0]


def test_integer_arithmetic_on_constants_can_size_an_array():
    with launchconfig.compiling_for(1, 64):
        ptx, _ = cuda.compile_ptx(sized_by_arithmetic, (types.float32[:],), cc=(9, 0))
    assert "[516];" in _shared_decl(ptx)[0]  # (64 * 2 + 1) float32


def test_accessors_cannot_be_called_from_python():
    for accessor in launch.ACCESSORS:
        with pytest.raises(TypeError, match="inside a @cuda.jit kernel"):
            accessor()


GLOBAL_TABLE = __import__("numpy").arange(4)


def uses_unhashable_global(out):
    out[0] = GLOBAL_TABLE[1]


def test_unhashable_globals_do_not_confuse_the_launch_constant_rewrite():
    ptx, _ = cuda.compile_ptx(uses_unhashable_global, (types.int64[:],), cc=(9, 0))
    assert ".visible .entry" in ptx or ".visible .func" in ptx
