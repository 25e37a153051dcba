import pytest

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
