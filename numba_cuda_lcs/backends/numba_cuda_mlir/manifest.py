"""Every numba-cuda-mlir name this backend uses, in one place.

Nothing else in the backend imports from ``numba_cuda_mlir``: the other
modules take what they need from :data:`NAMES` (filled by :func:`load`).
:func:`load` checks the version first, then that every name exists, so a
numba-cuda-mlir whose layout changed is refused at activation with the
supported version named -- not halfway through a launch.

Supported: numba-cuda-mlir 0.6.x (:data:`SUPPORTED_SERIES`).
"""

import importlib
import types

from ..._version import __version__ as _lcs_version
from ...errors import UnsupportedCompilerError

SUPPORTED_SERIES = (0, 6)
SUPPORTED_SPEC = "numba-cuda-mlir[cu13]>=0.6,<0.7"
FIX = (
    f"Install '{SUPPORTED_SPEC}' (pip install 'numba-cuda-lcs[mlir]'), or set "
    "NUMBA_CUDA_LCS_DISABLE=1 to leave numba-cuda-mlir untouched."
)

#: (module, attribute, local name, public?, why we use it).  ``public`` is
#: False for private names (leading underscore, or internals of a public
#: class that numba-cuda-mlir does not document).
MANIFEST = (
    ("numba_cuda_mlir", "__version__", "version", True, "the version check"),
    (
        "numba_cuda_mlir.descriptor",
        "MLIRDispatcher",
        "MLIRDispatcher",
        False,
        "the kernel dispatcher: the methods of DISPATCHER_METHODS are wrapped "
        "(patches.py); specializations are instances of it",
    ),
    (
        "numba_cuda_mlir.caching",
        "MLIRCache",
        "MLIRCache",
        False,
        "subclassed: LC-S entries keyed per launch key, .lcs marker",
    ),
    (
        "numba_cuda_mlir.caching",
        "MLIRCacheImpl",
        "MLIRCacheImpl",
        False,
        "subclassed: the launch key stored inside each LC-S entry",
    ),
    (
        "numba_cuda_mlir.numba_cuda.core.compiler_lock",
        "global_compiler_lock",
        "compiler_lock",
        False,
        "the lock numba-cuda-mlir compiles under; routes change under it too",
    ),
    (
        "numba_cuda_mlir.numba_cuda.core.sigutils",
        "normalize_signature",
        "normalize_signature",
        False,
        "argument types of a device-callee signature",
    ),
    (
        "numba_cuda_mlir.numba_cuda.core.ir",
        "Const",
        "ir_Const",
        False,
        "the vendored IR module (its module is handed to the constant rewrite)",
    ),
    (
        "numba_cuda_mlir.numba_cuda.core.rewrites",
        "Rewrite",
        "Rewrite",
        False,
        "base class of the launch-constant rewrite",
    ),
    (
        "numba_cuda_mlir.numba_cuda.core.rewrites",
        "rewrite_registry",
        "rewrite_registry",
        False,
        "launch-constant rewrite added first to its before-inference list",
    ),
    (
        "numba_cuda_mlir.numba_cuda.core.errors",
        "NumbaPerformanceWarning",
        "NumbaPerformanceWarning",
        True,
        "the eviction warning's category",
    ),
    (
        "numba_cuda_mlir.numba_cuda.errors",
        "normalize_kernel_dimensions",
        "normalize_kernel_dimensions",
        False,
        "grid/block as 3-tuples, validated exactly as numba-cuda-mlir does",
    ),
)

#: Attributes of MLIRDispatcher instances this backend reads or updates
#: (not patched): documented here so a layout change is caught by the check.
DISPATCHER_ATTRIBUTES = (
    (
        "overloads",
        "compiled kernels by argument types: a result compiled for "
        "one launch key is moved from the kernel to the specialization of its key",
    ),
    ("_cache", "the disk cache object enable_caching() set"),
    ("_cache_hits", "counter read to tell a disk-cache load from a compile"),
    ("_device_dispatcher", "read: the device-function twin of a dispatcher"),
    ("targetoptions", "copied into each specialization (launch_bounds added)"),
    ("py_func", "the kernel's Python function, for specializations"),
)

#: Methods of MLIRDispatcher this backend wraps (patches.py), or calls.
DISPATCHER_METHODS = (
    "configure",
    "_compile_impl",
    "_compile_public",
    "_compile_device_callee",
    "_compile_as_device_callee",
    "enable_caching",
    "_recompile_impl",
    "_compile",  # called: the native launcher's compile callback (tests)
)

NAMES = types.SimpleNamespace()
_loaded = False


def parse_version(text):
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def installed_version():
    return importlib.import_module("numba_cuda_mlir").__version__


def check_version(version=None):
    """Raise :class:`UnsupportedCompilerError` unless *version* (default: the
    installed numba-cuda-mlir) is a 0.6.x release."""
    version = installed_version() if version is None else version
    if parse_version(version)[:2] != SUPPORTED_SERIES:
        raise UnsupportedCompilerError(
            f"numba-cuda-lcs {_lcs_version} supports numba-cuda-mlir 0.6.x, but "
            f"numba-cuda-mlir {version} is installed. {FIX}"
        )


def load():
    """Check the version, import every name of :data:`MANIFEST` into
    :data:`NAMES` and check the dispatcher's layout; idempotent."""
    global _loaded
    if _loaded:
        return NAMES
    check_version()
    missing = []
    found = {}
    for module_name, attribute, local, _public, _why in MANIFEST:
        try:
            found[local] = getattr(importlib.import_module(module_name), attribute)
        except (ImportError, AttributeError):
            missing.append(f"{module_name}.{attribute}")
    dispatcher = found.get("MLIRDispatcher")
    if dispatcher is not None:
        for name in DISPATCHER_METHODS:
            if not callable(getattr(dispatcher, name, None)):
                missing.append(f"MLIRDispatcher.{name}")
    if missing:
        raise UnsupportedCompilerError(
            f"numba-cuda-lcs {_lcs_version} cannot use this numba-cuda-mlir "
            f"{installed_version()}: missing {', '.join(missing)}. {FIX}"
        )
    found["ir"] = importlib.import_module("numba_cuda_mlir.numba_cuda.core.ir")
    NAMES.__dict__.update(found)
    _loaded = True
    return NAMES


def describe():
    """One line per name used: ``module.attribute (private): why``."""
    lines = []
    for module_name, attribute, _local, public, why in MANIFEST:
        tag = "" if public else " (private)"
        lines.append(f"{module_name}.{attribute}{tag}: {why}")
    for name, why in DISPATCHER_ATTRIBUTES:
        lines.append(f"MLIRDispatcher.{name} (instance attribute, private): {why}")
    return lines
