"""Launch constants (``numba_cuda_lcs.launch.*()``) in numba-cuda-mlir kernels.

The compiler-neutral :class:`numba_cuda_lcs.constant_rewrite.ConstantRewrite`
on numba-cuda-mlir's vendored IR, as a rewrite of its vendored numba's
``before-inference`` registry (added first, so that numba's own rewrites --
constant getitem and friends -- see the constants).  That registry runs in
the untyped pipeline of every compilation, kernels and device functions
(inlined callees included), before typing; and registering a rewrite,
unlike registering a whole-function planner, leaves numba-cuda-mlir's disk
cache on for every kernel.
"""

from ...constant_rewrite import ConstantRewrite
from .manifest import NAMES


class LaunchConstantRewrite(NAMES.Rewrite):
    """Replaces ``numba_cuda_lcs.launch.<accessor>()`` with the value for
    the launch being compiled and marks its field."""

    def __init__(self, state=None):
        super().__init__(state)
        self._rewrite = ConstantRewrite(NAMES.ir)

    def match(self, func_ir, block, typemap, calltypes):
        return self._rewrite.match(func_ir, block)

    def apply(self):
        return self._rewrite.apply()
