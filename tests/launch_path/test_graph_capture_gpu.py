"""CUDA graphs with numba-cuda kernels while the package is active (GPU).

The same as ``tests/mlir/test_mlir_graph_capture.py`` for numba-cuda: a
cuda.core ``GraphBuilder`` as the stream (numba-cuda accepts it), and an
external stream PyTorch captures on (``torch.cuda.graph``); plain and LC-S
kernels, LC-S configurations compiled for the first time while capturing
included.  Replays must run the right kernel for every configuration.
"""

import numpy as np
import pytest

from numba_cuda_lcs import launch

pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("quiet_warnings")]


def kernels():
    from numba import cuda

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


def test_graph_builder_capture_replays_plain_and_lcs_kernels():
    from cuda.core import Device
    from numba import cuda

    cuda.current_context()
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
        for block in blocks:
            np.testing.assert_array_equal(stamped[block].copy_to_host(), np.full(size, block))


def test_torch_graph_capture_on_an_external_stream():
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("PyTorch has no CUDA here")
    from numba import cuda

    fill, stamp = kernels()
    size, blocks = 256, (32, 64)
    filled = torch.zeros(size, dtype=torch.int32, device="cuda")
    stamped = {block: torch.zeros(size, dtype=torch.int32, device="cuda") for block in blocks}
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):  # warm-up launches, as torch.cuda.graph asks
        fill[2, 128, cuda.external_stream(side.cuda_stream)](filled, 1)
    torch.cuda.synchronize()
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph, capture_error_mode="relaxed"):  # first compiles load modules
        capturing = cuda.external_stream(torch.cuda.current_stream().cuda_stream)
        fill[2, 128, capturing](filled, 9)
        for block in blocks:  # first compiled while capturing
            stamp[size // block, block, capturing](stamped[block])
    for _ in range(2):
        filled.zero_()
        for out in stamped.values():
            out.zero_()
        graph.replay()
        torch.cuda.synchronize()
        assert (filled.cpu().numpy() == 9 + np.arange(size)).all()
        for block in blocks:
            assert (stamped[block].cpu().numpy() == block).all()
