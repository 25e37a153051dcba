"""``kernel[grid, block, ...]`` on numba-cuda-mlir with the package active
returns exactly what numba-cuda-mlir's own ``configure`` would
(``configured_launch.make_getitem``: a front cache of the raw arguments,
used only while numba-cuda-mlir's cache still holds that launcher).  CPU
only: configuring launches nothing."""

import pytest

pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402

pytestmark = pytest.mark.usefixtures("quiet_warnings")


def kernel():
    @cuda.jit
    def k(out):
        out[0] = 1

    return k


def test_repeated_configure_returns_the_same_launcher_as_configure():
    k = kernel()
    first = k[4, 32]
    assert k[4, 32] is first
    assert k.configure(4, 32) is first  # numba-cuda-mlir's own path agrees
    assert k[(4, 1, 1), (32, 1)] is first  # normalized to the same key
    assert k[4, 64] is not first
    assert k[4, 32, 0, 16] is not first and k[4, 32, 0, 16] is k[4, 32, 0, 16]


def test_cleared_cache_gives_a_new_launcher_and_never_the_old_one():
    k = kernel()
    first = k[2, 32]
    k.configure.cache_clear()
    second = k[2, 32]
    assert second is not first
    assert k[2, 32] is second
    k._clear_configure_cache()
    assert k[2, 32] is not second


def test_evicted_launcher_is_not_returned():
    k = kernel()
    first = k[1, 1]
    for grid in range(2, 2 + 130):  # past numba-cuda-mlir's 128 entries
        k[grid, 1]
    again = k[1, 1]
    assert again is not first  # what numba-cuda-mlir's configure builds anew
    assert k[1, 1] is again


def test_least_recently_used_order_is_kept():
    k = kernel()
    first = k[1, 1]
    for grid in range(2, 2 + 127):
        k[grid, 1]
        assert k[1, 1] is first  # a hit moves it to the end, as configure does
    k[500, 1]  # evicts the least recently used, not (1, 1)
    assert k[1, 1] is first


def test_extensions_take_numba_cuda_mlirs_path():
    k = kernel()
    plain = k[3, 32]

    class Extension:
        def prepare_args(self, ty, val, stream=None, retr=None):
            return ty, val

    k.extensions.append(Extension())
    with_extension = k[3, 32]
    assert with_extension is not plain  # its key holds the extension
    assert k[3, 32] is with_extension
    k.extensions.clear()
    assert k[3, 32] is plain


def test_unhashable_arguments_raise_numba_cuda_mlirs_error():
    k = kernel()
    with pytest.raises(TypeError, match="hashable"):
        k[1, 1, {"not": "hashable"}]


def _configured(configure, args):
    try:
        return configure(args)
    except Exception as exc:
        return type(exc)


@pytest.mark.parametrize(
    "variant",
    [(4.0, 32), (True, 32), (4, 32.0), ((4.0, 1), 32), ((4, 1), (32, True))],
    ids=repr,
)
def test_equal_values_of_other_types_get_what_configure_gives(variant):
    # 4.0 == 4 and True == 1 hash alike: an entry made for ints must not
    # answer for them; numba-cuda-mlir's configure decides (raise or not).
    k = kernel()
    for ints in ((4, 32), (1, 32), ((4, 1), 32), ((4, 1), (32, 1))):
        assert k[ints] is k[ints]  # front-cached, for ints
    got = _configured(k.__getitem__, variant)
    expected = _configured(lambda args: k.configure(*args), variant)
    assert got is expected or (isinstance(got, type) and got is expected)
