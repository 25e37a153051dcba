"""Field-level keys, bounded specializations (LRU + warning), inspection and
launch constants -- the parts that need no GPU."""

import warnings

import pytest
from numba import cuda
from numba.cuda import types

import numba_cuda_lcs
from numba_cuda_lcs import inspection, keys, launch, launchconfig
from numba_cuda_lcs.backends.numba_cuda import routing
from numba_cuda_lcs.backends.numba_cuda.records import Routing, state_of


def make_kernel(**options):
    @cuda.jit(**options)
    def kernel(x):
        x[0] = 1

    return kernel


def as_lcs(kernel, mask, default_launch):
    """Give *kernel* the routing state a compiled LC-S kernel would have."""
    state = state_of(kernel).routing = Routing()
    state.widen(mask)
    state.default_keys = default_launch._lcs_keys
    return state


def route(kernel, grid, block):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        launch_ = kernel[grid, block]
    return routing.route_slow(kernel, launch_)


def test_block_only_routing_shares_one_specialization_across_grids():
    kernel = make_kernel()
    as_lcs(kernel, keys.BLOCKDIM, kernel[1, 32])
    assert all(route(kernel, g, 32) is kernel for g in range(1, 33))
    children = {route(kernel, g, 64) for g in range(1, 33)}
    assert len(children) == 1 and kernel not in children
    assert len(kernel._launch_config_specializations) == 1


def test_all_fields_routing_separates_grids():
    kernel = make_kernel()
    as_lcs(kernel, keys.ALL_FIELDS, kernel[1, 32])
    targets = {route(kernel, g, 32) for g in range(1, 5)}
    assert len(targets) == 4


def test_lru_eviction_keeps_the_limit_and_warns_once():
    kernel = make_kernel(lcs_max_specializations=3)
    state = as_lcs(kernel, keys.BLOCKDIM, kernel[1, 32])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = route(kernel, 1, 64)
        route(kernel, 1, 96)
        # Touch 64 so that 96 is the least recently used.
        kernel_64_key = kernel[1, 64]._lcs_keys[keys.BLOCKDIM]
        state.routes.move_to_end(kernel_64_key)
        route(kernel, 1, 128)  # over the limit: 96 goes
        route(kernel, 1, 160)  # 64 goes
    children = kernel._launch_config_specializations
    assert len(children) == 2  # + the kernel itself = 3
    blocks = sorted(key[1][0] for key in children)
    assert blocks == [128, 160]
    assert first not in children.values()
    perf = [w for w in caught if "live specializations" in str(w.message)]
    assert len(perf) == 1
    message = str(perf[0].message)
    assert "'kernel'" in message and "blockdim=(96, 1, 1)" in message
    assert "lcs_max_specializations" in message
    assert inspection.compile_counters(kernel)["evictions"] == 2
    # An evicted configuration is routed (and would be compiled) again.
    assert route(kernel, 1, 96) not in (None, kernel)


def test_limit_sources_and_validation(monkeypatch):
    kernel = make_kernel()
    assert routing.max_specializations_for(kernel) == 32
    monkeypatch.setenv("NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS", "5")
    assert routing.max_specializations_for(kernel) == 5
    numba_cuda_lcs.set_max_specializations(kernel, 7)
    assert routing.max_specializations_for(kernel) == 7
    numba_cuda_lcs.set_max_specializations(kernel, None)
    assert routing.max_specializations_for(kernel) == 5
    assert routing.max_specializations_for(make_kernel(lcs_max_specializations=2)) == 2
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError):
            numba_cuda_lcs.set_max_specializations(kernel, bad)
    monkeypatch.setenv("NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS", "lots")
    with pytest.raises(ValueError, match="NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS"):
        routing.max_specializations_for(kernel)
    with pytest.raises(TypeError):
        numba_cuda_lcs.set_max_specializations(lambda: None, 3)


def test_inspection_of_a_kernel_that_has_not_compiled():
    kernel = make_kernel()
    assert inspection.specializations(kernel) == []
    counters = inspection.compile_counters(kernel)
    assert counters == {
        "compiles": 0,
        "cache_loads": 0,
        "specializations": 1,
        "evictions": 0,
        "max_specializations": 32,
        "fields": (),
    }
    assert "0 compiled" in inspection.format_specializations(kernel)


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


def test_accessors_without_a_launch_fail_at_compile_time():
    with pytest.raises(numba_cuda_lcs.LaunchConfigUnavailableError, match="threads_per_block"):
        cuda.compile_ptx(block_only, (types.int64[:],), cc=(9, 0))


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
