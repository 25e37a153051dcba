"""Selects the thread-local state implementation: the C extension ``_tls``, or
its pure-Python twin ``_tls_py`` when the extension is not built or
``NUMBA_CUDA_LCS_PURE_PYTHON=1`` is set."""

import os

if os.environ.get("NUMBA_CUDA_LCS_PURE_PYTHON", "") == "1":
    from . import _tls_py as impl

    IMPLEMENTATION = "python"
else:
    try:
        from . import _tls as impl  # type: ignore[no-redef]

        IMPLEMENTATION = "c"
    except ImportError:  # extension not built (e.g. a source checkout)
        from . import _tls_py as impl  # type: ignore[no-redef]

        IMPLEMENTATION = "python"

__all__ = ["impl", "IMPLEMENTATION"]
