"""The records numba-cuda-lcs keeps on numba-cuda objects.

Each foreign object carries at most one attribute of ours, ``_lcs``:

- a dispatcher: :class:`DispatcherState` (None for plain kernels, which is
  all a plain launch reads);
- a compiled ``_Kernel``: :class:`KernelTag` (None for plain kernels);
- our configured launch (a subclass of numba-cuda's, see ``configured_launch``)
  holds its keys and :class:`PreparedLaunch` records in its own slots.
"""

import collections

from ... import keys as _keys
from ... import launcher as _launcher
from ...specializations import Evictions


class Routing:
    """Routes launch keys to the dispatchers that serve them.

    ``routes`` maps a launch key (for ``route_mask``) to the dispatcher
    serving it: the root itself for its default configuration, a child
    dispatcher (kept in numba-cuda's ``_launch_config_specializations``) for
    every other key.  Mutated only under numba-cuda's compiler lock; read
    without it on the launch path (dict reads are atomic, and a stale read is
    caught when the kernel's tag is verified).  ``routes`` is kept in
    least-recently-used order (launches move their key to the end), which is
    what eviction follows.
    """

    __slots__ = (
        "mask",
        "route_mask",
        "routes",
        "default_keys",
        "deferred_sigs",
        "evictions",
    )

    def __init__(self, deferred_sigs=None):
        self.mask = 0  # union of the fields the kernels depend on
        self.route_mask = _keys.ALL_FIELDS  # fields routes are keyed by (all while unknown)
        self.routes = collections.OrderedDict()
        # Launch keys of the configuration the root itself was compiled for.
        self.default_keys = None
        # Signatures a lazily specialized dispatcher compiles per
        # configuration (specialize() of a kernel that needs one).
        self.deferred_sigs = deferred_sigs
        self.evictions = Evictions()

    def widen(self, mask):
        """Add *mask* to the fields the kernel depends on, re-keying routes."""
        if not mask & ~self.mask:
            return
        self.mask |= mask
        old_routes, old_mask = self.routes, self.route_mask
        self.route_mask = self.mask
        # Routes keyed by more fields than now needed (a lazily specialized
        # dispatcher starts with all of them) still serve their launches:
        # re-key them.  Narrower ones cannot be re-keyed.
        routes = collections.OrderedDict()
        if not self.route_mask & ~old_mask:
            # list(): a snapshot taken atomically; launches may still be
            # reordering the old dict (move_to_end) without the lock.
            for key, target in list(old_routes.items()):
                routes.setdefault(_keys.project(key, self.route_mask), target)
        self.routes = routes


class DispatcherState(_launcher.HitCounter):
    """``CUDADispatcher._lcs``: what we know about one dispatcher (``hits``,
    from the base class, is counted in C on the launch sites' fast path)."""

    __slots__ = (
        "routing",
        "root",
        "max_specializations",
        "launch_bounds",
        "compiles",
        "cache_loads",
        "device_variants",
    )

    def __init__(self, root=None):
        self.routing = None  # Routing, once an LC-S kernel compiled (roots only)
        self.root = root  # the kernel a per-configuration child serves
        # Launches served.  Incremented without a lock on the launch path, so
        # approximate when threads launch the same kernel concurrently.
        self.hits = 0
        self.max_specializations = None  # set_max_specializations()
        self.launch_bounds = None  # set_launch_bounds_from_block()
        self.compiles = 0  # exact: counted under the compiler lock
        self.cache_loads = 0
        # Device functions only: {argtypes: mask} and {(argtypes, key): cres}.
        self.device_variants = None


class KernelTag:
    """``_Kernel._lcs``: an LC-S kernel's fields and the key it serves."""

    __slots__ = ("mask", "key", "compiled_for", "compile_seconds", "saved_key")

    def __init__(self, mask=0, key=None, compiled_for=None, compile_seconds=None, saved_key=None):
        self.mask = mask  # fields the compiled code depends on
        self.key = key  # launch key (for mask) it was compiled for
        self.compiled_for = compiled_for  # (griddim, blockdim, sharedmem)
        self.compile_seconds = compile_seconds  # None: loaded from the disk cache
        self.saved_key = saved_key  # key stored in its disk-cache entry


class PreparedLaunch:
    """What launching one kernel with one configured launch in one CUDA
    context needs, built once: a launcher (function handle, dimensions,
    argument plan) and the stream handle."""

    __slots__ = ("kernel", "context", "launcher", "stream_handle", "generation")

    def __init__(self, kernel, context, launcher, stream_handle, generation):
        self.kernel = kernel
        # launcher.generation when built (see configured_launch.invalidate_prepared)
        self.generation = generation
        self.context = context  # CUcontext handle (int)
        self.launcher = launcher  # None: numba-cuda's _Kernel.launch (debug kernels)
        self.stream_handle = stream_handle


def state_of(dispatcher):
    """The dispatcher's :class:`DispatcherState`, created on first use."""
    state = dispatcher._lcs
    if state is None:
        state = dispatcher._lcs = DispatcherState()
    return state


def tag_of(kernel):
    """The kernel's :class:`KernelTag`, created on first use."""
    tag = kernel._lcs
    if tag is None:
        tag = kernel._lcs = KernelTag()
    return tag
