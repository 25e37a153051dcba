"""Field-level sensitivity, launch constants, bounded specializations,
inspection and launch-bounds inference on a GPU."""

import warnings

import numpy as np
import pytest
from support import rewrites  # noqa: F401  (registers stamp_* rewrites)

# Launches go through the launcher and launch sites (C or twin): over both.
pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("twins", "quiet_warnings")]

from numba import cuda  # noqa: E402

from numba_cuda_lcs import inspection, launch  # noqa: E402
from numba_cuda_lcs.demo import make_block_sum  # noqa: E402


def test_block_only_kernel_over_32_grids_and_3_blocks_compiles_3_times():
    @cuda.jit
    def stamp_grid_sweep(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 987654321

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    for block in (64, 128, 256):
        for grid in range(1, 33):
            stamp_grid_sweep[grid, block](out)
            assert int(out.copy_to_host()[0]) == block
    counters = inspection.compile_counters(stamp_grid_sweep)
    assert counters["compiles"] == 3
    assert counters["fields"] == ("blockdim",)
    assert counters["specializations"] == 3


block_sum = make_block_sum()  # the demo's kernel: launch constants size its buffer


def test_block_sum_sized_by_launch_constants():
    rng = np.random.default_rng(1)
    for block in (64, 128, 256):
        for n in (1, 100, 1000, 4097, 20000):
            x = rng.random(n)
            out = cuda.to_device(np.zeros(1))
            block_sum[(n + block - 1) // block, block](cuda.to_device(x), out)
            assert np.isclose(out.copy_to_host()[0], x.sum()), (block, n)
    counters = inspection.compile_counters(block_sum)
    assert counters["compiles"] == 3
    assert counters["fields"] == ("blockdim",)
    # The shared buffer of each specialization is sized by its block size.
    shared = sorted(
        compiled.shared_mem_per_block
        for row_dispatcher in [block_sum, *block_sum._launch_config_specializations.values()]
        for compiled in row_dispatcher.overloads.values()
    )
    assert shared == [64 * 8, 128 * 8, 256 * 8]


@cuda.jit(device=True)
def threads_times(x):
    return x * launch.threads_per_block()


def test_launch_constants_in_device_functions_follow_each_launch():
    @cuda.jit
    def calls_device(out):
        out[0] = threads_times(2)

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    for grid, block in [(1, 32), (2, 64), (3, 32), (1, 128), (5, 64)]:
        calls_device[grid, block](out)
        assert int(out.copy_to_host()[0]) == 2 * block
    counters = inspection.compile_counters(calls_device)
    assert counters["compiles"] == 3
    assert counters["fields"] == ("blockdim",)


def test_lru_bounds_live_specializations_and_recompiles_evicted_ones():
    @cuda.jit(lcs_max_specializations=2)
    def stamp_lru(out):
        out[0] = 987654321

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for block in (32, 64, 96, 64, 128, 96):
            stamp_lru[1, block](out)
            assert int(out.copy_to_host()[0]) == block
    counters = inspection.compile_counters(stamp_lru)
    assert counters["specializations"] == 2
    # 32 is the default; 64, 96, 64 again, 128, 96 again each evict the
    # previous child (limit 2 = the default + one).
    assert counters["evictions"] == 4
    assert counters["compiles"] == 6
    churn = [w for w in caught if "live specializations" in str(w.message)]
    assert len(churn) == 1 and "stamp_lru" in str(churn[0].message)


def test_inspection_after_launches():
    @cuda.jit
    def stamp_inspect(out):
        out[0] = 987654321

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    for _ in range(3):
        stamp_inspect[1, 32](out)
    stamp_inspect[1, 64](out)
    rows = inspection.specializations(stamp_inspect)
    assert [(r["default"], r["key"], r["hits"]) for r in rows] == [
        (True, {"blockdim": (32, 1, 1)}, 3),
        (False, {"blockdim": (64, 1, 1)}, 1),
    ]
    assert all(r["compile_seconds"] > 0 and not r["from_cache"] for r in rows)
    text = inspection.format_specializations(stamp_inspect)
    assert "2 compiled" in text and "blockdim=(64, 1, 1)" in text


def test_launch_bounds_inferred_from_the_block():
    @cuda.jit(lcs_launch_bounds=True)
    def bounded(out):
        out[cuda.grid(1)] = cuda.blockDim.x

    out = cuda.to_device(np.zeros(512, dtype=np.int64))
    bounded[4, 128](out)
    bounded[2, 256](out)
    bounded[1, 128](out)
    assert inspection.compile_counters(bounded)["compiles"] == 2
    cc = cuda.get_current_device().compute_capability
    ptx = {
        row_dispatcher_kernel.inspect_asm(cc).count(".maxntid 128")
        + 10 * row_dispatcher_kernel.inspect_asm(cc).count(".maxntid 256")
        for d in [bounded, *bounded._launch_config_specializations.values()]
        for row_dispatcher_kernel in d.overloads.values()
    }
    assert ptx == {1, 10}


def test_launch_bounds_conflict_is_reported():
    @cuda.jit(lcs_launch_bounds=True, launch_bounds=128)
    def both(out):
        out[0] = 1

    with pytest.raises(ValueError, match="do not also pass launch_bounds"):
        both[1, 128](cuda.to_device(np.zeros(1, dtype=np.int64)))
