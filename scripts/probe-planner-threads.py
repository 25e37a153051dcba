"""Probe on a GPU: a cuda.coop-like planner kernel launched from 8 threads
over 8 block sizes, stock numba-cuda-mlir vs numba-cuda-lcs active, with and
without cache=True -- errors and wrong results per variant (one process
each).  numba-cuda-mlir 0.6.0 alone is expected to show wrong results or
illegal-address faults (its launcher race, see
backends/numba_cuda_mlir/configured_launch.launch_prepared); active, none.
tests/mlir/test_mlir_planners.py models the same race on CPU."""

import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))

from support.planners import BLOCK_SUM_MODULE, PLANNER_MODULE  # noqa: E402

CHILD = r"""
import json, random, sys, threading, warnings
sys.path.insert(0, sys.argv[1])
warnings.simplefilter("ignore")
import numpy as np
from numba_cuda_mlir import cuda
from numba_cuda_mlir._whole_function_planners import register_planner
import lcs_planner, lcs_probe_kernels as k
register_planner(lcs_planner.BlockSizedBuffer)
kernel = getattr(k, sys.argv[2])
threads_n = int(sys.argv[3])
BLOCKS = (32, 64, 96, 128, 192, 256, 512, 1024)
N = 8192
wrong, errors = [], []
def run(block):
    x = cuda.to_device(np.ones(N, np.float32))
    grid = N // block
    sums = cuda.device_array(grid, np.float32)
    slots = cuda.device_array(1, np.int64)
    kernel[grid, block](x, sums, slots)
    bad = int((sums.copy_to_host() != block).sum()) + int(slots.copy_to_host()[0] != block)
    if bad:
        wrong.append((block, int(slots.copy_to_host()[0])))
def worker(seed):
    order = list(BLOCKS) * 3
    random.Random(seed).shuffle(order)
    try:
        for b in order:
            run(b)
    except Exception as exc:
        errors.append(repr(exc)[:200])
# numba-cuda-mlir 0.6.0 (stock as well) fails a thread's first launch with
# CUDA_ERROR_NOT_INITIALIZED while no thread has initialized CUDA yet.
cuda.current_context()
ts = [threading.Thread(target=worker, args=(s,)) for s in range(threads_n)]
[t.start() for t in ts]; [t.join() for t in ts]
print("PROBE " + json.dumps({"wrong": wrong[:5], "n_wrong": len(wrong), "errors": errors[:2], "n_errors": len(errors)}))
"""

results = {}
for variant in ("uncached", "cached"):
    for threads_n in (8,):
        for mode in ("stock", "active"):
            with tempfile.TemporaryDirectory() as src:
                with open(os.path.join(src, "lcs_planner.py"), "w") as f:
                    f.write(PLANNER_MODULE)
                with open(os.path.join(src, "lcs_probe_kernels.py"), "w") as f:
                    # cache=True as given; an uncached twin of the same function
                    f.write(
                        BLOCK_SUM_MODULE
                        + "\n\nuncached = cuda.jit(block_sum.py_func)\ncached = block_sum\n"
                    )
                env = dict(os.environ, NUMBA_CUDA_LCS_DISABLE="1" if mode == "stock" else "0")
                proc = subprocess.run(
                    [sys.executable, "-c", CHILD, src, variant, str(threads_n)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=120,
                )
                line = [x for x in proc.stdout.splitlines() if x.startswith("PROBE ")]
                got = (
                    json.loads(line[0][6:])
                    if line
                    else {"rc": proc.returncode, "stderr": proc.stderr[-600:]}
                )
                name = f"{variant} threads={threads_n} {mode}"
                results[name] = got
                print(name, json.dumps(got), flush=True)
