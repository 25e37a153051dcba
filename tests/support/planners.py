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
