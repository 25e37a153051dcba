"""Configured launches: what ``kernel[grid, block, stream, sharedmem, cluster]``
returns while numba-cuda-lcs is active for numba-cuda-mlir.

numba-cuda-mlir's own ``configure`` runs unchanged: its cache of configured
launchers (keyed by extensions, invalidated by generations, one builder per
key while others wait), its normalization and its errors.  What it builds is
its ``_ArgMarshaller``; ours is a subclass of it, :class:`ConfiguredLaunch`,
put in its place in numba-cuda-mlir's ``descriptor`` module (``patches.py``),
so every attribute and method numba-cuda-mlir and its users rely on is the
compiler's own.  It adds:

* the marking API and ``griddim``/``blockdim``/``stream``/``sharedmem``/
  ``cluster``/``dispatcher``/``args``/``pre_launch_callbacks``, as on
  numba-cuda's configured launches;
* on each launch of prepared arguments (``_launch``, which numba-cuda-mlir's
  own ``__call__`` calls once it has typed the arguments and copied host
  arrays to the device), publishing itself and the arguments for this
  thread (compilations that the launch triggers see them:
  :func:`numba_cuda_lcs.current_launch_config`);
* routing: a plain kernel (``state.mask == 0``) launches through
  numba-cuda-mlir's own ``_launch``; an LC-S kernel looks the launch's key up
  (the marked fields only) and hands the prepared arguments to the
  configured launcher of the specialization serving that key (a child
  dispatcher, see :func:`routing.new_child`), created on first use;
* a compilation may answer "route again" (:class:`compile.Reroute`): the
  kernel turned out to be LC-S, or its fields widened, while this launch was
  on its way.  The launch then routes again; nothing was launched;
* the C launch path: it is a launch site (``numba_cuda_lcs.launcher.
  LaunchSite``), so calling it launches a launch it has made before from C,
  by a plan (``launch_plans.py``, which says when a launch qualifies); any
  other call takes numba-cuda-mlir's own ``__call__`` (``_lcs_slow_call``),
  after which the launch is remembered when a plan can stand for it.

Why this is never a wrong kernel: the kernel itself only ever hands plain
(configuration-independent) code to its native launcher -- a compile that
marks fields moves its result to the specialization of its key and asks the
launch to route again -- and a specialization only ever holds code compiled
for its own key (or plain code).  See ``compile.py``.
"""

import operator
import sys
import threading

from ... import launcher as _launcher
from ... import tls
from ...errors import LaunchConfigSpecializationError
from ...marking import LaunchConfigMarking
from ...specializations import MAX_ROUTING_ATTEMPTS
from . import launch_plans
from .manifest import NAMES
from .routing import root_state, route_slow
from .state import take_reroute

#: numba-cuda-mlir's configured launcher: the base class.  Its ``__call__``
#: (argument preparation: types, host arrays to the device, copy-backs)
#: runs unchanged; what it calls to launch prepared arguments, ``_launch``,
#: is where a configured launch publishes itself and routes.
StockMarshaller = NAMES.ArgMarshaller

#: Free-threaded CPython: OrderedDict calls are not atomic by themselves.
_FREE_THREADED = not getattr(sys, "_is_gil_enabled", lambda: True)()

#: How prepared arguments are launched: ``invoke(marshaller, argtypes,
#: launch_args, launch_values)``, numba-cuda-mlir's own ``_launch`` (set the
#: compile-time argument types, compile if needed, launch).  A module global
#: so that CPU tests can put a fake native launcher here that compiles
#: without launching (tests/support/mlir.py).
invoke = StockMarshaller._launch

#: numba-cuda-mlir's registry of whole-function planners (its ``_planners``
#: list is read on every launch: non-empty means launches are serialized per
#: configured launcher, see :func:`launch_prepared`).
_planners = NAMES.planner_registry


def launch_prepared(marshaller, argtypes, launch_args, launch_values):
    """``invoke``, one launch at a time per configured launcher while
    whole-function planners are registered.

    Why: numba-cuda-mlir 0.6.0's ``_launch`` reads the launcher it will use
    before it prepares the launch, and when preparing finds that a planner
    made the kernel launch-dependent it installs a per-configuration
    launcher on the (shared) configured launcher.  A thread that read the
    launcher before another thread installed the new one launches the
    kernel's generic native dispatcher, which then compiles and keeps the
    code of that thread's configuration -- and runs it for every other
    configuration launched through it: a wrong kernel (seen on an H200 as
    illegal-address faults with 8 threads).  Without planners the launcher
    is never replaced, and nothing is serialized.

    The lock is held while the launch compiles (under numba-cuda-mlir's
    compiler lock): compile-time code that launches through the *same*
    configured launcher from another thread and waits for it would
    deadlock -- the order numba-cuda-mlir's own ``_launch_lock`` has on
    free-threaded builds.

    Either way the launch goes through :func:`_invoke_plain`, so that
    :mod:`launch_plans` may remember it."""
    if _planners._planners or getattr(marshaller._dispatcher, "_requires_launch_config", False):
        with marshaller._lcs_launch_lock:
            return _invoke_plain(marshaller, argtypes, launch_args, launch_values)
    return _invoke_plain(marshaller, argtypes, launch_args, launch_values)


def _invoke_plain(marshaller, argtypes, launch_args, launch_values):
    """``invoke``, noting for :mod:`launch_plans` which native dispatcher
    launches it (its compile callback records what it compiles: for a
    launch-dependent kernel, under the native dispatcher numba-cuda-mlir
    keeps for the launch's configuration) and, once launched, what ran."""
    inflight = launch_plans.inflight
    outer = inflight.native
    inflight.native = marshaller._kernel_dispatcher
    try:
        result = invoke(marshaller, argtypes, launch_args, launch_values)
    finally:
        inflight.native = outer
    inflight.ran = (marshaller, launch_args)
    return result


def compile_without_launch(marshaller, argtypes, launch_args, launch_values=None):
    """What numba-cuda-mlir's launcher does on a miss -- compile the
    marshaller's dispatcher for the arguments (its ``_compile``, which loads
    from the disk cache first) -- and nothing else."""
    return marshaller._dispatcher._compile(list(launch_args))


def _as_sharedmem(value):
    """numba-cuda reports dynamic shared memory as an int (None is 0);
    numba-cuda-mlir also accepts sentinels such as ``"dynamic"``, kept as
    given (they are part of the launch key like any other value)."""
    if value is None:
        return 0
    try:
        return operator.index(value)
    except TypeError:
        return value


class ConfiguredLaunch(_launcher.LaunchSite, LaunchConfigMarking, StockMarshaller):
    """numba-cuda-mlir's configured launcher, plus the marking API and routing
    to per-configuration specializations (see the module docstring).

    ``dispatcher``, ``griddim``/``blockdim`` (3-tuples), ``stream`` (0 when
    none was given, as numba-cuda reports it), ``sharedmem`` (int, None read
    as 0), ``cluster`` (3-tuple or None), ``args`` (the arguments of the
    launch in progress on this thread, None otherwise),
    ``pre_launch_callbacks`` (each called as ``cb(dispatcher, config)`` before
    every launch), and the marking API.
    """

    #: What a launch the driver refuses raises, on the C path as on
    #: numba-cuda-mlir's (which turns its launcher's error into this).
    _lcs_launch_error = NAMES.CUDAError

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        dispatcher = self._dispatcher
        state = None
        if isinstance(dispatcher, NAMES.MLIRDispatcher):
            state = dispatcher.__dict__.get("_lcs")
            if state is None:
                state = root_state(dispatcher)
            elif state.root is not None or state.device_masks is not None:
                # A specialization (routing asks for its launcher) or a device
                # function: numba-cuda-mlir's launcher, nothing routed.
                state = None
        #: The kernel's record (None: launch as numba-cuda-mlir does, unrouted).
        self._lcs_state = state
        config = self._available_launch_config or {}
        self.griddim = config.get("grid")
        self.blockdim = config.get("block")
        self._lcs_raw_sharedmem = config.get("sharedmem")
        self.sharedmem = _as_sharedmem(self._lcs_raw_sharedmem)
        self.cluster = config.get("cluster")
        self.pre_launch_callbacks = []
        self._routed = None  # (specialization, its configured launcher)
        self._lcs_launch_lock = threading.RLock()  # see launch_prepared

    @property
    def dispatcher(self):
        return self._dispatcher

    @property
    def stream(self):
        """The stream given to ``kernel[...]`` (a ``Stream`` object when one
        was given), 0 when none was."""
        if self._stream_ref is not None:
            return self._stream_ref
        return 0 if self._launch_stream is None else self._launch_stream

    @property
    def args(self):
        """The arguments of the launch in progress on this thread, as
        numba-cuda-mlir passes them to the kernel (a host array as its
        device copy); None outside a launch of this configuration."""
        args = tls.current_args()
        return None if args is None else tuple(args)

    def _launched_kernel_is_sensitive(self):
        state = self._lcs_state
        return state is not None and state.mask != 0

    def _lcs_slow_call(self, args):
        """A call the launch site's C path did not take: numba-cuda-mlir's
        own ``__call__`` (which calls :meth:`_launch`), then remember the
        launch when a plan can stand for it (``launch_plans.remember``)."""
        inflight = launch_plans.inflight
        outer = inflight.ran
        inflight.ran = None
        try:
            result = StockMarshaller.__call__(self, *args)
            ran = inflight.ran
        finally:
            inflight.ran = outer
        if ran is not None:
            try:
                launch_plans.remember(self, args, ran[0], ran[1])
            except Exception:  # noqa: S110 -- the launch happened; not
                pass  # remembering it only leaves the next one to this path
        return result

    def __repr__(self):
        name = getattr(self._dispatcher, "__name__", "?")
        extra = f", cluster={self.cluster}" if self.cluster is not None else ""
        return (
            f"<ConfiguredLaunch {name}[griddim={self.griddim}, "
            f"blockdim={self.blockdim}, sharedmem={self.sharedmem}{extra}]>"
        )

    def _launch(self, argtypes, launch_args, launch_values=None):
        state = self._lcs_state
        if state is None:
            return launch_prepared(self, argtypes, launch_args, launch_values)
        # Published for the compilations this launch may trigger; the C
        # thread-local slots keep this cheap (one call in, one out).
        token = tls.begin_launch(self, launch_args if launch_values is None else launch_values)
        try:
            if self.pre_launch_callbacks:
                for callback in list(self.pre_launch_callbacks):
                    callback(self._dispatcher, self)
            if not state.mask:
                try:
                    # launch_prepared, inlined: the plain kernel's fast path
                    # (a routed kernel is an MLIRDispatcher whose launch state
                    # numba-cuda-mlir's __call__ has ensured).
                    if _planners._planners or self._dispatcher._requires_launch_config:
                        with self._lcs_launch_lock:
                            return _invoke_plain(self, argtypes, launch_args, launch_values)
                    return _invoke_plain(self, argtypes, launch_args, launch_values)
                except Exception:
                    if not take_reroute(self):
                        raise
            return self._launch_routed(launch_prepared, argtypes, launch_args, launch_values)
        finally:
            tls.end_launch(token)

    def compile_only(self, args):
        """Compile (or load from the disk cache) what calling this launch
        with *args* would run, routing as a launch does, without launching
        (nor running pre-launch callbacks): ``numba_cuda_lcs.warm``."""
        args = tuple(args)
        state = self._lcs_state
        if state is None:
            return compile_without_launch(self, None, args)
        token = tls.begin_launch(self, args)
        try:
            if not state.mask:
                try:
                    return compile_without_launch(self, None, args)
                except Exception:
                    if not take_reroute(self):
                        raise
            return self._launch_routed(compile_without_launch, None, args, None)
        finally:
            tls.end_launch(token)

    def _launch_routed(self, run, argtypes, launch_args, launch_values):
        """Launch (``run``) the prepared arguments on the specialization
        serving this launch's key; route again while compiles ask to.
        Prepared once by this marshaller, the arguments (and host-array
        copy-backs) serve whichever kernel runs."""
        state = self._lcs_state
        for _ in range(MAX_ROUTING_ATTEMPTS):
            mask = state.mask
            if not mask:
                marshaller = self
            else:
                key = self._lcs_keys[mask]
                target = state.routes.get(key)
                if target is None:
                    target = route_slow(self._dispatcher, self)
                else:
                    try:
                        state.routes.move_to_end(key)  # least-recently-used order
                    except KeyError:  # evicted meanwhile; still correct
                        pass
                routed = self._routed
                if routed is not None and routed[0] is target:
                    marshaller = routed[1]
                else:
                    marshaller = self._configure_specialization(target)
                    self._routed = (target, marshaller)
                target._lcs.hits += 1
            try:
                return run(marshaller, argtypes, launch_args, launch_values)
            except Exception:
                if not take_reroute(self):
                    raise
        raise LaunchConfigSpecializationError(
            f"numba-cuda-lcs found no kernel of {self._dispatcher.__name__!r} "
            f"compiled for {self!r}; refusing to launch one compiled for another "
            "configuration. Please report this."
        )

    def _configure_specialization(self, target):
        """The specialization *target*'s configured launcher for this launch's
        configuration (numba-cuda-mlir's configure, on the child)."""
        stream = self._stream_ref if self._stream_ref is not None else self._launch_stream
        return target.configure(
            self.griddim, self.blockdim, stream, self._lcs_raw_sharedmem, self.cluster
        )


def make_argmarshaller(original):
    """Replacement for ``numba_cuda_mlir.descriptor._ArgMarshaller``: the
    subclass above (built on the class the manifest loaded, which must be
    the one being replaced)."""
    if original is not StockMarshaller:
        raise TypeError(
            "numba_cuda_mlir.descriptor._ArgMarshaller is not the class "
            "numba-cuda-lcs was built against (another package replaced it?)"
        )
    return ConfiguredLaunch


_GRAPH_BUILDER: list = []  # [cuda.core's GraphBuilder class or None], once looked up


def _graph_builder_class():
    if not _GRAPH_BUILDER:
        try:
            from cuda.core import GraphBuilder
        except ImportError:
            try:
                from cuda.core.graph import GraphBuilder
            except ImportError:
                GraphBuilder = None
        _GRAPH_BUILDER.append(GraphBuilder)
    return _GRAPH_BUILDER[0]


def make_configure(original):
    """Replacement for ``MLIRDispatcher.configure`` (``kernel[...]`` and
    ``kernel.configure(...)`` both end there): a cuda.core ``GraphBuilder``
    as the stream launches on the stream it captures on, as numba-cuda does
    (numba-cuda-mlir 0.6.0 refuses it at launch: "Unsupported stream
    type").  Everything numba-cuda-mlir accepts is passed on unchanged."""

    def configure(self, griddim, blockdim, stream=None, sharedmem=None, cluster=None):
        if stream is not None and not isinstance(stream, int):
            builder = _graph_builder_class()
            if builder is not None and isinstance(stream, builder):
                stream = stream.stream
        return original(self, griddim, blockdim, stream, sharedmem, cluster)

    configure.__name__ = configure.__qualname__ = "configure"
    configure.__doc__ = original.__doc__
    return configure


#: How many raw ``kernel[...]`` arguments a kernel's front cache holds
#: before it starts afresh (numba-cuda-mlir's own configure cache holds 128).
FRONT_CACHE_SIZE = 256


def make_getitem(original):
    """Replacement for ``MLIRDispatcher.__getitem__`` (``kernel[grid, block,
    ...]``): the configured launcher numba-cuda-mlir's ``configure`` would
    return, found without normalizing the arguments again.

    numba-cuda-mlir's ``configure`` normalizes the arguments into its cache
    key, then returns the launcher cached under it (about 6 µs on every
    launch written ``kernel[grid, block](args)``).  Here the raw arguments
    (with ``_requires_launch_config``, which decides how sharedmem is
    normalized) map to that key and launcher, remembered from the last
    ``configure`` that returned it; a hit is returned only while
    numba-cuda-mlir's cache still holds that very launcher under that key --
    exactly when its own ``configure`` would return it -- and is moved to
    the end of its least-recently-used order as it would be.  Anything else
    (kernels with extensions, whose key also holds their identities;
    unhashable arguments; a cleared, evicted or replaced entry) is
    numba-cuda-mlir's own ``__getitem__``."""

    def __getitem__(self, args):
        front = self.__dict__.get("_lcs_configure_front")
        if front is not None and not self.extensions:
            try:
                entry = front.get(_front_key(self, args))
            except TypeError:  # unhashable: numba-cuda-mlir says so
                entry = None
            if entry is not None:
                key, marshaller = entry
                cache = self._configure_cache
                if _FREE_THREADED:
                    with self._launch_config_lock:
                        if cache.get(key) is marshaller:
                            cache.move_to_end(key)
                            return marshaller
                # With the GIL each OrderedDict call is atomic, as under
                # numba-cuda-mlir's lock; an entry evicted between the two
                # is numba-cuda-mlir's configure again.
                elif cache.get(key) is marshaller:
                    try:
                        cache.move_to_end(key)
                    except KeyError:
                        pass
                    else:
                        return marshaller
        marshaller = original(self, args)
        if not self.extensions:
            _remember_front(self, args, marshaller)
        return marshaller

    __getitem__.__name__ = __getitem__.__qualname__ = "__getitem__"
    return __getitem__


def _front_key(dispatcher, args):
    """The front cache's key of raw ``kernel[...]`` arguments *args*: they,
    their types, and ``_requires_launch_config``; None when a tuple among
    them holds anything but ints.  Equal values of other types (``4.0``,
    ``True`` or ``np.int64(4)`` for ``4``) hash alike but are not what
    numba-cuda-mlir validated: each type gets its own entry, made only when
    its ``configure`` accepted it.  ``kernel[grid, block]`` with two ints,
    the common case, is keyed by the arguments alone (a key of two items,
    never equal to one of three)."""
    if type(args) is tuple and len(args) == 2 and type(args[0]) is int and type(args[1]) is int:
        return (args, dispatcher._requires_launch_config)
    if type(args) is not tuple:
        return (args, type(args), dispatcher._requires_launch_config)
    for arg in args:
        if type(arg) is tuple:
            for item in arg:
                if type(item) is not int:
                    return None
    return (args, tuple(map(type, args)), dispatcher._requires_launch_config)


def _remember_front(dispatcher, args, marshaller):
    """Note numba-cuda-mlir's cache key of *marshaller* (just returned by its
    configure for *args*) under the raw arguments."""
    try:
        front_key = _front_key(dispatcher, args)
        hash(front_key)
    except (TypeError, AttributeError):
        return
    if front_key is None:
        return
    with dispatcher._launch_config_lock:
        cache = dispatcher._configure_cache
        key = next((k for k, m in reversed(cache.items()) if m is marshaller), None)
    if key is None:
        return
    front = dispatcher.__dict__.get("_lcs_configure_front")
    if front is None or len(front) >= FRONT_CACHE_SIZE:
        front = dispatcher._lcs_configure_front = {}
    front[front_key] = (key, marshaller)
