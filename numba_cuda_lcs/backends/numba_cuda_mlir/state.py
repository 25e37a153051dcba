"""Per-kernel state: the one attribute (``_lcs``) this backend puts on a
numba-cuda-mlir dispatcher, and the thread-local launch in progress.

A kernel (the dispatcher ``@cuda.jit`` returned) gets a :class:`KernelState`
at its first ``configure``; each per-configuration specialization (a child
dispatcher this backend creates) gets one naming its root and the launch key
it serves; a device function whose compilation read the launch gets one
holding its per-key variants.
"""

import collections
import threading

from ... import keys as _keys
from ... import launcher as _launcher
from ... import specializations, tls
from ...specializations import Evictions


class Compiled:
    """What a compilation of one signature produced (for inspection)."""

    __slots__ = ("mask", "key", "config", "seconds", "from_cache")

    def __init__(self, mask, key, config, seconds, from_cache):
        self.mask = mask  # fields it depends on (0: plain)
        self.key = key  # launch key it was compiled for (None: plain)
        self.config = config  # (griddim, blockdim, sharedmem) of the compiling launch
        self.seconds = seconds  # compile time, None when loaded from disk
        self.from_cache = from_cache


class KernelState(_launcher.HitCounter):
    """The ``_lcs`` record of a dispatcher.

    Root kernels: ``mask`` is the union of the fields its compilations marked
    (0 while it is plain), ``routes`` maps launch keys (for ``mask``) to the
    specializations serving them, in least-recently-used order (the
    configured launches ``kernel[...]`` returns are numba-cuda-mlir's,
    cached by its ``configure``).  Mutated under
    numba-cuda-mlir's compiler lock; read without it on the launch path.

    Specializations: ``root`` and ``key`` (with ``mask``, the fields of the
    key) say what they serve.  Device functions: ``device_masks`` and
    ``device_variants``.
    """

    __slots__ = (
        "root",
        "key",
        "mask",
        "routes",
        "max_specializations",
        "launch_bounds",
        "compiles",
        "cache_loads",
        "evictions",
        "compiled",
        "device_masks",
        "device_variants",
        "__weakref__",
    )
    # `hits` is the HitCounter base's: launch sites count a specialization's
    # launches from C.

    def __init__(self, root=None, key=None, mask=0):
        self.root = root
        self.key = key
        self.mask = mask
        self.routes = collections.OrderedDict()
        self.max_specializations = None
        self.launch_bounds = False
        self.compiles = 0
        self.cache_loads = 0
        self.evictions = Evictions()
        self.hits = 0
        self.compiled = {}  # argument types -> Compiled
        self.device_masks = None
        self.device_variants = None

    def widen(self, mask):
        """Add *mask* to the fields (root only).  Routes keyed by the old
        fields are dropped: launches route again with the new key."""
        if mask & ~self.mask:
            self.mask |= mask
            self.routes = collections.OrderedDict()
            _launcher.invalidate()  # launch sites remembered the old routes
            return True
        return False


def max_specializations(state):
    """The per-kernel value, else ``NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS``,
    else 32 (numba-cuda-mlir rejects unknown jit options, so there is no
    ``lcs_max_specializations=`` here)."""
    return specializations.max_specializations(None, state.max_specializations)


class _Launching(threading.local):
    """What the launch in progress on this thread needs on its slow paths
    (the launch itself is published through :mod:`numba_cuda_lcs.tls`,
    which is cheaper on every launch): the launch a compile asked to route
    again (``reroute``), and what a compile of the kernel itself does when its
    disk cache turns out to mark it LC-S while it waited for another process
    (``on_marked(mask)``, raises; None outside such a compile)."""

    reroute = None
    on_marked = None


launching = _Launching()


def swap_on_marked(on_marked):
    """Set ``launching.on_marked`` for this thread; returns the previous one."""
    previous = launching.on_marked
    launching.on_marked = on_marked
    return previous


def request_reroute():
    """Tell the launch in progress on this thread to route again."""
    launching.reroute = tls.current_launch()


def take_reroute(launch):
    """Whether a compile asked *launch* to route again; forgets the request.

    The request names its launch, so an exception of any other origin (or a
    request that never reached its launch) is never taken for one."""
    if launch is not None and launching.reroute is launch:
        launching.reroute = None
        return True
    return False


def describe_mask(mask):
    return ", ".join(_keys.mask_to_fields(mask)) or "none"
