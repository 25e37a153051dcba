"""numba-cuda-mlir backend on a GPU (skipped without one): real launches.

Kernels stamp the launch constants they were *compiled* with into their
output, so a launch that ran a kernel compiled for another configuration is
detected on that launch."""

import json
import os
import subprocess
import sys
import textwrap
import threading

import numpy as np
import pytest

pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402
from numba_cuda_mlir.numba_cuda import float32  # noqa: E402
from support.twins import child_env  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import inspection, launch  # noqa: E402

# numba-cuda-mlir launches through its own launcher, not ours: once.
pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("quiet_warnings")]


def stamping_kernels():
    @cuda.jit
    def by_block(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 0
            out[1] = launch.threads_per_block()
            out[2] = 0

    @cuda.jit
    def by_grid_block(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = launch.blocks_per_grid()
            out[1] = launch.threads_per_block()
            out[2] = 0

    @cuda.jit
    def by_all(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = launch.blocks_per_grid()
            out[1] = launch.threads_per_block()
            out[2] = launch.sharedmem()

    return [
        (by_block, (False, True, False)),
        (by_grid_block, (True, True, False)),
        (by_all, (True, True, True)),
    ]


def expected(stamps, grid, block, shared):
    return [v if used else 0 for v, used in zip((grid, block, shared), stamps)]


def test_8_threads_fresh_lcs_kernel_different_configurations_zero_wrong_kernels():
    wrong, errors = [], []
    rounds = 20
    blocks = [32, 64, 96, 128, 160, 192, 224, 256]
    for _ in range(rounds):
        kernel = stamping_kernels()[0][0]
        barrier = threading.Barrier(len(blocks))

        def worker(block):
            try:
                out = cuda.to_device(np.zeros(3, np.int64))
                configured = kernel[1, block]
                barrier.wait()
                configured(out)
                got = out.copy_to_host().tolist()
                if got != [0, block, 0]:
                    wrong.append((block, got))
            except Exception as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(b,)) for b in blocks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    print(f"{rounds} fresh kernels x 8 threads: {len(wrong)} wrong kernels")
    assert not errors and not wrong


def test_8_threads_x_2000_launches_over_16_configurations():
    kernels = stamping_kernels()
    configs = [(g, b, s) for g in (1, 2) for b in (32, 64, 96, 128) for s in (0, 16)]
    wrong, errors = [], []
    barrier = threading.Barrier(8)

    def worker(seed):
        rng = np.random.default_rng(seed)
        out = cuda.to_device(np.zeros(3, np.int64))
        barrier.wait()
        try:
            for _ in range(2000):
                kernel, stamps = kernels[rng.integers(len(kernels))]
                g, b, s = configs[rng.integers(len(configs))]
                kernel[g, b, 0, s](out)
                got = out.copy_to_host().tolist()
                if got != expected(stamps, g, b, s):
                    wrong.append((kernel.__name__, g, b, s, got))
        except Exception as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and not wrong
    compiles = {k.__name__: inspection.compile_counters(k)["compiles"] for k, _ in kernels}
    assert compiles == {"by_block": 4, "by_grid_block": 8, "by_all": 16}


def test_block_only_kernel_over_10_grids_compiles_once():
    kernel = stamping_kernels()[0][0]
    out = cuda.to_device(np.zeros(3, np.int64))
    for grid in range(1, 11):
        kernel[grid, 64](out)
        assert out.copy_to_host().tolist() == [0, 64, 0]
    counts = inspection.compile_counters(kernel)
    assert counts["compiles"] == 1 and counts["fields"] == ("blockdim",)


def test_launch_constants_size_a_shared_array_with_config_stamped_outputs():
    @cuda.jit
    def block_sum(x, out, stamp):
        buf = cuda.shared.array(launch.threads_per_block(), float32)
        tid = cuda.threadIdx.x
        i = cuda.grid(1)
        buf[tid] = x[i] if i < x.size else 0.0
        cuda.syncthreads()
        stride = launch.threads_per_block() // 2
        while stride > 0:
            if tid < stride:
                buf[tid] += buf[tid + stride]
            cuda.syncthreads()
            stride //= 2
        if tid == 0:
            cuda.atomic.add(out, 0, buf[0])
            stamp[cuda.blockIdx.x] = launch.threads_per_block()

    n = 4096
    x = cuda.to_device(np.ones(n, np.float32))
    for block in (64, 256, 32, 64):
        grid = (n + block - 1) // block
        out = cuda.to_device(np.zeros(1, np.float32))
        stamp = cuda.to_device(np.zeros(grid, np.int64))
        block_sum[grid, block](x, out, stamp)
        assert out.copy_to_host()[0] == n
        assert set(stamp.copy_to_host().tolist()) == {block}
    assert inspection.compile_counters(block_sum)["compiles"] == 3


def test_plain_kernels_are_untouched_and_compile_once():
    @cuda.jit
    def plain(out):
        out[cuda.grid(1)] = 1

    for grid, block in [(1, 32), (2, 64), (4, 128)]:
        out = cuda.to_device(np.zeros(grid * block, np.int64))
        plain[grid, block](out)
        assert out.copy_to_host().sum() == grid * block
    counts = inspection.compile_counters(plain)
    assert counts["compiles"] == 1 and counts["specializations"] == 1


def test_marks_from_a_planner_route_by_the_marked_fields():
    from numba_cuda_mlir._whole_function_planners import (
        WholeFunctionPlanner,
        _planner_registry,
        register_planner,
    )

    @cuda.jit
    def planned(out):
        out[0] = 7

    class Planner(WholeFunctionPlanner):
        def run(self):
            config = numba_cuda_lcs.current_launch_config()
            if config is not None and config.dispatcher is planned:
                config.mark_kernel_as_launch_config_sensitive(fields="blockdim")
            return False

    register_planner(Planner)
    try:
        out = cuda.to_device(np.zeros(1, np.int64))
        for grid, block in [(1, 32), (3, 32), (1, 64)]:
            planned[grid, block](out)
            assert out.copy_to_host()[0] == 7
    finally:
        _planner_registry._planners.remove(Planner)
    counts = inspection.compile_counters(planned)
    assert counts["compiles"] == 2 and counts["fields"] == ("blockdim",)


SCRIPT = textwrap.dedent(
    """
    import json, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np
    import numba_cuda_lcs
    from numba_cuda_lcs import inspection, launch
    from numba_cuda_mlir import cuda

    @cuda.jit(cache=True)
    def cached_lcs(out):
        if cuda.threadIdx.x == 0:
            out[0] = launch.threads_per_block()

    @cuda.jit(cache=True)
    def cached_plain(out):
        out[1] = 5

    out = cuda.to_device(np.zeros(2, np.int64))
    stamps = []
    for block in map(int, sys.argv[1:]):
        cached_lcs[1, block](out)
        cached_plain[1, block](out)
        stamps.append(out.copy_to_host().tolist())
    print(json.dumps({
        "lcs": inspection.compile_counters(cached_lcs),
        "plain_hits": sum(cached_plain._cache_hits.values()),
        "plain_misses": sum(cached_plain._cache_misses.values()),
        "stamps": stamps,
    }))
    """
)


def _run(tmp_path, *blocks):
    env = child_env(NUMBA_CACHE_DIR=str(tmp_path / "cache"))
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "cached_kernels.py"), *map(str, blocks)],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_disk_cache_per_key_with_marker_and_plain_kernels_keep_theirs(tmp_path):
    (tmp_path / "cached_kernels.py").write_text(SCRIPT)
    first = _run(tmp_path, 64, 128)
    assert first["lcs"]["compiles"] == 2 and first["lcs"]["cache_loads"] == 0
    assert first["plain_misses"] == 1
    markers = [f for _d, _s, fs in os.walk(tmp_path / "cache") for f in fs if f.endswith(".lcs")]
    assert len(markers) == 1
    second = _run(tmp_path, 128, 64, 32)
    assert second["lcs"]["cache_loads"] == 2 and second["lcs"]["compiles"] == 1
    assert second["lcs"]["fields"] == ["blockdim"] or second["lcs"]["fields"] == ("blockdim",)
    assert second["plain_hits"] == 1 and second["plain_misses"] == 0
    assert [s[0] for s in second["stamps"]] == [128, 64, 32]
    assert all(s[1] == 5 for s in second["stamps"])
