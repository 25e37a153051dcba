"""Warming the disk cache ahead of time (numba-cuda-mlir): compile what a
launch with a given configuration and argument types would run, without
launching -- and, given a compute capability, without a GPU.

numba-cuda-mlir compiles cubins for the compute capability its
``tools.get_gpu_compute_capability()`` returns and keys its cache entries by
it; :func:`compile_target` makes that the one named (``patches.compile_for_cc``),
so a container build or a CI job without a GPU can fill the cache for the
GPUs production runs on.

A launch compiles for the numba types of its arguments (``typeof``), so the
compile goes through numba-cuda-mlir's own path with a small sample argument
of each type of the signature (arrays of 2 elements per dimension, zeros;
scalars): what a launch with real arguments of those types would compile.
"""

import contextlib

import numpy as np

from ... import warming
from ...errors import WarmError
from .configured_launch import ConfiguredLaunch
from .manifest import NAMES
from .patches import compile_for_cc


def parse_signature(text):
    """The argument types of *text* (``"float32[::1], int64"``,
    ``"void(float32[::1])"``) or of a tuple of numba-cuda-mlir types."""
    return warming.parse_signature_with(
        text, NAMES.normalize_signature, NAMES.types.none, "numba-cuda-mlir"
    )


def _device_cc():
    try:
        return tuple(NAMES.tools.get_gpu_compute_capability(tuple))
    except Exception as exc:
        raise WarmError(
            "numba-cuda-mlir found no CUDA device to compile for "
            f"({type(exc).__name__}: {exc}). Name the compute capability of the GPUs the "
            "cache is for: --cc 9.0 (warm(..., cc=(9, 0)))."
        ) from None


@contextlib.contextmanager
def compile_target(cc):
    """Compile for compute capability *cc* ((major, minor)), with or
    without a GPU; None: the current device's (a GPU is needed)."""
    if cc is None:
        yield _device_cc()
        return
    with compile_for_cc(cc):
        yield tuple(cc)


def has_disk_cache(kernel):
    return isinstance(kernel._cache, NAMES.MLIRCache)


def sample_args(argtypes):
    """One argument value per type whose ``typeof`` is that type."""
    return tuple(_sample(ty) for ty in argtypes)


def _sample(ty):
    types = NAMES.types
    try:
        if isinstance(ty, types.Array):
            dtype = NAMES.numpy_support.as_dtype(ty.dtype)
            shape = (2,) * ty.ndim
            if ty.layout == "F":
                value = np.zeros(shape, dtype, order="F")
            elif ty.layout == "A" and ty.ndim:
                value = np.zeros((*shape[:-1], 4), dtype)[..., ::2]
            else:
                value = np.zeros(shape, dtype)
            if not ty.mutable:
                value.flags.writeable = False
        elif isinstance(ty, (types.Boolean, types.Integer, types.Float, types.Complex)):
            value = NAMES.numpy_support.as_dtype(ty).type(0)
        else:
            raise TypeError(f"no sample value for {type(ty).__name__} arguments")
        found = NAMES.typeof(value)
    except Exception as exc:
        raise WarmError(
            f"warm cannot make an argument of type {ty} ({exc}): it compiles for arrays "
            "and numeric or boolean scalars. Warm this kernel by launching it once "
            "per configuration in a warm-up script instead."
        ) from None
    if found != ty:
        raise WarmError(
            f"warm cannot make an argument of type {ty} (a sample is typed {found}): "
            "warm this kernel by launching it once per configuration in a warm-up "
            "script instead."
        )
    return value


def compile_for_launch(kernel, argtypes, griddim, blockdim, sharedmem):
    """Compile (or load from the disk cache) what ``kernel[griddim, blockdim,
    0, sharedmem]`` would run for arguments of types *argtypes*, routing as
    a launch does, without launching."""
    args = sample_args(argtypes)
    launch = kernel[griddim, blockdim, 0, sharedmem]
    if not isinstance(launch, ConfiguredLaunch) or launch._lcs_state is None:
        raise WarmError(f"{kernel!r} is not a kernel numba-cuda-lcs routes")
    try:
        launch.compile_only(args)
    except RuntimeError as exc:
        if "requires launch metadata" not in str(exc):
            raise
        # numba-cuda-mlir hands a planner the configuration only inside a
        # launch (its _launch prepares it); warm compiles without one.
        raise WarmError(
            f"a whole-function planner needs the launch configuration to compile "
            f"{getattr(kernel, '__name__', kernel)!r}, which numba-cuda-mlir only "
            "provides inside a launch, so warm cannot compile it yet; warm it by "
            "launching it once per configuration in a warm-up script (with "
            "cache=True, those launches fill the disk cache for later processes)."
        ) from None
