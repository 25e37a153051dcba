"""The C launch path for numba-cuda-mlir kernels: launch plans, and when a
launch may be remembered.

A configured launch (:class:`~.configured_launch.ConfiguredLaunch`) is a
launch site (``numba_cuda_lcs.launcher.LaunchSite``): calling it first
checks, in C, whether these arguments are a launch it has made before --
then it marshals them by a *plan* and calls the driver, skipping
numba-cuda-mlir's Python and native launch path.  Anything else takes that
path unchanged (``_lcs_slow_call``), and afterwards :func:`remember` decides
whether the launch it just made may be made again from C.

What numba-cuda-mlir 0.6.0 does, and what a plan must reproduce
(``_cext.LaunchConfiguration``, read from its source and checked against
the installed binary with a logging stand-in for the driver):

* its kernels take each array as an expanded memref descriptor -- data
  pointer twice, offset 0, shape, strides in elements -- and each scalar as
  one parameter of the compiled type's width (the driver copies the low
  bytes of the 8-byte slot the launcher writes); arrays: kind ``K_MEMREF``,
  scalars: the numba-cuda kinds whose bytes are the same;
* its native launcher picks a compiled kernel by argument *kinds* and array
  dtypes and ranks only, so it may run a kernel compiled for other types
  (a float64 kernel for a float32 value, a C-layout kernel for a strided
  array).  A plan therefore only ever stands for a launch whose argument
  types are exactly those the kernel was compiled for, by the very native
  dispatcher that launched it: the compile callback (``_compile``, wrapped:
  :func:`make_compile`) records what it compiled for which argument types,
  per native dispatcher, and :func:`remember` requires that record.
  Anything else stays numba-cuda-mlir's, every time;
* it launches in the context its first array argument was allocated in
  (the current one when the driver names none); a plan launches in the
  current context, where it was made (site entries are per context), and
  the launcher declines a launch whose first array lives in another one
  (``launcher.c``, ``in_first_array_context``).

Not planned (numba-cuda-mlir's path launches them every time): host arrays
and anything else numba-cuda-mlir converts first (tuples, records,
``cuda.In``/``Out``), extensions, kernels with literal arguments (their
native launcher is chosen per launch), ``debug=True``
kernels (the launch synchronises and reads an error flag), kernels with
module setup callbacks (NRT; the plan's module is numba-cuda-mlir's own
copy, ``CompileResult._codelibrary``, not the native launcher's), clusters,
dynamic shared memory the driver will not let the plan's function have
(past 48 KiB a plan opts its function in, as numba-cuda-mlir opts its own
one in: :func:`allow_dynamic_shared_memory`), streams other than a handle
or none, float16 and complex scalars, complex arrays (numba-cuda-mlir
passes strided ones' strides doubled), and -- with no stream configured,
where numba-cuda-mlir follows PyTorch's current stream -- PyTorch tensors.

Kernels a whole-function planner made launch-dependent
(``require_launch_config``; cuda.coop's) are planned per configuration:
numba-cuda-mlir keeps one native dispatcher per launch configuration, and
the compile callback, during such a launch, records the configuration's
compile (named by numba-cuda-mlir's compile-time state) under that
dispatcher; :func:`remember` requires the record of the launch's
configuration and of the dispatcher's current ``_launch_config_generation``.
A record holds its CompileResult (so its module stays loaded when
numba-cuda-mlir evicts the configuration from its cache; the plan is still
that configuration's).

With no stream configured and a CuPy array among the arguments,
numba-cuda-mlir launches on CuPy's current stream: so does the plan,
reading it at each launch (``launcher.SITE_STREAM_CUPY_CURRENT``).  An
array interface naming a stream has it synchronised before the launch
(with ``NUMBA_CUDA_ARRAY_INTERFACE_SYNC``, as numba-cuda-mlir does:
``launcher.c``, ``pack_memref``).
"""

import sys
import threading

from ... import launcher as _launcher
from ..._launcher_py.arg_kinds import K_BOOL, K_F32, K_F64, K_INT, K_MEMREF
from .manifest import NAMES


class NativeCompile:
    """What one native dispatcher compiled for one tuple of argument types,
    and what :func:`remember` derives from it once: a launch no plan can
    stand for then costs a look-up per launch, not a new attempt."""

    __slots__ = ("result", "context", "launch_config_key", "generation", "_derived")

    def __init__(self, result, context, launch_config_key=None, generation=None):
        self.result = result  # numba-cuda-mlir's CompileResult
        self.context = context  # the CUDA context current at its compile (and load)
        # A launch-dependent kernel's: the launch configuration it was
        # compiled for (numba-cuda-mlir's key) and the dispatcher's
        # _launch_config_generation then; None for a generic compile.
        self.launch_config_key = launch_config_key
        self.generation = generation
        # NUMBA_CUDA_ARRAY_INTERFACE_SYNC when derived -> (plan, CUfunction,
        # required dynamic shared memory), or () for no plan
        self._derived = {}

    def planned(self, key):
        """``(plan, CUfunction, dynamic shared memory the compile requires)``
        for launches with argument types *key* (those it was recorded under),
        or None when no plan can stand for them.  Derived once per value of
        ``NUMBA_CUDA_ARRAY_INTERFACE_SYNC`` (numba-cuda-mlir reads it on
        every launch; a plan holds it)."""
        cai_sync = bool(NAMES.cuda_config.CUDA_ARRAY_INTERFACE_SYNC)
        derived = self._derived.get(cai_sync)
        if derived is None:
            derived = self._derived[cai_sync] = self._derive(key, cai_sync) or ()
        return derived or None

    def _derive(self, key, cai_sync):
        result = self.result
        signature_args = tuple(result.signature.args)
        if not types_match(key, signature_args) or result.metadata.get("setup_callbacks"):
            return None
        plan = plan_for(signature_args, cai_sync)
        if plan is None:
            return None
        function = int(result._codelibrary.get_cufunc()._handle)
        # A planner may require dynamic shared memory: numba-cuda-mlir then
        # launches with at least that much, whatever was configured.
        required = result.metadata.get(NAMES.required_dynamic_shared_memory_key, 0)
        if type(required) is not int or required < 0:
            return None
        return plan, function, required


class _InFlight(threading.local):
    """This thread's launch through numba-cuda-mlir's path: the native
    dispatcher launching it (read by the compile callback), and, once it
    launched, ``(configured launcher that ran it, its launch arguments)``."""

    native = None
    ran = None


inflight = _InFlight()


# --------------------------------------------------------------------------
# Plans
# --------------------------------------------------------------------------


def plan_for(signature_args, cai_sync=None):
    """The plan launching a kernel compiled for *signature_args* (numba
    types), or None when one of them has no rule here."""
    types = NAMES.types
    if cai_sync is None:
        cai_sync = bool(NAMES.cuda_config.CUDA_ARRAY_INTERFACE_SYNC)
    plan = []
    for ty in signature_args:
        if isinstance(ty, types.Array):
            try:
                dtype = NAMES.numpy_support.as_dtype(ty.dtype)
            except Exception:
                return None
            # Not complex: numba-cuda-mlir 0.6.0 divides a complex array's
            # byte strides by half its item size (twice the element strides
            # its kernels index by), so its own launches of strided complex
            # arrays differ from a plan's; they stay its to launch.
            if dtype.kind not in "biuf":
                return None
            sizes = (8,) * (3 + 2 * ty.ndim)
            entry = _launcher.ParamPlan(
                K_MEMREF, None, sizes, ty.ndim, dtype.itemsize, dtype.str, cai_sync
            )
        elif ty == types.boolean:
            entry = _launcher.ParamPlan(K_BOOL, None, (1,))
        elif isinstance(ty, types.Integer):
            entry = _launcher.ParamPlan(K_INT, None, (ty.bitwidth // 8,))
        elif ty == types.float32:
            entry = _launcher.ParamPlan(K_F32, None, (4,))
        elif ty == types.float64:
            entry = _launcher.ParamPlan(K_F64, None, (8,))
        else:
            return None
        plan.append(entry)
    return tuple(plan)


def types_match(argument_types, signature_args):
    """Whether arguments of *argument_types* are exactly what a kernel
    compiled for *signature_args* expects (an array of any layout for an
    ``A`` one)."""
    if len(argument_types) != len(signature_args):
        return False
    types = NAMES.types
    for got, want in zip(argument_types, signature_args):
        if got == want:
            continue
        if not (
            isinstance(got, types.Array)
            and isinstance(want, types.Array)
            and want.layout == "A"
            and got.copy(layout="A") == want
        ):
            return False
    return True


# --------------------------------------------------------------------------
# What each native dispatcher compiled
# --------------------------------------------------------------------------


def make_compile(original):
    """Replacement for ``MLIRDispatcher._compile`` (the native launcher's
    compile callback): numba-cuda-mlir's own, then, during a launch through
    a configured launch of ours, a record of what was compiled for which
    argument types by which native dispatcher (:func:`remember` needs it)."""

    def _compile(self, args):
        required_before = getattr(self, "_requires_launch_config", False)
        result = original(self, args)
        if not required_before and getattr(self, "_requires_launch_config", False):
            # This compile made the kernel launch-dependent: numba-cuda-mlir
            # now launches it per configuration, so no plan of a launch
            # made before may serve it.
            forget_compiles(self)
        native = inflight.native
        if native is not None:
            _record(self, native, args, result[0])
        return result

    _compile.__name__ = _compile.__qualname__ = "_compile"
    return _compile


def _record(dispatcher, native, flat_args, cubin):
    config_key = generation = None
    config = getattr(NAMES.compile_arg_types, "launch_config", None)
    if config is not None:
        # A launch-dependent kernel (perhaps just become one, in this very
        # launch): the compile is one launch configuration's, whose
        # configuration numba-cuda-mlir's compile-time state names, for the
        # native dispatcher numba-cuda-mlir keeps for that configuration.
        try:
            config_key = NAMES.launch_config_key(config)
            with dispatcher._launch_config_lock:
                native = dispatcher._launch_config_dispatchers.get(config_key)
                generation = dispatcher._launch_config_generation
                candidates = [
                    result
                    for (_types, key), result in dispatcher._launch_config_overloads.items()
                    if key == config_key
                ]
        except Exception:
            return
        if native is None:
            return
    else:
        candidates = list(dispatcher.overloads.values())
    compiled = None
    for result in candidates:
        if result.metadata.get("cubin") is cubin:
            compiled = result
            break
    if compiled is None:  # not this dispatcher's compile for that key
        return
    try:
        key = tuple(NAMES.typeof(arg) for arg in flat_args)
        context = _launcher.current_context()
    except Exception:
        return
    records = dispatcher.__dict__.get("_lcs_native_compiles")
    if records is None:
        records = dispatcher._lcs_native_compiles = {}
    by_native = records.get(id(native))
    if by_native is None or by_native[0] is not native:
        by_native = records[id(native)] = (native, {})
    by_native[1][key] = NativeCompile(compiled, context, config_key, generation)


def forget_compiles(dispatcher):
    """What the native dispatchers compiled is stale (``recompile()``, new
    literal argument positions, a kernel become launch-dependent): every
    site forgets its launches first, so none serves a record being dropped."""
    _launcher.invalidate()
    dispatcher.__dict__.pop("_lcs_native_compiles", None)


def make_record_literal_arg_positions(original):
    """Replacement for ``MLIRDispatcher._record_literal_arg_positions``:
    when numba-cuda-mlir takes new argument positions as literals, it
    replaces the native dispatcher and drops every overload; launches
    remembered before would run kernels it no longer launches."""

    def _record_literal_arg_positions(self, *args, **kwargs):
        updated = original(self, *args, **kwargs)
        if updated:
            forget_compiles(self)
        return updated

    _record_literal_arg_positions.__name__ = "_record_literal_arg_positions"
    _record_literal_arg_positions.__qualname__ = "_record_literal_arg_positions"
    return _record_literal_arg_positions


# --------------------------------------------------------------------------
# Remembering a launch
# --------------------------------------------------------------------------


#: Held while a function's dynamic shared memory limit is read and raised,
#: so that two plans of one function never lower each other's.
_SHARED_MEMORY_LOCK = threading.Lock()


def allow_dynamic_shared_memory(function, size, driver=None):
    """Whether CUfunction *function* may be launched with *size* bytes of
    dynamic shared memory, opting it in first when *size* is past what it
    takes as it stands (48 KiB less its static shared memory): the plan's
    function is numba-cuda-mlir's own module's, not the native launcher's,
    which numba-cuda-mlir opts in itself.  The limit is only ever raised.
    False when the driver says neither (its limit unreadable, or *size*
    refused: more than the device takes).  *driver*: ``cuda.bindings.driver``
    or a stand-in."""
    if driver is None:
        from cuda.bindings import driver
    attribute = driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    handle = driver.CUfunction(function)
    with _SHARED_MEMORY_LOCK:
        err, limit = driver.cuFuncGetAttribute(attribute, handle)
        if int(err) != 0:
            return False
        if size <= int(limit):
            return True
        (err,) = driver.cuFuncSetAttribute(handle, attribute, size)
        return int(err) == 0


def _stream_handle(marshaller, args):
    """The stream numba-cuda-mlir launched on, when a plan can name it: the
    configured handle; with none configured, CuPy's current stream (read at
    each launch: ``SITE_STREAM_CUPY_CURRENT``) when a CuPy array is among
    *args*, else the legacy default stream.  None otherwise: a PyTorch
    tensor among *args* (numba-cuda-mlir would follow PyTorch's current
    stream), another CuPy object, another kind of stream."""
    stream = marshaller._launch_stream
    if stream is None:
        # As numba-cuda-mlir's native launcher: a PyTorch tensor (or
        # subclass) first, then a CuPy array (or subclass).
        torch = sys.modules.get("torch")
        tensor = getattr(torch, "Tensor", None)
        if isinstance(tensor, type) and any(isinstance(arg, tensor) for arg in args):
            return None
        cupy = sys.modules.get("cupy")
        ndarray = getattr(cupy, "ndarray", None)
        if isinstance(ndarray, type) and any(isinstance(arg, ndarray) for arg in args):
            return _launcher.SITE_STREAM_CUPY_CURRENT
        return 0
    if type(stream) is int:
        return stream
    return None


def remember(site, args, ran, launch_args):
    """After numba-cuda-mlir launched *args* through the configured launcher
    *ran* (*site* itself, or the specialization's that a routed launch used)
    with *launch_args*: let *site* launch such arguments from C from now on,
    when a plan can stand for that launch exactly (see the module
    docstring).  True when remembered."""
    if len(args) > _launcher.SITE_MAX_ARGS:
        return False
    if len(args) != len(launch_args) or any(a is not b for a, b in zip(args, launch_args)):
        return False  # numba-cuda-mlir converted something (host arrays, tuples)
    dispatcher = ran._dispatcher
    if (
        site.pre_launch_callbacks
        or site._extensions
        or ran._extensions
        or getattr(dispatcher, "extensions", None)
        or (ran._launch_config is not None) != bool(dispatcher._requires_launch_config)
        or ran._available_launch_config.get("cluster") is not None
        or getattr(dispatcher, "_literal_arg_positions", ())
        or dispatcher.targetoptions.get("debug")
        or dispatcher._module_setup_callbacks
        or dispatcher._module_teardown_callbacks
    ):
        return False
    sharedmem = site.sharedmem
    if type(sharedmem) is not int or sharedmem < 0:
        return False
    handle = _stream_handle(ran, args)
    if handle is None:
        return False
    records = dispatcher.__dict__.get("_lcs_native_compiles") or {}
    native = ran._kernel_dispatcher
    by_native = records.get(id(native))
    if by_native is None or by_native[0] is not native:
        return False
    try:
        key = tuple(NAMES.typeof(arg) for arg in args)
    except Exception:
        return False
    compiled = by_native[1].get(key)
    context = _launcher.current_context()
    if compiled is None or compiled.context != context or not context:
        return False
    if ran._launch_config is not None:
        # A launch-dependent kernel: the compile must be this launch's
        # configuration's, and no recompile() since (numba-cuda-mlir's
        # generation of launch-config dispatchers).
        try:
            config_key = NAMES.launch_config_key(ran._launch_config)
        except Exception:
            return False
        if (
            compiled.launch_config_key != config_key
            or compiled.generation != dispatcher._launch_config_generation
            or ran._launch_config_generation != compiled.generation
        ):
            return False
    elif compiled.launch_config_key is not None:
        return False
    planned = compiled.planned(key)
    if planned is None:
        return False
    plan, function, required_shared = planned
    sharedmem = max(sharedmem, required_shared)
    if sharedmem and not allow_dynamic_shared_memory(function, sharedmem):
        return False
    launcher = _launcher.Launcher(
        function,
        tuple(site.griddim),
        tuple(site.blockdim),
        sharedmem,
        bool(compiled.result.metadata.get("use_cooperative", False)),
        plan,
    )
    counter = None
    if ran is not site:  # routed: the specialization counts the launch
        counter = dispatcher.__dict__.get("_lcs")
    elif site._lcs_state is not None and site._lcs_state.mask:
        counter = site._lcs_state
    return bool(_launcher.remember(site, args, launcher, handle, None, counter, context))
