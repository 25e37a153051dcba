"""Pure-Python twin of the C extension ``numba_cuda_lcs._launcher``.

Same API and the same rules, in the same parts as the C sources
(``numba_cuda_lcs/_launcher_c/``):

=================  ==========================================================
``arg_kinds``      the argument kinds, read from ``_launcher_c/arg_kinds.h``
``cuda_driver``    the driver calls (through ``cuda.bindings.driver``)
``dlpack_abi``     the minimal DLPack ABI, as ctypes structures
``array_values``   small readers of array values the parts share
``state``          the module state: one object, ``STATE``
``launcher``       the parameter buffer, plans and ``Launcher``
``sites``          tokens, array readers, ``LaunchSite``, ``HitCounter``
this module        the module: the names ``numba_cuda_lcs.launcher`` binds
=================  ==========================================================

Slower than the C module; used where that did not build, under
``NUMBA_CUDA_LCS_PURE_PYTHON=1``, and by the tests as a second
implementation.
"""

from .arg_kinds import (
    K_ARRAY,
    K_BOOL,
    K_C64,
    K_C128,
    K_F16,
    K_F32,
    K_F64,
    K_FALLBACK,
    K_INT,
    K_MEMREF,
    K_PTR,
)
from .cuda_driver import LaunchError, current_context
from .launcher import Launcher, double_to_half
from .sites import (
    SITE_ENTRIES,
    SITE_MAX_ARGS,
    SITE_STREAM_CUPY_CURRENT,
    HitCounter,
    LaunchSite,
    configure_cupy,
    configure_interface_sync,
    configure_sites,
    forget,
    invalidate,
    match,
    remember,
    remembered,
    site_call,
)

__all__ = [
    "K_ARRAY",
    "K_BOOL",
    "K_C64",
    "K_C128",
    "K_F16",
    "K_F32",
    "K_F64",
    "K_FALLBACK",
    "K_INT",
    "K_MEMREF",
    "K_PTR",
    "SITE_ENTRIES",
    "SITE_MAX_ARGS",
    "SITE_STREAM_CUPY_CURRENT",
    "HitCounter",
    "LaunchError",
    "LaunchSite",
    "Launcher",
    "configure_cupy",
    "configure_interface_sync",
    "configure_sites",
    "current_context",
    "double_to_half",
    "forget",
    "invalidate",
    "match",
    "remember",
    "remembered",
    "site_call",
]
