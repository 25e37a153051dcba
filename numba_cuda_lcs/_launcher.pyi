"""Typed stub for the C extension ``numba_cuda_lcs._launcher``."""

from typing import Any, Callable, Optional, Sequence, Tuple, Union

K_FALLBACK: int
K_ARRAY: int
K_INT: int
K_F16: int
K_F32: int
K_F64: int
K_BOOL: int
K_C64: int
K_C128: int
K_PTR: int

# (kind, fallback(value, stream, retr) -> list, sizes or None, ndim, itemsize,
#  typestr or None, cai_sync); see backends/numba_cuda/argplan.ParamPlan
_Entry = Tuple[int, Callable[[Any, Any, list], Sequence[Any]], Optional[Tuple[int, ...]], int, int, Optional[str], bool]
_Dim3 = Tuple[int, int, int]

class LaunchError(RuntimeError): ...

class Launcher:
    plan: Tuple[_Entry, ...]
    def __init__(
        self, function: int, grid: _Dim3, block: _Dim3, sharedmem: int, cooperative: bool, plan: Tuple[_Entry, ...]
    ) -> None: ...
    def pack(self, args: tuple, stream_handle: int = 0, stream: Any = None, /) -> bytes: ...
    def launch(
        self, args: tuple, stream_handle: int = 0, stream: Any = None, /
    ) -> Union[list[Callable[[], Any]], Tuple[()]]: ...

def current_context() -> int: ...
def double_to_half(value: float, /) -> int: ...
