"""Routing without a GPU: field-level keys, bounded specializations (LRU +
warning) and the limit's sources."""

import warnings

import pytest
from numba import cuda

import numba_cuda_lcs
from numba_cuda_lcs import inspection, keys
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
    state.default_keys = keys.launch_keys(
        default_launch.griddim, default_launch.blockdim, default_launch.sharedmem
    )
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
        kernel_64_key = keys.launch_keys((1, 1, 1), (64, 1, 1), 0)[keys.BLOCKDIM]
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
