"""Inspection: which specializations a kernel has, what they serve, and why.

``numba_cuda_lcs.inspection`` (also ``numba_cuda_lcs.inspection`` in the
package's exports) lists, per compiled kernel, the signature, whether the
kernel itself serves it (``default``), the marked ``fields`` and the ``key``
(their values), ``compiled_for``, ``hits`` (LC-S kernels), the compile time
and whether it came from the disk cache; ``compile_counters`` sums them up;
``format_specializations`` prints a table.  ``set_max_specializations``
bounds how many are kept (least recently launched dropped first).

On a GPU (``python examples/inspection.py``): a kernel that reads the block
size is launched over 3 block sizes x 4 grid sizes: 3 compiles, 3 rows
whose hits account for the 12 launches; a plain kernel gets 1 compile and no
fields.

Compile-only (``--compile-only``, automatic without a GPU): nothing is
launched, so the kernels have no specializations yet (the table says so);
the example shows what each compile would mark, using
``numba.cuda.compile_ptx(..., cc=(9, 0))`` inside
``numba_cuda_lcs.compiling_for(grid, block)``.
"""

from _common import INSTALL_NUMBA_CUDA, check, compile_only, ptx_for, require

require("numba_cuda", INSTALL_NUMBA_CUDA)  # else: "skipped: ...", exit 0
from numba import cuda  # noqa: E402

from numba_cuda_lcs import inspection, launch  # noqa: E402


def sensitive(out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = launch.threads_per_block()


def plain(out):
    i = cuda.grid(1)
    if i < out.size:
        out[i] = 1


def main() -> None:
    cpu = compile_only(__doc__.splitlines()[0])
    if cpu:
        from numba.cuda import types

        for func in (sensitive, plain):
            _ptx, marked = ptx_for(func, (types.int64[::1],), 4, 64)
            print(f"{func.__name__}: a compile for grid 4, block 64 marks {marked or 'nothing'}")
        check(ptx_for(sensitive, (types.int64[::1],), 4, 64)[1] == ("blockdim",), "blockdim")
        check(ptx_for(plain, (types.int64[::1],), 4, 64)[1] == (), "plain marks nothing")
        kernel = cuda.jit(sensitive)
        print(inspection.format_specializations(kernel))
        check(inspection.specializations(kernel) == [], "nothing compiled before a launch")
        return

    import numpy as np

    lcs_kernel, plain_kernel = cuda.jit(sensitive), cuda.jit(plain)
    launches = 0
    for block in (32, 64, 128):
        for grid in (1, 2, 3, 4):
            out = cuda.to_device(np.zeros(grid * block, dtype=np.int64))
            lcs_kernel[grid, block](out)
            plain_kernel[grid, block](out)
            launches += 1
    cuda.synchronize()
    print(inspection.format_specializations(lcs_kernel))
    print(inspection.format_specializations(plain_kernel))
    rows = inspection.specializations(lcs_kernel)
    for row in rows:
        print(
            f"  key={row['key']} default={row['default']} compiled_for={row['compiled_for']} "
            f"hits={row['hits']}"
        )
    counters = inspection.compile_counters(lcs_kernel)
    check(counters["compiles"] == 3, f"3 compiles (one per block size), got {counters}")
    check(tuple(counters["fields"]) == ("blockdim",), "fields: blockdim")
    # Hits are counted without a lock (approximate under threads); here one
    # thread launches, and the launch that compiles a specialization may not count.
    hits = sum(row["hits"] for row in rows)
    check(launches - 3 <= hits <= launches, f"hits ({hits}) account for the {launches} launches")
    plain_counters = inspection.compile_counters(plain_kernel)
    check(plain_counters["compiles"] == 1, "the plain kernel compiled once")
    check(not plain_counters["fields"], "the plain kernel has no fields")


if __name__ == "__main__":
    main()
