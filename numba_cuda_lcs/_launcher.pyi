"""Typed stub for the C extension ``numba_cuda_lcs._launcher``.

Built from ``numba_cuda_lcs/_launcher_c/`` (``common.h`` maps the parts); its
pure-Python twin is the package ``numba_cuda_lcs._launcher_py``, in the same
parts.
"""

from collections.abc import Callable, Sequence
from typing import Any

# The argument kinds, defined once in _launcher_c/arg_kinds.h (the twin reads
# the header: numba_cuda_lcs._launcher_py.arg_kinds).
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
K_MEMREF: int

# (kind, fallback(value, stream, retr) -> list or None, sizes or None, ndim,
#  itemsize, typestr or None, cai_sync); see backends/numba_cuda/argplan.ParamPlan
# (fallback None: a value the kind's rule declines declines the launch)
_Entry = tuple[
    int,
    Callable[[Any, Any, list[Any]], Sequence[Any]] | None,
    tuple[int, ...] | None,
    int,
    int,
    str | None,
    bool,
]
_Dim3 = tuple[int, int, int]

class LaunchError(RuntimeError): ...

class Launcher:
    plan: tuple[_Entry, ...]
    #: Whether launches hand the driver their parameters as one buffer (the
    #: function's parameter info allows it); None before the first launch.
    #: The twin always hands a pointer per parameter.
    @property
    def param_buffer(self) -> bool | None: ...
    def __init__(
        self,
        function: int,
        grid: _Dim3,
        block: _Dim3,
        sharedmem: int,
        cooperative: bool,
        plan: tuple[_Entry, ...],
    ) -> None: ...
    def pack(
        self, args: tuple[Any, ...], stream_handle: int = 0, stream: Any = None, /
    ) -> bytes: ...
    def launch(
        self, args: tuple[Any, ...], stream_handle: int = 0, stream: Any = None, /
    ) -> list[Callable[[], Any]] | tuple[()]: ...

def current_context() -> int: ...
def double_to_half(value: float, /) -> int: ...

SITE_ENTRIES: int
SITE_MAX_ARGS: int
SITE_STREAM_CUPY_CURRENT: int

class LaunchSite:
    """Base class of a configured launch: remembered launches in C."""

    def __call__(self, *args: Any) -> Any: ...

def remember(
    site: LaunchSite,
    args: tuple[Any, ...],
    launcher: Launcher,
    stream_handle: int,
    stream: Any,
    counter: Any,
    context: int,
    /,
) -> bool: ...
def match(site: LaunchSite, args: tuple[Any, ...], context: int, /) -> int: ...
def remembered(site: LaunchSite, /) -> int: ...
def forget(site: LaunchSite, /) -> None: ...
def invalidate() -> None: ...
def configure_sites(
    typed_classes: type | tuple[type, ...] | None,
    launch_error: type[BaseException] | None,
    twin_site_call: Callable[[Any, tuple[Any, ...]], Any] | None,
    /,
) -> None: ...
def configure_cupy(
    ndarray_class: type | None, get_current_stream: Callable[[], Any] | None, /
) -> None: ...
def configure_interface_sync(source: object | None, own_class: type | None, /) -> None: ...

class HitCounter:
    """Base class whose ``hits`` launch sites increment in C."""

    hits: int
