"""Argument plans and launchers for the C launch path (numba-cuda 0.30.x).

A *plan* is built once per compiled kernel from its numba argument types: a
tuple with one :class:`ParamPlan` per kernel argument.  A *launcher*
(``numba_cuda_lcs._launcher.Launcher`` or its twin in ``_launcher_py``) is
built once per (kernel, CUDA context, configured launch) from the CUfunction
handle, grid, block, dynamic shared memory, the cooperative flag and the plan.

Arguments of the fast kinds are marshalled in C.  Every entry also carries a
*fallback*, ``fallback(value, stream, retr) -> list``: numba-cuda's own
``_Kernel._prepare_args`` for that one argument, returning the values it
would hand to cuda.core's ``launch()`` and appending write-backs to *retr*.
The C code uses it for the kinds it does not marshal itself and whenever a
fast rule declines a value, so such values (and their errors) are numba-cuda's.

One addition to numba-cuda's behaviour: a host NumPy array (or ``cuda.In`` /
``Out`` / ``InOut`` of one) passed on a non-default stream, where numba-cuda
0.30.4 raises "NumPy only supports stream=None", is copied in on that stream
and copied back on it after the launch (see :func:`_host_array_fallback`).
"""

import functools
import os
import warnings

import numpy as np

from ... import launcher as _launcher
from ..._launcher_py.arg_kinds import (  # defined once: _launcher_c/arg_kinds.h
    K_ARRAY,
    K_BOOL,
    K_C64,
    K_C128,
    K_F16,
    K_F32,
    K_F64,
    K_FALLBACK,
    K_INT,
    K_PTR,
)
from .manifest import NAMES as nb

types = nb.types
numpy_support = nb.numpy_support


#: How one kernel argument becomes kernel parameters (numba_cuda_lcs.launcher).
ParamPlan = _launcher.ParamPlan


def launcher_module():
    """The launcher implementation bound now (``numba_cuda_lcs.launcher``)."""
    return _launcher.impl


# Scalars: numba-cuda 0.30.4 _Kernel._prepare_args, branch by branch.
_SCALARS = {
    types.float16: (K_F16, (2,)),
    types.float32: (K_F32, (4,)),
    types.float64: (K_F64, (8,)),
    types.boolean: (K_BOOL, (1,)),  # BooleanModel: an i8 argument
    types.complex64: (K_C64, (4, 4)),
    types.complex128: (K_C128, (8, 8)),
}


def param_sizes(ty):
    """Byte sizes of the kernel parameters numba-cuda 0.30.4 passes for an
    argument of type *ty* (its data model flattens every argument into
    scalars); None where that is not known from the type alone."""
    if isinstance(ty, types.Array):
        return (8,) * (5 + 2 * ty.ndim)  # meminfo parent nitems itemsize data shape strides
    if isinstance(ty, (types.CPointer, types.Record)):
        return (8,)
    if isinstance(ty, types.Integer):
        return (ty.bitwidth // 8,)
    if ty in _SCALARS:
        return _SCALARS[ty][1]
    if isinstance(ty, (types.NPDatetime, types.NPTimedelta)):
        return (8,)
    if isinstance(ty, types.BaseTuple):
        parts = [param_sizes(t) for t in ty]
        return None if None in parts else sum(parts, ())
    if isinstance(ty, types.EnumMember):
        return param_sizes(ty.dtype)
    return None


def _fallback(prepare_args, ty, value, stream, retr):
    kernelargs = []
    prepare_args(ty, value, stream, retr, kernelargs)
    return kernelargs


def build_plan(argtypes, prepare_args, *, extensions=False, cai_sync=None):
    """The plan for a kernel with numba argument types *argtypes*.

    *prepare_args* is numba-cuda's ``_prepare_args(ty, val, stream, retr,
    kernelargs)`` for that kernel (``kernel._prepare_args``).  With
    *extensions* every argument goes through it (an extension may change an
    argument's type, so nothing is known in advance)."""
    if cai_sync is None:
        cai_sync = bool(nb.nb_config.CUDA_ARRAY_INTERFACE_SYNC)
    plan = []
    for ty in argtypes:
        fb = functools.partial(_fallback, prepare_args, ty)
        if extensions:
            plan.append(ParamPlan(K_FALLBACK, fb, None))
            continue
        sizes = param_sizes(ty)
        if isinstance(ty, types.Array):
            fb = functools.partial(_host_array_fallback, prepare_args, ty)
            try:
                dtype = numpy_support.as_dtype(ty.dtype)
            except Exception:  # no NumPy dtype (bfloat16, ...): numba-cuda's path
                dtype = None
            if dtype is not None and dtype.kind in "biufc":
                plan.append(
                    ParamPlan(K_ARRAY, fb, sizes, ty.ndim, dtype.itemsize, dtype.str, cai_sync)
                )
            else:  # records, datetimes...: numba-cuda's path
                plan.append(ParamPlan(K_FALLBACK, fb, sizes))
        elif isinstance(ty, types.Integer):
            plan.append(ParamPlan(K_INT, fb, sizes))
        elif isinstance(ty, types.CPointer):
            plan.append(ParamPlan(K_PTR, fb, sizes))
        elif ty in _SCALARS:
            plan.append(ParamPlan(_SCALARS[ty][0], fb, sizes))
        else:
            plan.append(ParamPlan(K_FALLBACK, fb, sizes))
    return tuple(plan)


def plan_for_kernel(kernel):
    """The plan for a compiled numba-cuda ``_Kernel``; None for ``debug=True``
    kernels, which need numba-cuda's own ``kernel.launch`` (it resets and
    reads the exception flag around the launch)."""
    if kernel.debug:
        return None
    return build_plan(
        tuple(kernel.argument_types), kernel._prepare_args, extensions=bool(kernel.extensions)
    )


def function_handle(kernel):
    """The CUfunction (a CUkernel, which cuLaunchKernel accepts) handle of
    *kernel* as an int, in the current context (numba-cuda 0.30.4 + cuda.core
    1.x: ``_codelibrary.get_cufunc()`` is per device, ``.handle`` is the
    cuda.core Kernel's handle)."""
    return int(kernel._codelibrary.get_cufunc().handle)


def make_launcher(kernel, griddim, blockdim, sharedmem=0, plan=None, module=None):
    """A launcher for *kernel* with normalized 3-tuples *griddim*/*blockdim*,
    in the current context; None for debug kernels."""
    plan = plan_for_kernel(kernel) if plan is None else plan
    if plan is None:
        return None
    module = launcher_module() if module is None else module
    return module.Launcher(
        function_handle(kernel),
        tuple(griddim),
        tuple(blockdim),
        int(sharedmem),
        bool(kernel.cooperative),
        plan,
    )


# --------------------------------------------------------------------------
# Streams
# --------------------------------------------------------------------------

_ptds = None


def _use_ptds():
    # numba-cuda 0.30.4 leaves PTDS to the NVIDIA binding: a launch on "stream
    # 0" goes through cuda.bindings, which uses the per-thread default stream
    # when CUDA_PYTHON_CUDA_PER_THREAD_DEFAULT_STREAM was set to a non-zero
    # int when it initialised (read once, as it does).  NUMBA_CUDA_PER_THREAD_
    # DEFAULT_STREAM only makes numba-cuda warn.
    global _ptds
    if _ptds is None:
        _ptds = bool(int(os.environ.get("CUDA_PYTHON_CUDA_PER_THREAD_DEFAULT_STREAM", 0)))
    return _ptds


def _raw_handle(stream):
    if not stream:  # 0 or None
        return 0
    if isinstance(stream, int):
        return stream
    if hasattr(stream, "__cuda_stream__"):  # numba and cuda.core streams
        return int(stream.__cuda_stream__()[1])
    inner = getattr(stream, "stream", None)  # a cuda.core GraphBuilder
    if inner is not None:
        return _raw_handle(inner)
    raise TypeError(f"Expected a stream object or 0, got {type(stream).__name__}")


def stream_handle(stream):
    """The CUstream handle (an int) numba-cuda 0.30.4 launches on for what
    ``launch.stream`` holds: 0/None, a numba ``Stream``, a cuda.core
    ``Stream``, anything with ``__cuda_stream__``, or an int.  The default
    stream is 2 (CU_STREAM_PER_THREAD) under per-thread default streams,
    else 0 (legacy)."""
    h = _raw_handle(stream)
    return 2 if h == 0 and _use_ptds() else h


# --------------------------------------------------------------------------
# Host arrays on a non-default stream
# --------------------------------------------------------------------------


def _host_array_fallback(prepare_args, ty, value, stream, retr):
    """numba-cuda's path for an Array argument, except for host NumPy arrays
    on a non-default stream (see the module docstring)."""
    ArgHint, Out = nb.ArgHint, nb.Out
    array = value.value if isinstance(value, ArgHint) else value
    if type(array) is not np.ndarray or _raw_handle(stream) == 0:
        return _fallback(prepare_args, ty, value, stream, retr)
    # numba-cuda's args.In/Out/InOut and (plain arrays) wrap_arg's InOut
    copy_in = not isinstance(value, Out) or value.copy_input
    copy_out = not isinstance(value, ArgHint) or isinstance(value, Out)
    dev, nbytes, handle = _to_device(array, stream, copy_in, not isinstance(value, ArgHint))
    kernelargs = []
    prepare_args(ty, dev, stream, retr, kernelargs)  # a view passes through as is
    if copy_out:
        host_ptr = array.__array_interface__["data"][0]

        def copy_back():
            driver = nb.nb_driver
            if nbytes:
                driver.cuMemcpyDtoHAsync(host_ptr, dev.ptr, nbytes, handle)
            driver.cuStreamSynchronize(handle)
            return array

        retr.append(copy_back)
    else:
        retr.append(lambda: dev)  # keep the device copy alive until then
    return kernelargs


def _to_device(array, stream, copy, warn):
    """devicearray._to_strided_memory_view's host branch, without handing the
    stream to NumPy's ``__dlpack__``: (device view, nbytes, stream handle)."""
    from cuda.core import Buffer, Stream
    from cuda.core.utils import StridedMemoryView

    config, driver = nb.nb_config, nb.nb_driver
    handle = _raw_handle(stream)
    core_stream = stream if isinstance(stream, Stream) else Stream.from_handle(handle)
    ctx = nb.get_device_context()
    nbytes = array.nbytes
    if nbytes:
        buf = ctx.device._dev.allocate(nbytes, stream=core_stream)
    else:
        buf = Buffer.from_handle(ptr=0, size=0, mr=ctx.device._dev.memory_resource)
    host = StridedMemoryView.from_array_interface(array)
    dev = StridedMemoryView.from_buffer(
        buf, shape=host.shape, strides=host.strides, dtype=host.dtype
    )
    if copy and nbytes:
        if warn and config.CUDA_WARN_ON_IMPLICIT_COPY and not config.DISABLE_PERFORMANCE_WARNINGS:
            warnings.warn(
                nb.NumbaPerformanceWarning(
                    "Host array used in CUDA kernel will incur copy overhead to/from device."
                ),
                stacklevel=2,
            )
        driver.cuMemcpyHtoDAsync(dev.ptr, host.ptr, nbytes, handle)
    return dev, nbytes, handle
