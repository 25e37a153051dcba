"""The launch-overhead benchmarks' kernels and arguments, for either
compiler's ``cuda`` module (numba-cuda's or numba-cuda-mlir's): shared by
``scripts/bench-mlir-launch-overhead.py`` and ``scripts/bench-paired.py``.

Cases: ``"0"``, ``"1"``, ``"4"``, ``"16"`` that many device arrays of the
compiler's own class; ``"16s"``, ``"256s"`` that many float32 scalars;
``"4c"`` (and ``"4c-nosync"``, the same arguments) four CuPy arrays; ``"4t"``
four PyTorch tensors; ``"1x8"`` one array, launched in :data:`ALTERNATING`
configurations one after another.
"""

import argparse

CASES = ("0", "1", "4", "16", "16s", "256s", "4c", "4c-nosync", "4t", "1x8")
ALTERNATING = 8  # configurations of case 1x8
#: The block sizes case 1x8 cycles through (one block each).
ALTERNATING_BLOCKS = tuple(32 * k for k in range(1, ALTERNATING + 1))


def arguments(case, cuda):
    """The launch arguments of *case*; raises ImportError without CuPy or
    PyTorch for 4c / 4t."""
    import numpy as np

    if case.endswith("s"):
        return tuple(np.float32(i) for i in range(int(case[:-1])))
    if case in ("4c", "4c-nosync"):
        import cupy

        return tuple(cupy.zeros(4, dtype=cupy.float32) for _ in range(4))
    if case == "4t":
        import torch

        return tuple(torch.zeros(4, dtype=torch.float32, device="cuda") for _ in range(4))
    count = 1 if case == "1x8" else int(case)
    return tuple(cuda.to_device(np.zeros(4, np.float32)) for _ in range(count))


def kernel(cuda, launch, case, count, lcs, prefix="k_"):
    """An empty-bodied kernel of *count* parameters named *prefix* + *case*:
    its one branch never runs; the LC-S one (*lcs*) compares with the block
    size read at compile time (``numba_cuda_lcs.launch``, passed as
    *launch*), the plain one with 1024."""
    params = [f"a{i}" for i in range(count)]
    bound = "launch.threads_per_block()" if lcs else "1024"
    scalars = case.endswith("s")
    body = "cuda.syncthreads()" if scalars or not params else f"{params[0]}[0] = 1"
    name = prefix + case.replace("-", "_")
    namespace = {"cuda": cuda, "launch": launch}
    source = (
        f"def {name}({', '.join(params)}):\n    if cuda.threadIdx.x >= {bound}:\n        {body}\n"
    )
    exec(source, namespace)  # noqa: S102 -- a kernel takes a fixed parameter list
    return cuda.jit(namespace[name])


def comma_separated(choices):
    """An argparse ``type``: a comma-separated list of some of *choices*,
    refused naming them."""

    def parse(text):
        items = text.split(",")
        unknown = [item for item in items if item not in choices]
        if unknown:
            raise argparse.ArgumentTypeError(f"unknown {unknown}; choose from {', '.join(choices)}")
        return items

    return parse
