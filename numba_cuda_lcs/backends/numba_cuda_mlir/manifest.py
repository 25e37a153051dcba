"""Every numba-cuda-mlir name this backend uses, in one place.

Nothing else in the backend imports from ``numba_cuda_mlir``: the other
modules read what they need from :data:`NAMES`.  The table is loaded when
the backend is imported -- at activation, after numba-cuda-mlir's
``descriptor`` module -- by the shared :func:`numba_cuda_lcs.manifests.load`:
the version first, then every name, so a numba-cuda-mlir whose layout
changed is refused with the supported version named, not halfway through a
launch.

Supported: numba-cuda-mlir 0.6.x.
"""

from ... import manifests
from ...manifests import CompilerRelease, InstanceAttribute, Internal

RELEASE = CompilerRelease(
    compiler="numba-cuda-mlir",
    distribution="numba-cuda-mlir",
    version_module="numba_cuda_mlir",
    series=(0, 6),
    requirement="numba-cuda-mlir[cu13]>=0.6,<0.7",
)
COMPILER = RELEASE.compiler

_DESCRIPTOR = "numba_cuda_mlir.descriptor"
TABLE = (
    Internal(
        "numba_cuda_mlir.descriptor",
        "MLIRDispatcher",
        "MLIRDispatcher",
        "the kernel dispatcher: the methods below are wrapped (patches.py); "
        "specializations are instances of it",
    ),
    Internal(
        "numba_cuda_mlir.caching",
        "MLIRCache",
        "MLIRCache",
        "subclassed: LC-S entries keyed per launch key, .lcs marker",
    ),
    Internal(
        "numba_cuda_mlir.caching",
        "MLIRCacheImpl",
        "MLIRCacheImpl",
        "subclassed: the launch key stored inside each LC-S entry",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.core.compiler_lock",
        "global_compiler_lock",
        "compiler_lock",
        "the lock numba-cuda-mlir compiles under; routes change under it too",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.core.sigutils",
        "normalize_signature",
        "normalize_signature",
        "argument types of a device-callee signature",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.core.ir",
        None,
        "ir",
        "the vendored IR module (launch constants become ir.Const)",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.core.rewrites",
        "Rewrite",
        "Rewrite",
        "base class of the launch-constant rewrite",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.core.rewrites",
        "rewrite_registry",
        "rewrite_registry",
        "launch-constant rewrite added first to its before-inference list",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.core.errors",
        "NumbaPerformanceWarning",
        "NumbaPerformanceWarning",
        "the eviction warning's category",
        public=True,
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.errors",
        "normalize_kernel_dimensions",
        "normalize_kernel_dimensions",
        "grid/block as 3-tuples, validated exactly as numba-cuda-mlir does",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher.configure",
        None,
        "wrapped: kernel[...] returns our configured launch",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._compile_impl",
        None,
        "wrapped: the compile frame of launch-triggered compiles",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._compile_public",
        None,
        "wrapped: eager compiles have no launch configuration",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._compile_device_callee",
        None,
        "wrapped: device functions that read the launch get one variant per key",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._compile_as_device_callee",
        None,
        "wrapped: the kernel-side entry follows that variant",
    ),
    Internal(_DESCRIPTOR, "MLIRDispatcher.enable_caching", None, "wrapped: our disk cache"),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._recompile_impl",
        None,
        "wrapped: recompile() also drops specializations",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._compile",
        None,
        "called: the native launcher's compile callback (warm compiles through it "
        "without launching; so do the tests' fake launches)",
    ),
    Internal(
        "numba_cuda_mlir.tools",
        None,
        "tools",
        "warm --cc: the compute capability to compile for without a GPU",
    ),
    Internal(
        "numba_cuda_mlir.tools",
        "_cached_cc",
        None,
        "replaced for the duration of a warm with --cc (patches.compile_for_cc): "
        "get_gpu_compute_capability() returns it instead of asking the driver",
    ),
    Internal(
        "numba_cuda_mlir.tools",
        "get_gpu_compute_capability",
        None,
        "called: the current device's compute capability (warm without --cc)",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.typing.typeof",
        "typeof",
        "typeof",
        "warm: checks that a sample argument has the signature's type",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.np.numpy_support",
        None,
        "numpy_support",
        "warm: numpy dtypes of the signature's array and scalar types",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda",
        "types",
        "types",
        "warm: the kinds of argument types it can make samples of",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "overloads",
        "compiled kernels by argument types: a result compiled for one launch "
        "key is moved from the kernel to the specialization of its key",
    ),
    InstanceAttribute("MLIRDispatcher", "_cache", "the disk cache object enable_caching() set"),
    InstanceAttribute(
        "MLIRCache",
        "_enabled",
        "False once disable() ran (marker not writable): no entry locks are taken for it",
    ),
    InstanceAttribute(
        "MLIRDispatcher", "_cache_hits", "counter read to tell a disk-cache load from a compile"
    ),
    InstanceAttribute(
        "MLIRDispatcher", "_device_dispatcher", "read: the device-function twin of a dispatcher"
    ),
    InstanceAttribute(
        "MLIRDispatcher", "targetoptions", "copied into each specialization (launch_bounds added)"
    ),
    InstanceAttribute(
        "MLIRDispatcher", "py_func", "the kernel's Python function, for specializations"
    ),
)

NAMES = manifests.load(RELEASE, TABLE)


def check_version(version=None):
    """Raise :class:`UnsupportedCompilerError` unless *version* (default: the
    installed numba-cuda-mlir) is a 0.6.x release."""
    RELEASE.check(version)


def describe():
    """One line per numba-cuda-mlir internal used: ``name (private): why``."""
    return manifests.describe(TABLE)
