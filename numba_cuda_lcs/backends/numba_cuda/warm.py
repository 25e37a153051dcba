"""Warming the disk cache ahead of time (numba-cuda): compile what a launch
with a given configuration and argument types would run, without launching.

A numba-cuda cache entry is a pickled ``_Kernel`` keyed by the device's
compute capability: building a ``_Kernel`` needs a CUDA device
(``_Kernel.__init__`` calls ``get_current_device()``), and the index key
holds the codegen's ``magic_tuple()``, which asks the driver for the current
device's compute capability.  So numba-cuda kernels are warmed on a machine
with a GPU of the compute capability the production processes use
(:func:`compile_target` says so when there is none, or when ``cc`` names
another one).  ``numba.cuda.compile_ptx`` compiles without a GPU, but what
it returns is PTX, not a cache entry.
"""

import contextlib

from ... import specializations, tls, warming
from ...errors import WarmError
from .manifest import NAMES as nb
from .routing import root_of, route_slow, routing_of, serves

WHY_NO_CPU = (
    "numba-cuda cannot write cache entries without a GPU: an entry is a "
    "pickled _Kernel, whose construction needs a CUDA device "
    "(numba-cuda 0.30's _Kernel.__init__ calls get_current_device()), and its "
    "index key holds the device's compute capability (the codegen's "
    "magic_tuple() asks the driver)"
)


def parse_signature(text):
    """The argument types of *text* (``"float32[::1], int64"``,
    ``"void(float32[::1])"``) or of a tuple of numba-cuda types."""
    return warming.parse_signature_with(text, nb.normalize_signature, nb.none_type, "numba-cuda")


@contextlib.contextmanager
def compile_target(cc):
    """Compile for compute capability *cc* ((major, minor); None: the
    current device's): numba-cuda needs that device here."""
    try:
        device = nb.get_current_device()
        found = tuple(device.compute_capability)
    except Exception as exc:
        raise WarmError(
            f"{WHY_NO_CPU}. This machine has no usable CUDA device "
            f"({type(exc).__name__}: {exc}): warm numba-cuda kernels on a machine with a "
            "GPU of the compute capability the production processes use (numba-cuda-mlir "
            "kernels can be warmed without a GPU with --cc)."
        ) from None
    if cc is not None and tuple(cc) != found:
        raise WarmError(
            f"{WHY_NO_CPU}, so it writes entries for the device it runs on only: "
            f"this one is compute capability {found[0]}.{found[1]}, not {cc[0]}.{cc[1]}. "
            "Warm on a GPU of that compute capability, or leave out --cc."
        )
    yield found


def has_disk_cache(kernel):
    return isinstance(root_of(kernel)._cache, nb.CUDACache)


def compile_for_launch(kernel, argtypes, griddim, blockdim, sharedmem):
    """Compile (or load from the disk cache) what ``kernel[griddim, blockdim,
    0, sharedmem]`` would run for arguments of types *argtypes*, routing as
    a launch does, without launching."""
    launch = kernel[griddim, blockdim, 0, sharedmem]
    root = root_of(kernel)
    for _ in range(specializations.MAX_ROUTING_ATTEMPTS):
        state = root._lcs
        routing = state.routing if state is not None else None
        target = root if routing is None else route_slow(root, launch)
        token = tls.begin_compile(launch)  # the configuration compile_kernel sees
        try:
            compiled = target.compile(argtypes)
        finally:
            tls.end_compile(token)
        if serves(compiled, launch):
            return compiled
        with nb.compiler_lock:
            routing_of(root).widen(compiled._lcs.mask)
    raise WarmError(f"found no kernel of {root.__name__!r} compiled for {launch!r}")
