import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from support.installs import requires_numpy

from numba_cuda_lcs import keys


def test_fields_to_mask():
    assert keys.fields_to_mask(None) == keys.ALL_FIELDS
    assert keys.fields_to_mask("blockdim") == keys.BLOCKDIM
    assert keys.fields_to_mask(["griddim", "sharedmem"]) == keys.GRIDDIM | keys.SHAREDMEM
    assert keys.fields_to_mask(("blockdim", "blockdim")) == keys.BLOCKDIM


@pytest.mark.parametrize("bad", ["grid", ["blockdim", "threads"], [1], [None]])
def test_invalid_field_names_list_the_valid_ones(bad):
    with pytest.raises(ValueError) as info:
        keys.fields_to_mask(bad)
    for name in keys.FIELD_NAMES:
        assert repr(name) in str(info.value)


def test_empty_fields_and_wrong_types():
    with pytest.raises(ValueError, match="at least one"):
        keys.fields_to_mask([])
    with pytest.raises(TypeError):
        keys.fields_to_mask(3)


def test_mask_round_trip():
    for mask in range(1, 8):
        assert keys.fields_to_mask(keys.mask_to_fields(mask)) == mask


def test_launch_keys_hold_only_the_selected_fields():
    all_keys = keys.launch_keys((4, 1, 1), (128, 1, 1), 0)
    assert all_keys[keys.BLOCKDIM] == (keys.BLOCKDIM, (128, 1, 1))
    assert all_keys[keys.ALL_FIELDS] == (7, (4, 1, 1), (128, 1, 1), 0)
    other_grid = keys.launch_keys((9, 1, 1), (128, 1, 1), 0)
    assert other_grid[keys.BLOCKDIM] == all_keys[keys.BLOCKDIM]
    assert other_grid[keys.ALL_FIELDS] != all_keys[keys.ALL_FIELDS]
    # Keys of different masks never collide, even with equal values.
    same = keys.launch_keys((1, 1, 1), (1, 1, 1), 0)
    assert same[keys.GRIDDIM] != same[keys.BLOCKDIM]


def test_normalize_dim_and_describe():
    assert keys.normalize_dim(64, "blockdim") == (64, 1, 1)
    assert keys.normalize_dim((2, 3), "griddim") == (2, 3, 1)
    for bad in (0, -1, 1.5, (1, 2, 3, 4), "8", True):
        with pytest.raises(ValueError):
            keys.normalize_dim(bad, "blockdim")
    key = keys.launch_keys((1, 1, 1), (64, 1, 1), 0)[keys.BLOCKDIM]
    assert keys.describe_key(key) == "blockdim=(64, 1, 1)"


def test_project_to_fewer_fields():
    full = keys.launch_keys((4, 1, 1), (128, 1, 1), 16)
    for mask in range(1, 8):
        assert keys.project(full[keys.ALL_FIELDS], mask) == full[mask]
    assert keys.project(full[keys.BLOCKDIM], keys.GRIDDIM) is None


@requires_numpy
def test_compile_only_configurations_accept_numpy_integers():
    import numpy as np

    from numba_cuda_lcs import compiling_for

    with compiling_for(np.int32(4), (np.int64(32), np.uint16(2)), sharedmem=np.int64(256)) as cfg:
        assert cfg.griddim == (4, 1, 1) and cfg.blockdim == (32, 2, 1)
        assert cfg.sharedmem == 256
        assert all(type(v) is int for v in cfg.griddim + cfg.blockdim + (cfg.sharedmem,))


@pytest.mark.parametrize(
    "griddim, blockdim, sharedmem, limit",
    [
        (1, 10**12, 0, "the limit for blockdim x is 1024"),
        (1, (1024, 2, 1), 0, "no CUDA device launches more than 1024 threads per block"),
        (1, (1, 1, 65), 0, "the limit for blockdim z is 64"),
        ((1, 65536), 32, 0, "the limit for griddim y is 65535"),
        ((1, 1, 65536), 32, 0, "the limit for griddim z is 65535"),
        (2**31, 32, 0, "the limit for griddim x is 2147483647"),
        (1, 32, 10**15, "the limit is 232448 bytes"),
    ],
)
def test_compile_only_configurations_no_device_can_launch_are_rejected(
    griddim, blockdim, sharedmem, limit
):
    from numba_cuda_lcs import compiling_for

    with pytest.raises(ValueError, match=limit):
        with compiling_for(griddim, blockdim, sharedmem=sharedmem):
            pass


@settings(suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    st.tuples(st.integers(1, 2**31 - 1), st.integers(1, 65535), st.integers(1, 65535)),
    st.tuples(st.integers(1, 1024), st.integers(1, 1024), st.integers(1, 64)),
    st.integers(0, keys.MAX_SHAREDMEM),
)
def test_every_launchable_configuration_is_accepted_as_is(grid, block, sharedmem):
    threads = block[0] * block[1] * block[2]
    if threads > keys.MAX_THREADS_PER_BLOCK:
        with pytest.raises(ValueError, match="threads per block"):
            keys.normalize_dim(block, "blockdim")
    else:
        assert keys.normalize_dim(block, "blockdim") == block
    assert keys.normalize_dim(grid, "griddim") == grid
    assert keys.normalize_sharedmem(sharedmem) == sharedmem


def test_key_parts_are_named():
    key = keys.launch_keys((4, 1, 1), (64, 1, 1), 128)[keys.BLOCKDIM | keys.SHAREDMEM]
    assert keys.key_mask(key) == keys.BLOCKDIM | keys.SHAREDMEM
    assert keys.key_values(key) == {"blockdim": (64, 1, 1), "sharedmem": 128}
    assert keys.is_key(key)
    # numba-cuda's own launch-config keys are not ours
    assert not keys.is_key(((4, 1, 1), (64, 1, 1), 128))
    assert not keys.is_key(())
