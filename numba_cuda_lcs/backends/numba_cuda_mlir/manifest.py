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
        _DESCRIPTOR,
        None,
        "descriptor",
        "the module whose _ArgMarshaller is replaced by our subclass (patches.py)",
    ),
    Internal(
        _DESCRIPTOR,
        "_ArgMarshaller",
        "ArgMarshaller",
        "subclassed and put in its place: what numba-cuda-mlir's own configure() "
        "builds (and caches) becomes our ConfiguredLaunch (marking API, routing)",
    ),
    Internal(
        _DESCRIPTOR,
        "_ArgMarshaller._launch",
        None,
        "overridden (calls the original): launches prepared arguments; ours "
        "publishes the launch and routes to the specialization of its key",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher.configure",
        None,
        "called (unchanged): a specialization's configured launcher for a routed launch",
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
        "MLIRDispatcher.__getitem__",
        None,
        "wrapped: kernel[...] finds configure()'s cached launcher from the raw arguments",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_configure_cache",
        "read (under _launch_config_lock): a front-cache hit is returned only "
        "while configure()'s own cache holds that launcher under its key",
    ),
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
        "the native launcher's compile callback: wrapped (launch_plans.make_compile "
        "records what each native dispatcher compiled for which argument types); "
        "called by warm, which compiles without launching, and by the tests' fake launches",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher.configure",
        None,
        "wrapped: a cuda.core GraphBuilder stream becomes the stream it captures "
        "on (numba-cuda-mlir refuses GraphBuilder; numba-cuda accepts it)",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._record_literal_arg_positions",
        None,
        "wrapped: when it takes new literal positions (returns True: a new "
        "native dispatcher, overloads dropped), launch sites forget their launches",
    ),
    # -- the C launch path (launch_plans.py) ------------------------------------
    Internal(
        "numba_cuda_mlir.numba_cuda.cudadrv.devicearray",
        "DeviceNDArray",
        "DeviceNDArray",
        "launch sites type its instances by their cached _numba_type_",
        public=True,
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.cudadrv.devicearray",
        "DeviceNDArrayBase",
        "DeviceNDArrayBase",
        "read: numba-cuda-mlir synchronises the stream an array interface "
        "names for arguments that are not instances of it "
        "(descriptor._sync_cuda_array_interface_stream); so do plans "
        "(launcher.configure_interface_sync)",
    ),
    Internal(
        "cuda.core._utils.cuda_utils",
        "CUDAError",
        "CUDAError",
        "what a refused launch raises, as numba-cuda-mlir reports it",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.core.config",
        None,
        "cuda_config",
        "read: CUDA_ARRAY_INTERFACE_SYNC (numba-cuda-mlir synchronises the "
        "stream an array interface names first: so does a plan, per this "
        "setting, which the launcher reads at each launch of arrays other "
        "than numba-cuda-mlir's own: launcher.configure_interface_sync)",
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda.cudadrv.driver",
        "Context",
        "DriverContext",
        "reset() / unload_module() wrapped: launch sites forget what they remembered",
    ),
    InstanceAttribute(
        "_ArgMarshaller",
        "_kernel_dispatcher",
        "read: the native dispatcher a plain configured launcher launches through "
        "(what it compiled is recorded per native dispatcher)",
    ),
    InstanceAttribute(
        "_ArgMarshaller",
        "_launch_config_generation",
        "read: the recompile() generation a launch-dependent kernel's configured "
        "launcher launched under (a plan of it is remembered only for the current one)",
    ),
    InstanceAttribute(
        "_ArgMarshaller",
        "_extensions",
        "read: launches with extensions are not planned",
    ),
    InstanceAttribute(
        "_ArgMarshaller",
        "_launch_config",
        "read: launches numba-cuda-mlir specializes per configuration are not planned",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_module_setup_callbacks",
        "read (and _module_teardown_callbacks): kernels with module callbacks "
        "(NRT) are not planned",
    ),
    InstanceAttribute(
        "CompileResult",
        "_codelibrary",
        "get_cufunc(): numba-cuda-mlir's own module of the compiled kernel in "
        "the current context, whose function a plan launches; metadata: cubin, "
        "use_cooperative, setup_callbacks",
    ),
    Internal(
        "numba_cuda_mlir._whole_function_planners",
        "_planner_registry",
        "planner_registry",
        "read (under its _lock): the registered planners (_planners), whose "
        "identity keys the planned disk cache",
    ),
    Internal(
        "numba_cuda_mlir._whole_function_planners",
        "_REQUIRED_DYNAMIC_SHARED_MEMORY_KEY",
        "required_dynamic_shared_memory_key",
        "the compile metadata key of the dynamic shared memory a planner "
        "requires (set_required_dynamic_shared_memory): a plan launches with "
        "at least that much, as numba-cuda-mlir does",
    ),
    Internal(
        "numba_cuda_mlir._whole_function_planners",
        "WholeFunctionPlanner",
        "WholeFunctionPlanner",
        "where a planner's fingerprint stops walking its bases",
        public=True,
    ),
    Internal(
        "numba_cuda_mlir._whole_function_planners",
        "_REQUIRED_DYNAMIC_SHARED_MEMORY_KEY",
        "REQUIRED_DYNAMIC_SHARED_MEMORY_KEY",
        "compile-result metadata a planned entry keeps (numba-cuda-mlir's payload leaves it out)",
    ),
    Internal(
        _DESCRIPTOR,
        "_compile_arg_types",
        "compile_arg_types",
        "read: the argument types and launch configuration of the compile in "
        "progress (types, launch_config, available_launch_config)",
    ),
    Internal(
        _DESCRIPTOR,
        "_extensions_use_launch_config",
        "extensions_use_launch_config",
        "whether a compile is keyed by the launch configuration, as "
        "numba-cuda-mlir's _compile_impl decides it (planned entries follow)",
    ),
    Internal(
        "numba_cuda_mlir._launch_config",
        "_launch_config_key",
        "launch_config_key",
        "numba-cuda-mlir's key of a launch configuration (part of a planned entry's key)",
    ),
    Internal(
        "numba_cuda_mlir._launch_config",
        "_normalize_available_launch_config",
        "normalize_available_launch_config",
        "the configuration as numba-cuda-mlir keys its launch-config specializations",
    ),
    Internal(
        _DESCRIPTOR,
        "mlir_target",
        "mlir_target",
        "its target_context, to load a planned entry",
    ),
    Internal(
        "numba_cuda_mlir.compiler",
        "CompileResult",
        "CompileResult",
        "wraps a loaded planned entry as numba-cuda-mlir wraps its cache hits "
        "(deferred: the module imports the descriptor being activated)",
        deferred=True,
    ),
    Internal(
        "numba_cuda_mlir.numba_cuda",
        "typing",
        "typing",
        "typing.signature: the signature a planned entry is indexed under",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._mark_requires_launch_config",
        None,
        "called: a kernel whose planned marker says a planner made it "
        "launch-dependent switches to per-configuration specializations",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._clear_configure_cache",
        None,
        "called on a reinstall: launchers configure() built while we were not "
        "installed are dropped from its cache",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._find_launch_config_overload_locked",
        None,
        "called: whether a configuration's specialization is already in memory",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._propagate_compile_callbacks",
        None,
        "called: publishing a loaded planned entry as a compile would",
    ),
    Internal(
        _DESCRIPTOR,
        "MLIRDispatcher._apply_shared_memory_carveout",
        None,
        "called: publishing a loaded planned entry as a compile would",
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
        "_ArgMarshaller",
        "_dispatcher",
        "read: the kernel a configured launcher launches (which record routes it)",
    ),
    InstanceAttribute(
        "_ArgMarshaller",
        "_available_launch_config",
        "read: grid, block, sharedmem and cluster as configure() normalized them",
    ),
    InstanceAttribute(
        "_ArgMarshaller",
        "_stream_ref",
        "read: the Stream object given to kernel[...] (None for a raw handle)",
    ),
    InstanceAttribute(
        "_ArgMarshaller",
        "_launch_stream",
        "read: the stream handle given to kernel[...] (None when none was)",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "overloads",
        "compiled kernels by argument types: a result compiled for one launch "
        "key is moved from the kernel to the specialization of its key",
    ),
    InstanceAttribute("MLIRDispatcher", "_cache", "the disk cache object enable_caching() set"),
    InstanceAttribute(
        "MLIRDispatcher",
        "extensions",
        "read: its extensions decide whether a compile is per configuration",
    ),
    InstanceAttribute(
        "MLIRCache",
        "_cache_file",
        "its index (read when unreadable: started afresh) and _source_stamp (a "
        "planned marker holds it: one written for another source is ignored)",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_launch_config_overloads",
        "launch-config specializations by (argument types, launch-config key): a "
        "loaded planned entry is put there, new ones are saved (under _launch_config_lock)",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_launch_config_dispatchers",
        "read: the native dispatcher of each launch configuration of a "
        "launch-dependent kernel (a plan of such a launch is recorded under it)",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_launch_config_lock",
        "held while reading or filling the launch-config tables",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_launch_config_generation",
        "a loaded planned entry is dropped when recompile() advanced it meanwhile",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_requires_launch_config",
        "read: whether a planner made the kernel launch-dependent (its "
        "configured launchers then launch one at a time: configured_launch.py)",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_literal_arg_positions",
        "read: kernels with literal-argument retries are not planned-cached",
    ),
    InstanceAttribute(
        "MLIRDispatcher",
        "_launch_config_cache_notice_emitted",
        "set for kernels the planned cache saves: numba-cuda-mlir's notice that "
        "launch-config specializations are not disk-cached would be wrong",
    ),
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
