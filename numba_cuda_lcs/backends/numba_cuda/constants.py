"""Launch constants in numba-cuda kernels: the compiler-neutral
:class:`~numba_cuda_lcs.constant_rewrite.ConstantRewrite` as a numba-cuda
``before-inference`` rewrite (install puts it first, so numba-cuda's own
rewrites, such as static getitem, see the constants)."""

from ...constant_rewrite import ConstantRewrite
from .manifest import NAMES as nb


class LaunchConstantRewrite(nb.Rewrite):
    """Replaces ``numba_cuda_lcs.launch.<accessor>()`` calls with the value
    for the launch being compiled, and marks the accessor's field."""

    def __init__(self, state=None):
        super().__init__(state)
        self._rewrite = ConstantRewrite(nb.ir)

    def match(self, func_ir, block, typemap, calltypes):
        return self._rewrite.match(func_ir, block)

    def apply(self):
        return self._rewrite.apply()
