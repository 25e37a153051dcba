"""Inspection of kernels that have not compiled (no GPU needed); compiled
kernels are inspected in the GPU tests."""

from numba import cuda

from numba_cuda_lcs import inspection


def make_kernel(**options):
    @cuda.jit(**options)
    def kernel(x):
        x[0] = 1

    return kernel


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
