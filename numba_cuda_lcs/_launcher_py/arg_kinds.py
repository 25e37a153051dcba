"""The argument kinds of a launch plan, read from the C launcher's
``_launcher_c/arg_kinds.h`` (twin of that header).

The header is the one place the numbers are written: the C extension
compiles it in and exports each kind as a module attribute; this module
parses it at import from the package data (the wheel ships the header), so
the numbers are the same whether or not the extension was built.
``tests/launch_path/test_launcher_marshal.py`` checks the C module's
attributes against these.  The plan builders (``backends/numba_cuda/
argplan.py``) and the tests import the kinds from here.
"""

import re
from importlib import resources

#: Where the kinds are defined, relative to the package.
HEADER = ("_launcher_c", "arg_kinds.h")

_ENTRY = re.compile(r"^\s*X\((K_[A-Z0-9_]+),\s*(\d+)\)")


def read_kinds(text):
    """``{name: number}`` of the ``X(name, number)`` lines of arg_kinds.h."""
    kinds = {}
    for line in text.splitlines():
        m = _ENTRY.match(line)
        if m:
            kinds[m.group(1)] = int(m.group(2))
    return kinds


def _header_text():
    path = resources.files("numba_cuda_lcs")
    for part in HEADER:
        path = path / part
    return path.read_text(encoding="utf-8")


#: Every kind, by name, as arg_kinds.h defines it.
KINDS = read_kinds(_header_text())

K_FALLBACK: int = KINDS["K_FALLBACK"]
K_ARRAY: int = KINDS["K_ARRAY"]
K_INT: int = KINDS["K_INT"]
K_F16: int = KINDS["K_F16"]
K_F32: int = KINDS["K_F32"]
K_F64: int = KINDS["K_F64"]
K_BOOL: int = KINDS["K_BOOL"]
K_C64: int = KINDS["K_C64"]
K_C128: int = KINDS["K_C128"]
K_PTR: int = KINDS["K_PTR"]
K_MEMREF: int = KINDS["K_MEMREF"]

if len(KINDS) != 11:  # a kind added to the header needs its rule here too
    raise ImportError(
        f"numba_cuda_lcs: arg_kinds.h defines kinds the pure-Python launcher "
        f"does not know: {sorted(KINDS)}"
    )

__all__ = [
    "KINDS",
    "K_FALLBACK",
    "K_ARRAY",
    "K_INT",
    "K_F16",
    "K_F32",
    "K_F64",
    "K_BOOL",
    "K_C64",
    "K_C128",
    "K_PTR",
    "K_MEMREF",
]
