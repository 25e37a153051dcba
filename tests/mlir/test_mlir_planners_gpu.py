"""numba-cuda-mlir's whole-function planners with numba-cuda-lcs active, on a
GPU: a cuda.coop-like planner (``require_launch_config``, a shared buffer
sized from the block) over 8 block sizes -- 0 wrong results from 8 threads,
and across processes sharing a ``cache=True`` directory the second process
loads every configuration from disk; a changed planner recompiles; a plain
kernel in the same process keeps its disk cache.

Each kernel stamps the buffer size it was compiled with, so a launch that ran
a kernel compiled for another block size is seen on that launch.
"""

import pytest

pytest.importorskip("numba_cuda_mlir")

from support.planners import BLOCK_SUM_MODULE, PLANNER_MODULE, THREADS_MODULE  # noqa: E402
from support.processes import lcs_result, run_python  # noqa: E402

pytestmark = [pytest.mark.gpu]

BLOCKS = (32, 64, 96, 128, 192, 256, 512, 1024)
N = 8192

# Launch every block size; a wrong result is a sum other than the block's
# thread count or a buffer sized for another block.
RUNNER = f"""\
import numpy as np
from numba_cuda_mlir import cuda


def run(kernels, block, scale):
    x = cuda.to_device(np.ones({N}, np.float32))
    grid = {N} // block
    sums = cuda.device_array(grid, np.float32)
    slots = cuda.device_array(1, np.int64)
    kernels.block_sum[grid, block](x, sums, slots)
    host_sums = sums.copy_to_host()
    wrong = int((host_sums != block).sum())
    wrong += int(slots.copy_to_host()[0] != block * scale)
    return wrong
"""

CHILD = """\
import json, sys, warnings
sys.path.insert(0, {module_dir!r})
warnings.simplefilter("ignore")
import numpy as np
from numba_cuda_mlir import cuda
from numba_cuda_mlir._whole_function_planners import register_planner
import numba_cuda_lcs
from numba_cuda_lcs import inspection
import lcs_planner, lcs_planned_kernels as kernels, lcs_runner

register_planner(lcs_planner.BlockSizedBuffer)
wrong = sum(lcs_runner.run(kernels, b, lcs_planner.SCALE) for b in {blocks!r})
x = cuda.to_device(np.arange(256, dtype=np.float32))
out = cuda.device_array(256, np.float32)
kernels.plain_copy[2, 128](x, out)
wrong += int((out.copy_to_host() != np.arange(256)).sum())
print("LCS-RESULT " + json.dumps({{
    "active": "numba-cuda-mlir" in numba_cuda_lcs.active_compilers(),
    "wrong": wrong,
    "planned": inspection.compile_counters(kernels.block_sum),
    "plain": inspection.compile_counters(kernels.plain_copy),
}}))
"""


@pytest.fixture
def modules(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lcs_planner.py").write_text(PLANNER_MODULE)
    (src / "lcs_planned_kernels.py").write_text(BLOCK_SUM_MODULE)
    (src / "lcs_runner.py").write_text(RUNNER)
    (src / "lcs_threads.py").write_text(THREADS_MODULE)
    return src


def run_child(modules, cache_dir):
    code = CHILD.format(module_dir=str(modules), blocks=list(BLOCKS))
    proc = run_python("-c", code, env={"NUMBA_CACHE_DIR": str(cache_dir)})
    result = lcs_result(proc)
    assert result["active"]
    return result


def test_processes_load_every_planned_configuration_from_disk(modules, tmp_path):
    cache = tmp_path / "cache"
    first = run_child(modules, cache)
    assert first["wrong"] == 0
    assert first["planned"]["compiles"] == len(BLOCKS)
    assert first["plain"]["compiles"] == 1

    second = run_child(modules, cache)
    assert second["wrong"] == 0
    assert second["planned"]["compiles"] == 0
    assert second["planned"]["cache_loads"] == len(BLOCKS)
    assert second["plain"]["compiles"] == 0
    assert second["plain"]["cache_loads"] == 1

    # A changed planner (buffers twice the block) recompiles every
    # configuration, and the results show it ran.
    planner = modules / "lcs_planner.py"
    planner.write_text(planner.read_text().replace("SCALE = 1", "SCALE = 2"))
    changed = run_child(modules, cache)
    assert changed["wrong"] == 0
    assert changed["planned"]["compiles"] == len(BLOCKS)
    assert changed["planned"]["cache_loads"] == 0


THREADS_CHILD = """\
import json, sys, warnings
sys.path.insert(0, {module_dir!r})
warnings.simplefilter("ignore")
from numba_cuda_mlir._whole_function_planners import register_planner
import numba_cuda_lcs
import lcs_planner, lcs_planned_kernels as kernels, lcs_runner, lcs_threads

register_planner(lcs_planner.BlockSizedBuffer)
# numba-cuda-mlir 0.6.0 (stock as well) fails a thread's first launch with
# CUDA_ERROR_NOT_INITIALIZED while no thread has initialized CUDA yet:
# initialize it here, as an application does before starting workers.
from numba_cuda_mlir import cuda
cuda.current_context()
results, errors = lcs_threads.shuffled_in_threads(
    {blocks!r}, lambda block: lcs_runner.run(kernels, block, 1)
)
wrong = [sum(found) for found in results]
with kernels.block_sum._launch_config_lock:
    keys = {{repr(key) for _args, key in kernels.block_sum._launch_config_overloads}}
print("LCS-RESULT " + json.dumps({{
    "active": "numba-cuda-mlir" in numba_cuda_lcs.active_compilers(),
    "wrong": wrong, "errors": errors[:3], "configurations": len(keys),
}}))
"""


def test_eight_threads_eight_block_sizes_zero_wrong_results(modules, tmp_path):
    # In a child process: a wrong kernel here can fault, and a faulted CUDA
    # context would fail every later test of this worker.
    code = THREADS_CHILD.format(module_dir=str(modules), blocks=list(BLOCKS))
    proc = run_python("-c", code, env={"NUMBA_CACHE_DIR": str(tmp_path / "cache")})
    result = lcs_result(proc)
    assert result["active"]
    assert result["errors"] == []
    assert result["wrong"] == [0] * 8
    # numba-cuda-mlir's semantics: one specialization per block size.
    assert result["configurations"] == len(BLOCKS)
