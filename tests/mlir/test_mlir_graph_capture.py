"""CUDA graphs with numba-cuda-mlir kernels while the package is active.

A cuda.core ``GraphBuilder`` as the stream of ``kernel[grid, block,
stream]`` launches on the stream it captures on, as numba-cuda accepts it
(numba-cuda-mlir 0.6.0 alone refuses it: "Unsupported stream type"); an
external stream that PyTorch captures on (``torch.cuda.graph``) is a
stream handle numba-cuda-mlir launches on.  Plain and LC-S kernels, LC-S
configurations compiled for the first time while capturing included:
replays must run the right kernel.  The first test runs on CPU (a stand-in
builder class); the others need a GPU.
"""

import numpy as np
import pytest

pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import launch  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda_mlir import configured_launch  # noqa: E402

pytestmark = pytest.mark.usefixtures("quiet_warnings")


def kernels():
    @cuda.jit
    def fill(out, value):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = value + i

    @cuda.jit
    def stamp(out):  # LC-S: compiled per block size
        i = cuda.grid(1)
        if i < out.size:
            out[i] = launch.threads_per_block()

    return fill, stamp


def test_graph_builder_configures_the_stream_it_captures_on(monkeypatch):
    if "numba-cuda-mlir" not in numba_cuda_lcs.active_compilers():
        pytest.skip("the package is not active for numba-cuda-mlir")

    class Builder:  # stands in for cuda.core's GraphBuilder
        stream = 7

    monkeypatch.setattr(configured_launch, "_GRAPH_BUILDER", [Builder])
    fill, _ = kernels()
    assert fill[1, 32, Builder()] is fill[1, 32, 7]
    assert fill.configure(1, 32, stream=Builder()) is fill[1, 32, 7]
    assert fill[1, 32, Builder(), 0].stream == 7


def _expected(blocks, size):
    return {block: np.full(size, block, np.int32) for block in blocks}


@pytest.mark.gpu
def test_graph_builder_capture_replays_plain_and_lcs_kernels():
    from cuda.core import Device

    device = Device()
    device.set_current()
    stream = device.create_stream()
    fill, stamp = kernels()
    size, blocks = 256, (32, 64, 128)
    stamp[2, 32](cuda.device_array(size, np.int32))  # one configuration before
    cuda.synchronize()
    filled = cuda.device_array(size, np.int32)
    stamped = {block: cuda.device_array(size, np.int32) for block in blocks}
    builder = stream.create_graph_builder().begin_building()
    fill[2, 128, builder](filled, 5)
    for block in blocks:  # 64 and 128: compiled for the first time here
        stamp[size // block, block, builder](stamped[block])
    graph = builder.end_building().complete()
    for _ in range(2):
        filled.copy_to_device(np.zeros(size, np.int32))
        for out in stamped.values():
            out.copy_to_device(np.zeros(size, np.int32))
        cuda.synchronize()
        graph.upload(stream)
        graph.launch(stream)
        stream.sync()
        np.testing.assert_array_equal(filled.copy_to_host(), 5 + np.arange(size))
        for block, want in _expected(blocks, size).items():
            np.testing.assert_array_equal(stamped[block].copy_to_host(), want)


@pytest.mark.gpu
def test_torch_graph_capture_on_an_external_stream():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA here")
    # numba-cuda-mlir 0.6.0 does not take PyTorch tensors as arguments
    # ("Cannot interpret 'torch.int32' as a data type"): its own arrays.
    fill, stamp = kernels()
    size, blocks = 256, (32, 64)
    filled = cuda.device_array(size, np.int32)
    stamped = {block: cuda.device_array(size, np.int32) for block in blocks}
    cuda.synchronize()
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):  # warm-up launches, as torch.cuda.graph asks
        fill[2, 128, side.cuda_stream](filled, 1)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, capture_error_mode="relaxed"):  # first compiles load modules
        handle = torch.cuda.current_stream().cuda_stream
        fill[2, 128, handle](filled, 9)
        for block in blocks:  # first compiled while capturing
            stamp[size // block, block, handle](stamped[block])
    for _ in range(2):
        filled.copy_to_device(np.zeros(size, np.int32))
        for out in stamped.values():
            out.copy_to_device(np.zeros(size, np.int32))
        cuda.synchronize()
        graph.replay()
        torch.cuda.synchronize()
        np.testing.assert_array_equal(filled.copy_to_host(), 9 + np.arange(size))
        for block, want in _expected(blocks, size).items():
            np.testing.assert_array_equal(stamped[block].copy_to_host(), want)
