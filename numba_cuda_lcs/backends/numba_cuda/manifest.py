"""Every numba-cuda name the numba-cuda backend uses, in one place.

The rest of the backend reads numba-cuda only through :data:`NAMES`
(``from .manifest import NAMES as nb``), so a newcomer (or a numba-cuda
upgrade) finds every internal we depend on in :data:`TABLE`.  The table is
loaded when the backend is imported -- at activation -- by the shared
:func:`numba_cuda_lcs.manifests.load`: the version first, then every name,
so another series, or a 0.30 whose layout changed, is refused with
:class:`~numba_cuda_lcs.errors.UnsupportedCompilerError` naming the fix,
not with an ``AttributeError`` deep in a launch.

Supported: numba-cuda 0.30.x (written against 0.30.4).
"""

from ... import manifests
from ...manifests import CompilerRelease, InstanceAttribute, Internal

RELEASE = CompilerRelease(
    compiler="numba-cuda",
    distribution="numba-cuda",
    version_module="numba_cuda",
    series=(0, 30),
    requirement="numba-cuda>=0.30.4,<0.31",
)
COMPILER = RELEASE.compiler

_D = "numba.cuda.dispatcher"
TABLE = (
    # -- dispatcher.py ------------------------------------------------------
    Internal(
        _D, None, "nb_dispatcher", "its _LaunchConfiguration (what configure() builds) is replaced"
    ),
    Internal(
        _D,
        "CUDADispatcher",
        "CUDADispatcher",
        "call/compile/specialize/mark_launch_config_sensitive/enable_caching/"
        "compile_device/typeof_pyval replaced; child dispatchers are instances",
    ),
    Internal(
        _D,
        "_Kernel",
        "Kernel",
        "built per argument types and configuration; bind(), _prepare_args() (the "
        "per-argument fallback of the C launcher), _codelibrary.get_cufunc().handle "
        "(the CUfunction launched)",
    ),
    Internal(
        _D,
        "_LaunchConfiguration",
        "StockLaunchConfiguration",
        "subclassed by our configured launch",
    ),
    Internal(
        _D,
        "ForAll",
        "ForAll",
        "__call__ replaced; ntasks, thread_per_block, stream, sharedmem, "
        "_compute_thread_per_block() read",
    ),
    Internal(_D, "CUDACache", "CUDACache", "subclassed: per-key index entries, .lcs marker"),
    Internal(
        _D, "CUDACacheImpl", "CUDACacheImpl", "subclassed: the launch key stored in each LC-S entry"
    ),
    Internal(
        _D,
        "_LAUNCH_CONFIG_KW",
        "LAUNCH_CONFIG_KW",
        "keyword _cuda_call takes the configured launch by",
    ),
    Internal(_D, "get_current_device", "get_current_device", "the device a launch prepares for"),
    Internal(_D, "get_context", "get_context", "the context a launch prepares in"),
    Internal(
        _D,
        "LaunchConfig",
        "CoreLaunchConfig",
        "a launch's dimensions are checked as numba-cuda checks them",
    ),
    # -- launchconfig.py (the built-in LC-S API) ----------------------------
    Internal(
        "numba.cuda.launchconfig",
        None,
        "nb_launchconfig",
        "current/ensure/capture functions replaced to read our TLS",
        public=True,
    ),
    # -- cext/_dispatcher (C) -----------------------------------------------
    Internal(
        "numba.cuda.cext._dispatcher",
        "Dispatcher._cuda_call",
        "cuda_call",
        "overload resolution (and compile on a miss) in C",
    ),
    Internal(
        "numba.cuda.cext._dispatcher",
        "get_current_launch_config",
        "builtin_current_config",
        "the built-in TLS, read before our compile frame",
    ),
    # -- core ---------------------------------------------------------------
    Internal("numba.cuda.core.ir", None, "ir", "launch constants become ir.Const", public=True),
    Internal(
        "numba.cuda.core.rewrites",
        "Rewrite",
        "Rewrite",
        "base class of the launch-constant rewrite",
        public=True,
    ),
    Internal(
        "numba.cuda.core.rewrites",
        "rewrite_registry",
        "rewrite_registry",
        "LaunchConstantRewrite added first to before-inference",
    ),
    Internal(
        "numba.cuda.core.sigutils",
        "normalize_signature",
        "normalize_signature",
        "compile(sig) normalises as numba-cuda does",
    ),
    Internal("numba.cuda", "types", "types", "argument plans read argument types", public=True),
    Internal("numba.cuda.types", "none", "none_type", "kernels return None", public=True),
    Internal(
        "numba.cuda.core.caching",
        "NullCache",
        "NullCache",
        "caching off for a kernel whose marker cannot be written",
    ),
    Internal(
        "numba.cuda.core.compiler_lock",
        "global_compiler_lock",
        "compiler_lock",
        "routing state changes under it",
    ),
    Internal(
        "numba.cuda.core.errors",
        "NumbaPerformanceWarning",
        "NumbaPerformanceWarning",
        "the eviction warning's category",
        public=True,
    ),
    Internal(
        "numba.cuda.core.config",
        None,
        "nb_config",
        "argument plans: CUDA_WARN_ON_IMPLICIT_COPY and friends",
    ),
    # -- the C launch path (argplan) ----------------------------------------
    Internal(
        "numba.cuda.args", "ArgHint", "ArgHint", "In/Out/InOut wrappers of host arrays", public=True
    ),
    Internal(
        "numba.cuda.args", "Out", "Out", "host arrays copied back after a launch", public=True
    ),
    Internal(
        "numba.cuda.np.numpy_support", None, "numpy_support", "numpy dtypes of array arguments"
    ),
    Internal(
        "numba.cuda.cudadrv.driver", "driver", "nb_driver", "host arrays copied on a user stream"
    ),
    Internal(
        "numba.cuda.cudadrv.devices",
        "get_context",
        "get_device_context",
        "makes a context current on a thread's first launch",
    ),
    Internal(
        "cuda.core._utils.cuda_utils",
        "CUDAError",
        "CUDAError",
        "what a refused launch raises, as numba-cuda reports it",
    ),
    # -- contexts whose modules go away ---------------------------------------
    Internal(
        "numba.cuda.cudadrv.driver", "Context", "DriverContext", "reset() / unload_module() wrapped"
    ),
    Internal(
        "numba.cuda.cudadrv.driver",
        "Context.reset",
        None,
        "launch state prepared in a context is dropped when numba-cuda unloads its modules",
    ),
    Internal("numba.cuda.cudadrv.driver", "Context.unload_module", None, "likewise"),
    # -- argument typing (typeof) ---------------------------------------------
    Internal(
        "numba.cuda.cudadrv.devicearray",
        "DeviceNDArray",
        "DeviceNDArray",
        "the numba type of a device array is remembered per array",
    ),
    # -- read on instances ------------------------------------------------------
    InstanceAttribute(
        "CUDADispatcher",
        "overloads, _specialized, _can_compile, _cache, _cache_hits, _cache_misses",
        "compile() follows numba-cuda's (overload reuse, caching counters)",
    ),
    InstanceAttribute(
        "CUDADispatcher",
        "_launch_config_specializations, targetoptions, _compiler.pipeline_class, py_func",
        "child dispatchers per launch key (numba-cuda's own table of specializations)",
    ),
    InstanceAttribute(
        "_Kernel",
        "launch_config_sensitive, argument_types, debug, extensions, cooperative",
        "routing and argument plans",
    ),
)

#: How numba-cuda's built-in ``ensure_current_launch_config`` says there is no
#: configuration (a plain RuntimeError).  Hooks that bound that function
#: before install still call it; compile() recognises its error by this text.
BUILTIN_MISSING_CONFIG_TEXT = "No launch config set"

NAMES = manifests.load(RELEASE, TABLE)


def check_version(version=None):
    """Raise :class:`UnsupportedCompilerError` unless *version* (default: the
    installed numba-cuda) is a supported release."""
    RELEASE.check(version)


def describe():
    """One line per numba-cuda internal used: ``name (private): why``."""
    return manifests.describe(TABLE)
