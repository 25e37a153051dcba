"""The one place that binds the thread-local state implementation.

The C extension ``_tls`` is used when it is built; its pure-Python twin
``_tls_py`` when it is not, or when ``NUMBA_CUDA_LCS_PURE_PYTHON=1`` is set.
Every other module calls these functions as ``tls.swap_args(...)`` (never
binding them at import), so :func:`use` switches the whole package at once:
that is how the test-suite runs everything over both implementations.

The state itself (per thread): the arguments of the launch in progress, the
configured launch in progress (published by backends that look it up from
their compile hooks), and a stack of compile frames, each holding the
configuration being compiled for and the launch-config fields marked so far.
"""

import os
from collections.abc import Callable
from typing import Any

from . import _tls_py

try:
    from . import _tls as _tls_c
except ImportError:  # extension not built (e.g. a plain source checkout)
    _tls_c = None  # type: ignore[assignment]

#: The implementations available in this process, by name.
IMPLEMENTATIONS = {"python": _tls_py}
if _tls_c is not None:
    IMPLEMENTATIONS["c"] = _tls_c

_FUNCTIONS = (
    "current_args",
    "current_config",
    "swap_args",
    "current_launch",
    "begin_launch",
    "end_launch",
    "begin_compile",
    "end_compile",
    "in_compile",
    "compile_marks",
    "add_marks",
)

# Bound by use(); declared here for readers and type checkers.
current_args: Callable[[], tuple[Any, ...] | None] = _tls_py.current_args
current_config: Callable[[], Any] = _tls_py.current_config
swap_args: Callable[[tuple[Any, ...] | None], tuple[Any, ...] | None] = _tls_py.swap_args
current_launch: Callable[[], Any] = _tls_py.current_launch
begin_launch: Callable[[Any, Any], tuple[Any, Any]] = _tls_py.begin_launch
end_launch: Callable[[tuple[Any, Any]], None] = _tls_py.end_launch
begin_compile: Callable[[Any], Any] = _tls_py.begin_compile
end_compile: Callable[[Any], None] = _tls_py.end_compile
in_compile: Callable[[], bool] = _tls_py.in_compile
compile_marks: Callable[[], int] = _tls_py.compile_marks
add_marks: Callable[[int], int] = _tls_py.add_marks

#: The module providing the functions above, and its name ("c" or "python").
impl = _tls_py
IMPLEMENTATION = "python"


def use(name):
    """Bind the implementation *name* ("c" or "python") and return the name
    bound before.  Only switch between launches and compilations: the state
    of one implementation is invisible to the other."""
    global impl, IMPLEMENTATION
    try:
        module = IMPLEMENTATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown TLS implementation {name!r}; available: {', '.join(sorted(IMPLEMENTATIONS))}"
        ) from None
    previous = IMPLEMENTATION
    namespace = globals()
    for function in _FUNCTIONS:
        namespace[function] = getattr(module, function)
    impl, IMPLEMENTATION = module, name
    return previous


#: What a process starts with: the C extension unless it is not built or
#: NUMBA_CUDA_LCS_PURE_PYTHON=1 asks for the twin.
DEFAULT_IMPLEMENTATION = (
    "python" if os.environ.get("NUMBA_CUDA_LCS_PURE_PYTHON", "") == "1" or _tls_c is None else "c"
)
use(DEFAULT_IMPLEMENTATION)

__all__ = [
    "IMPLEMENTATION",
    "IMPLEMENTATIONS",
    "DEFAULT_IMPLEMENTATION",
    "impl",
    "use",
    *_FUNCTIONS,
]
