"""A whole-function planner like cuda.coop's, for the planner tests (CPU and
GPU): it reads the launch (``require_launch_config``) and sizes a shared
buffer from the block.  Written to a module file of its own, so that a test
can change the planner without changing the kernels' source."""

PLANNER_MODULE = """\
from numba_cuda_mlir._whole_function_planners import (
    WholeFunctionPlanner,
    register_planner,
    require_launch_config,
)
from numba_cuda_mlir.numba_cuda.core import ir


class BlockSizedBuffer(WholeFunctionPlanner):
    \"\"\"Like cuda.coop's planners: reads the launch and sizes a buffer.
    The global SLOTS becomes the block's thread count.\"\"\"

    def run(self):
        if self.is_device_function:
            return False
        changed = False
        for block in self.state.func_ir.blocks.values():
            for stmt in block.body:
                value = getattr(stmt, "value", None)
                if isinstance(value, ir.Global) and value.name == "SLOTS":
                    threads = require_launch_config(self.state)["block"][0]
                    stmt.value = ir.Const(threads * SCALE, value.loc)
                    changed = True
        return changed


SCALE = 1
"""

#: Kernels for the GPU tests and scripts/probe-planner-threads.py: a block sum
#: over a shared buffer of SLOTS floats (the planner sets SLOTS), stamping
#: SLOTS, so a launch that ran another block size's kernel is seen; and a
#: plain copy.
BLOCK_SUM_MODULE = """\
from numba_cuda_mlir import cuda
from numba_cuda_mlir.numba_cuda import float32

SLOTS = 1  # replaced by the planner: threads per block x SCALE


@cuda.jit(cache=True)
def block_sum(x, sums, slots):
    buf = cuda.shared.array(SLOTS, float32)
    t = cuda.threadIdx.x
    for j in range(t, SLOTS, cuda.blockDim.x):
        buf[j] = 0
    cuda.syncthreads()
    i = cuda.blockIdx.x * cuda.blockDim.x + t
    if i < x.size:
        buf[t] = x[i]
    cuda.syncthreads()
    if t == 0:
        total = float32(0)
        for j in range(SLOTS):
            total += buf[j]
        sums[cuda.blockIdx.x] = total
        if cuda.blockIdx.x == 0:
            slots[0] = SLOTS


@cuda.jit(cache=True)
def plain_copy(x, out):
    i = cuda.grid(1)
    if i < x.size:
        out[i] = x[i]
"""


#: Written beside the planner as ``lcs_threads.py``: the 8-thread run the
#: thread tests (CPU model and GPU) share.
THREADS_MODULE = """\
import random
import threading


def shuffled_in_threads(blocks, run, threads=8, repeats=3):
    \"\"\"run(block) for every block, *repeats* times, in a shuffled order per
    thread, all threads at once: ([results of each thread], [errors]).\"\"\"
    results, errors = [], []

    def worker(seed):
        order = list(blocks) * repeats
        random.Random(seed).shuffle(order)
        try:
            results.append([run(block) for block in order])
        except Exception as exc:
            errors.append(repr(exc))

    workers = [threading.Thread(target=worker, args=(seed,)) for seed in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    return results, errors
"""
