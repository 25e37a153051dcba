"""Launch constants inside kernels.

Call these in a ``@cuda.jit`` kernel to get the launch configuration the
kernel is being compiled for, as compile-time constants::

    from numba_cuda_lcs import launch

    @cuda.jit
    def block_sum(x, out):
        buf = cuda.shared.array(launch.threads_per_block(), float64)
        ...
        for s in range(launch.threads_per_block() // 2): ...

Each call is replaced, before type inference, by the value for the launch
being compiled, and marks the kernel sensitive to exactly that field: a
kernel that reads only the block size is compiled once per block size and
reused across grid sizes.  The values are constants, so they can size
``cuda.shared.array`` / ``cuda.local.array`` and bound loops.

Outside a launch-triggered compilation (explicit signatures,
``dispatcher.compile()``, ``compile_ptx`` without ``compiling_for``) the
compilation fails with :class:`~numba_cuda_lcs.LaunchConfigUnavailableError`.
Calling them from Python (not in a kernel) raises ``TypeError``.

They work in device functions called by the kernel too: such a device
function is compiled once per launch key (of the fields it reads) and its
fields are added to the calling kernel's.
"""

from collections.abc import Callable, Iterable
from typing import Any, NoReturn

from . import keys as _keys

__all__ = [
    "griddim",
    "blockdim",
    "sharedmem",
    "threads_per_block",
    "blocks_per_grid",
]


def _device_only(name: str) -> Callable[[], Any]:
    def accessor() -> NoReturn:
        raise TypeError(
            f"numba_cuda_lcs.launch.{name}() is a compile-time constant for use "
            "inside a @cuda.jit kernel; it cannot be called from Python"
        )

    accessor.__name__ = accessor.__qualname__ = name
    return accessor


griddim: Callable[[], tuple[int, int, int]] = _device_only("griddim")
griddim.__doc__ = "The launch's grid dimensions, a 3-tuple of ints."
blockdim: Callable[[], tuple[int, int, int]] = _device_only("blockdim")
blockdim.__doc__ = "The launch's block dimensions, a 3-tuple of ints."
sharedmem: Callable[[], int] = _device_only("sharedmem")
sharedmem.__doc__ = "The launch's dynamic shared memory size in bytes."
threads_per_block: Callable[[], int] = _device_only("threads_per_block")
threads_per_block.__doc__ = "blockdim[0] * blockdim[1] * blockdim[2]."
blocks_per_grid: Callable[[], int] = _device_only("blocks_per_grid")
blocks_per_grid.__doc__ = "griddim[0] * griddim[1] * griddim[2]."


def _product(dims: Iterable[int]) -> int:
    total = 1
    for d in dims:
        total *= d
    return total


#: accessor -> (field bit it depends on, value for a configuration)
ACCESSORS: dict[Callable[[], Any], tuple[int, Callable[[Any], Any]]] = {
    griddim: (_keys.GRIDDIM, lambda cfg: tuple(cfg.griddim)),
    blockdim: (_keys.BLOCKDIM, lambda cfg: tuple(cfg.blockdim)),
    sharedmem: (_keys.SHAREDMEM, lambda cfg: cfg.sharedmem),
    threads_per_block: (_keys.BLOCKDIM, lambda cfg: _product(cfg.blockdim)),
    blocks_per_grid: (_keys.GRIDDIM, lambda cfg: _product(cfg.griddim)),
}
