"""The launch path: ``kernel[grid, block](args)`` while the package is active.

``kernel[grid, block]`` returns a :class:`LaunchConfiguration` (numba-cuda's
``configure`` builds whatever ``numba.cuda.dispatcher._LaunchConfiguration``
names, and install replaces that name).  Calling it runs, in C, the launch
site's fast path (``numba_cuda_lcs.launcher.LaunchSite``): a launch this
configured launch has made before, in this CUDA context, with arguments of
the same numba types, is marshalled and launched at once.  Anything else
reaches :func:`call`, the slow path, which then remembers what it resolved:

1. route (``routing.resolve``, inlined here): plain dispatchers pay one
   attribute read;
2. numba-cuda's C ``_cuda_call`` finds (or compiles) the overload;
3. verify the kernel serves this launch's key, else re-route;
4. pre-launch callbacks, then launch with the state prepared once per
   (kernel, CUDA context): a launcher (``numba_cuda_lcs.launcher``) that
   marshals the arguments by the kernel's plan (``argplan``) and calls the
   driver, instead of numba-cuda's per-launch ``LaunchConfig`` and Python
   marshalling.  Only ``debug=True`` kernels keep numba-cuda's own
   ``_Kernel.launch`` (it reads the kernel's exception flag back);
5. remember the launch in the site (not with pre-launch callbacks, which
   must run on every launch, nor for debug kernels).

Whatever could make a remembered launch wrong bumps
``launcher.generation`` (:func:`invalidate_prepared`): unloaded modules,
route eviction, install and uninstall, binding the other launcher twin.
"""

from ... import launcher as _launcher
from ... import tls
from ...launcher import LAUNCH_ERRORS
from ...marking import LaunchConfigMarking
from . import argplan
from .manifest import NAMES as nb
from .records import PreparedLaunch
from .routing import reroute, route_slow


class LaunchConfiguration(_launcher.LaunchSite, LaunchConfigMarking, nb.StockLaunchConfiguration):
    """What ``kernel[grid, block]`` returns while numba-cuda-lcs is active.

    numba-cuda's configured launch (``dispatcher``, ``griddim``, ``blockdim``
    as normalized 3-tuples, ``stream``, ``sharedmem``,
    ``pre_launch_callbacks``) plus the marking API.  ``args`` are the
    arguments of the launch in progress on this thread, visible while it
    compiles and in pre-launch callbacks; None otherwise.

    One object serves every thread launching with this configuration
    (numba-cuda caches ``configure``), so per-launch state lives in the TLS.
    ``_lcs_keys`` (from :class:`LaunchConfigMarking`) is computed on first use;
    ``_lcs_prepared`` maps a CUDA context handle (an int) to its
    :class:`PreparedLaunch`; the launch site's remembered launches are kept
    by its base class.  None of these are pickled.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Per context: two GPUs launching one configuration keep both.
        self._lcs_prepared = {}

    @property
    def args(self):
        return tls.current_args()

    def _push_args(self, args):
        return tls.swap_args(args)

    def _pop_args(self, prev):
        tls.swap_args(prev)

    def __getstate__(self):
        state = super().__getstate__()
        for name in ("_lcs_prepared", "_lcs_keys", "_lcs_site_entries"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._lcs_prepared = {}

    def _launched_kernel_is_sensitive(self):
        state = self.dispatcher._lcs
        return state is not None and state.routing is not None and state.routing.mask != 0

    def __repr__(self):
        name = getattr(self.dispatcher, "__name__", "?")
        return (
            f"<LaunchConfiguration {name}[griddim={self.griddim}, "
            f"blockdim={self.blockdim}, sharedmem={self.sharedmem}]>"
        )


def invalidate_prepared():
    """Make every configured launch prepare its launch state again.

    Called whenever numba-cuda unloads a context's modules (Context.reset on
    cuda.close() or a device reset, Context.unload_module): the launchers
    built before hold CUfunction handles of unloaded modules, and a new
    context can have the old one's handle, so context handles alone cannot
    tell.  Also on route eviction, so that no site keeps an evicted kernel.
    """
    _launcher.invalidate()


#: Replacement for numba-cuda's ``Context.reset`` / ``Context.unload_module``:
#: invalidate prepared launch state, then unload.
make_context_unload = _launcher.invalidate_before


def _prepare(kernel, launch, context):
    """Build (and keep on *launch*) what launching *kernel* in the current
    CUDA context (handle *context*; 0 if none is current yet) needs."""
    if not context:
        # No context on this thread yet: numba-cuda makes one current.
        nb.get_context()
        context = _launcher.current_context()
    # numba-cuda 0.30.4's _Kernel.launch builds a cuda.core LaunchConfig on
    # every launch, which rejects bad dimensions with ValueError: once here.
    nb.CoreLaunchConfig(grid=launch.griddim, block=launch.blockdim, shmem_size=launch.sharedmem)
    launcher = argplan.make_launcher(kernel, launch.griddim, launch.blockdim, launch.sharedmem)
    prepared = PreparedLaunch(
        kernel, context, launcher, argplan.stream_handle(launch.stream), _launcher.generation
    )
    launch._lcs_prepared[context] = prepared
    return prepared


def call(self, args, launch):
    """Replacement for ``CUDADispatcher.call``: route, verify, launch."""
    if type(launch) is not LaunchConfiguration:
        # A configured launch made before install() (numba-cuda's class).
        return _call_foreign_launch(self, args, launch)
    prev = tls.swap_args(args)
    try:
        # routing.resolve(), inlined.
        state = self._lcs
        routing = state.routing if state is not None else None
        counter = None
        if routing is None:
            target = self
        else:
            key = launch._lcs_keys[routing.route_mask]
            routes = routing.routes
            target = routes.get(key)
            if target is None:
                target = route_slow(self, launch)
            else:
                try:
                    routes.move_to_end(key)  # least-recently-used order
                except KeyError:  # evicted meanwhile; the route still works
                    pass
            counter = target._lcs
            counter.hits += 1
        if target._specialized:
            kernel = next(iter(target.overloads.values()))
        else:
            kernel = nb.cuda_call(target, *args, **{nb.LAUNCH_CONFIG_KW: launch})
        if kernel.launch_config_sensitive:
            tag = kernel._lcs
            if launch._lcs_keys[tag.mask] != tag.key:
                kernel = reroute(self, args, launch, kernel)
        callbacks = launch.pre_launch_callbacks
        if callbacks:
            for callback in callbacks:
                callback(kernel, launch)
        # The CUDA context decides which loaded module (cufunc) to use: the
        # thread's current one, as numba-cuda's launch uses (one driver call;
        # numba-cuda's own lookup costs about as much as a launch).
        context = _launcher.current_context()
        prepared = launch._lcs_prepared.get(context)
        if (
            prepared is None
            or prepared.kernel is not kernel
            or prepared.generation != _launcher.generation
        ):
            prepared = _prepare(kernel, launch, context)
        launcher = prepared.launcher
        if launcher is None:  # debug=True: numba-cuda's own launch
            kernel.launch(args, launch.griddim, launch.blockdim, launch.stream, launch.sharedmem)
        else:
            try:
                writebacks = launcher.launch(args, prepared.stream_handle, launch.stream)
            except LAUNCH_ERRORS as exc:  # the type numba-cuda's launch raises
                raise nb.CUDAError(str(exc)) from None
            if writebacks:
                for writeback in writebacks:
                    writeback()
            if not callbacks:
                if routing is None and self._lcs is not None and self._lcs.routing is not None:
                    counter = self._lcs  # this launch compiled the kernel: LC-S
                _launcher.remember(
                    launch, args, launcher, prepared.stream_handle, launch.stream, counter, context
                )
    finally:
        tls.swap_args(prev)


def _call_foreign_launch(self, args, launch):
    """A configured launch of numba-cuda's own class (made before install()
    and held since): launch through an equivalent one of ours, so that
    routing, hooks and marks see the same API (rare; not the hot path)."""
    ours = LaunchConfiguration(
        launch.dispatcher, launch.griddim, launch.blockdim, launch.stream, launch.sharedmem
    )
    ours.pre_launch_callbacks = launch.pre_launch_callbacks
    return call(self, args, ours)
