"""Every numba-cuda name the numba-cuda backend reads, in one place.

The rest of the backend imports numba-cuda only through this module, so a
newcomer (or a numba-cuda upgrade) finds every internal we depend on here.
The version is checked before any private module is imported: another
series fails with :class:`~numba_cuda_lcs.errors.UnsupportedCompilerError`
naming the fix, not with an ``AttributeError`` deep in an import.

Supported: numba-cuda 0.30.x (written against 0.30.4).
"""

import numba_cuda

from ..._version import __version__ as LCS_VERSION
from ...errors import UnsupportedCompilerError

COMPILER = "numba-cuda"
SUPPORTED_SERIES = (0, 30)
REQUIREMENT = "numba-cuda>=0.30.4,<0.31"


def parse_version(text):
    """``"0.30.4rc1"`` -> ``(0, 30, 4)``."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def check_version(version=None):
    """Raise :class:`UnsupportedCompilerError` unless *version* (default: the
    installed numba-cuda) is a supported release."""
    version = numba_cuda.__version__ if version is None else version
    if parse_version(version)[:2] != SUPPORTED_SERIES:
        raise UnsupportedCompilerError(
            f"numba-cuda-lcs {LCS_VERSION} supports numba-cuda 0.30.x, but "
            f"numba-cuda {version} is installed. Install '{REQUIREMENT}', or "
            "set NUMBA_CUDA_LCS_DISABLE=1 to leave numba-cuda untouched."
        )


check_version()

# Imported only after the version check: these are private modules.
from numba.cuda import dispatcher as nb_dispatcher  # noqa: E402
from numba.cuda import launchconfig as nb_launchconfig  # noqa: E402
from numba.cuda import types as nb_types  # noqa: E402
from numba.cuda.cext import _dispatcher as nb_cext  # noqa: E402
from numba.cuda.core import ir as nb_ir  # noqa: E402
from numba.cuda.core import sigutils as nb_sigutils  # noqa: E402
from numba.cuda.core.caching import NullCache  # noqa: E402
from numba.cuda.core.compiler_lock import global_compiler_lock  # noqa: E402
from numba.cuda.core.errors import NumbaPerformanceWarning  # noqa: E402
from numba.cuda.core.rewrites import Rewrite, rewrite_registry  # noqa: E402
from numba.cuda.cudadrv import devices as nb_devices  # noqa: E402

# -- dispatcher.py ----------------------------------------------------------
CUDADispatcher = nb_dispatcher.CUDADispatcher
Kernel = nb_dispatcher._Kernel
ForAll = nb_dispatcher.ForAll
StockLaunchConfiguration = nb_dispatcher._LaunchConfiguration
CUDACache = nb_dispatcher.CUDACache
CUDACacheImpl = nb_dispatcher.CUDACacheImpl
LAUNCH_CONFIG_KW = nb_dispatcher._LAUNCH_CONFIG_KW
get_current_device = nb_dispatcher.get_current_device
get_context = nb_dispatcher.get_context
CoreLaunchConfig = nb_dispatcher.LaunchConfig  # validates dimensions as numba-cuda's launch does

# -- cext/_dispatcher (C) ---------------------------------------------------
cuda_call = nb_cext.Dispatcher._cuda_call  # resolve/compile the overload
builtin_current_config = nb_cext.get_current_launch_config  # built-in TLS

# -- core -------------------------------------------------------------------
ir = nb_ir
normalize_signature = nb_sigutils.normalize_signature
none_type = nb_types.none
compiler_lock = global_compiler_lock

#: What each private name is read for (``describe()``, printed by
#: ``python -m numba_cuda_lcs info``).
READS = (
    (
        "dispatcher.CUDADispatcher",
        "call/compile/specialize/... replaced; overloads, "
        "_specialized, _can_compile, _cache, _cache_hits/_misses, "
        "_launch_config_specializations, targetoptions, _compiler.pipeline_class read",
    ),
    (
        "dispatcher._Kernel",
        "launch_config_sensitive, argument_types, debug, extensions, "
        "cooperative, _codelibrary.get_cufunc().handle (the CUfunction launched), "
        "_prepare_args() (the per-argument fallback of the C launcher), bind()",
    ),
    ("dispatcher._LaunchConfiguration", "subclassed: configure() builds what this name holds"),
    (
        "dispatcher.ForAll",
        "__call__ replaced; ntasks, thread_per_block, stream, "
        "sharedmem, _compute_thread_per_block() read",
    ),
    ("dispatcher.CUDACache / CUDACacheImpl", "subclassed: per-key index entries"),
    ("dispatcher._LAUNCH_CONFIG_KW", "keyword _cuda_call takes the configured launch by"),
    (
        "dispatcher.LaunchConfig, cuda.core CUDAError",
        "a launch's dimensions are checked, and a refused launch is reported, as numba-cuda does",
    ),
    (
        "cudadrv.driver.Context.reset / unload_module",
        "launch state prepared in a context is dropped when numba-cuda unloads its modules",
    ),
    (
        "CUDADispatcher.typeof_pyval, cudadrv.devicearray.DeviceNDArray",
        "the numba type of a device array is remembered per array (typeof)",
    ),
    (
        "args.ArgHint / Out, cudadrv.driver.driver, core.config, np.numpy_support",
        "argument plans; host arrays copied on a user stream",
    ),
    ("cext._dispatcher.Dispatcher._cuda_call", "overload resolution in C"),
    ("cext._dispatcher.get_current_launch_config", "the built-in TLS, read before our frame"),
    ("cudadrv.devices.get_context", "makes a context current on a thread's first launch"),
    ("core.rewrites.rewrite_registry", "LaunchConstantRewrite added to before-inference"),
    ("core.compiler_lock.global_compiler_lock", "routing state changes under it"),
    ("core.ir", "launch constants become ir.Const"),
    ("launchconfig", "current/ensure/capture functions replaced to read our TLS"),
)

#: How numba-cuda's built-in ``ensure_current_launch_config`` says there is no
#: configuration (a plain RuntimeError).  Hooks that bound that function
#: before install still call it; compile() recognises its error by this text.
BUILTIN_MISSING_CONFIG_TEXT = "No launch config set"

# -- the C launch path (argplan) ----------------------------------------------
from cuda.core._utils.cuda_utils import CUDAError  # noqa: E402  (what a refused launch raises)
from numba.cuda import args as nb_args  # noqa: E402
from numba.cuda.core import config as nb_config  # noqa: E402
from numba.cuda.cudadrv.driver import driver as nb_driver  # noqa: E402
from numba.cuda.np import numpy_support  # noqa: E402

types = nb_types
ArgHint = nb_args.ArgHint  # In/Out/InOut wrappers of host arrays
Out = nb_args.Out
get_device_context = nb_devices.get_context

# -- contexts whose modules go away ---------------------------------------------
from numba.cuda.cudadrv import driver as nb_driver_module  # noqa: E402

DriverContext = nb_driver_module.Context  # reset() / unload_module() unload modules

# -- argument typing (typeof) ---------------------------------------------------
from numba.cuda.cudadrv.devicearray import DeviceNDArray  # noqa: E402


def describe():
    """One line per numba-cuda internal read: ``name: why``."""
    return [f"{name}: {why}" for name, why in READS]
