"""Configured launches: what ``kernel[grid, block, stream, sharedmem, cluster]``
returns while numba-cuda-lcs is active for numba-cuda-mlir.

``kernel[grid, block, stream, sharedmem, cluster]`` returns a
:class:`LaunchConfiguration` (our ``configure`` replaces numba-cuda-mlir's).
It holds numba-cuda-mlir's own configured launcher for the kernel (the
"marshaller"), and calling it:

1. publishes itself and the arguments for this thread (compilations that the
   launch triggers see them: :func:`numba_cuda_lcs.current_launch_config`);
2. plain kernel (``state.mask == 0``): calls numba-cuda-mlir's launcher for
   the kernel -- its own launch path, unchanged;
3. LC-S kernel: looks the launch's key up (the marked fields only) and calls
   the launcher of the specialization serving that key, creating it on
   first use (a child dispatcher, see :func:`routing.new_child`);
4. a compilation may answer "route again" (:class:`compile.Reroute`): the
   kernel turned out to be LC-S, or its fields widened, while this launch
   was on its way.  The launch then routes again; nothing was launched.

Why this is never a wrong kernel: the kernel itself only ever hands plain
(configuration-independent) code to its native launcher -- a compile that
marks fields moves its result to the specialization of its key and asks the
launch to route again -- and a specialization only ever holds code compiled
for its own key (or plain code).  See ``compile.py``.
"""

import threading

from ... import tls
from ...errors import LaunchConfigSpecializationError
from ...marking import LaunchConfigMarking
from ...specializations import MAX_ROUTING_ATTEMPTS
from .manifest import NAMES
from .routing import root_state, route_slow
from .state import launching

CONFIGS_PER_KERNEL = 256

_configs_lock = threading.Lock()


def invoke(marshaller, target, args):
    """Run numba-cuda-mlir's configured launcher (compile if needed, launch).

    A module-level function so that CPU tests can replace it with a fake
    native launcher that compiles without launching."""
    return marshaller(*args)


def compile_without_launch(marshaller, target, args):
    """What numba-cuda-mlir's configured launcher does on a miss -- compile
    *target* for *args* (its ``_compile``, which loads from the disk cache
    first) -- and nothing else."""
    return target._compile(list(args))


class LaunchConfiguration(LaunchConfigMarking):
    """What ``kernel[...]`` returns while numba-cuda-lcs is active for
    numba-cuda-mlir.

    ``dispatcher``, ``griddim``/``blockdim`` (3-tuples), ``stream`` (0 when
    none was given, as numba-cuda reports it),
    ``sharedmem`` (int, None read as 0), ``cluster`` (3-tuple or None),
    ``args`` (the arguments of the launch in progress on this thread, None
    otherwise), ``pre_launch_callbacks`` (each called as ``cb(dispatcher,
    config)`` before every launch), and the marking API.
    """

    def __init__(self, dispatcher, griddim, blockdim, stream, sharedmem, cluster, raw, marshaller):
        self.dispatcher = dispatcher
        self.griddim = griddim
        self.blockdim = blockdim
        self.stream = 0 if stream is None else stream  # numba-cuda's default
        self.sharedmem = 0 if sharedmem is None else int(sharedmem)
        self.cluster = cluster
        self.pre_launch_callbacks = []
        self._raw = raw  # the configure() arguments, for specializations
        self._plain = marshaller  # numba-cuda-mlir's launcher for the kernel
        self._state = dispatcher._lcs
        self._routed = None  # (specialization, its launcher)

    @property
    def args(self):
        return tls.current_args()

    def _launched_kernel_is_sensitive(self):
        return self._state.mask != 0

    def __repr__(self):
        name = getattr(self.dispatcher, "__name__", "?")
        extra = f", cluster={self.cluster}" if self.cluster is not None else ""
        return (
            f"<LaunchConfiguration {name}[griddim={self.griddim}, "
            f"blockdim={self.blockdim}, sharedmem={self.sharedmem}{extra}]>"
        )

    def __call__(self, *args):
        prev_args = tls.swap_args(args)
        current = launching
        prev_launch = current.launch
        current.launch = self
        try:
            callbacks = self.pre_launch_callbacks
            if callbacks:
                for callback in list(callbacks):
                    callback(self.dispatcher, self)
            if not self._state.mask:
                current.reroute = False
                try:
                    return invoke(self._plain, self.dispatcher, args)
                except Exception:
                    if not current.reroute:
                        raise
                    current.reroute = False
            return self._launch_routed(args)
        finally:
            current.launch = prev_launch
            tls.swap_args(prev_args)

    def compile_only(self, args):
        """Compile (or load from the disk cache) what calling this launch
        with *args* would run, routing as a launch does, without launching
        (nor running pre-launch callbacks): ``numba_cuda_lcs.warm``."""
        prev_args = tls.swap_args(args)
        current = launching
        prev_launch = current.launch
        current.launch = self
        try:
            if not self._state.mask:
                current.reroute = False
                try:
                    return compile_without_launch(self._plain, self.dispatcher, args)
                except Exception:
                    if not current.reroute:
                        raise
                    current.reroute = False
            return self._launch_routed(args, compile_without_launch)
        finally:
            current.launch = prev_launch
            tls.swap_args(prev_args)

    def _launch_routed(self, args, run=None):
        current = launching
        for _ in range(MAX_ROUTING_ATTEMPTS):
            state = self._state
            mask = state.mask
            if not mask:
                target, marshaller = self.dispatcher, self._plain
            else:
                key = self._lcs_keys[mask]
                routes = state.routes
                target = routes.get(key)
                if target is None:
                    target = route_slow(self.dispatcher, self)
                else:
                    try:
                        routes.move_to_end(key)  # least-recently-used order
                    except KeyError:  # evicted meanwhile; still correct
                        pass
                routed = self._routed
                if routed is not None and routed[0] is target:
                    marshaller = routed[1]
                else:
                    marshaller = target.configure(*self._raw)
                    self._routed = (target, marshaller)
                target._lcs.hits += 1
            current.reroute = False
            try:
                return (run or invoke)(marshaller, target, args)
            except Exception:
                if not current.reroute:
                    raise
                current.reroute = False
        raise LaunchConfigSpecializationError(
            f"numba-cuda-lcs found no kernel of {self.dispatcher.__name__!r} "
            f"compiled for {self!r}; refusing to launch one compiled for another "
            "configuration. Please report this."
        )


def make_configure(stock_configure):
    """Replacement for ``MLIRDispatcher.configure``."""

    def configure(self, griddim, blockdim, stream=None, sharedmem=None, cluster=None):
        state = self.__dict__.get("_lcs")
        if state is None:
            state = root_state(self)
        elif state.root is not None or state.device_masks is not None:
            # A specialization (routing asks for its launcher), or a device
            # function: numba-cuda-mlir's own.
            return stock_configure(self, griddim, blockdim, stream, sharedmem, cluster)
        raw = (griddim, blockdim, stream, sharedmem, cluster)
        try:
            launch = state.configs.get(raw)
        except TypeError:  # unhashable: numba-cuda-mlir says what is wrong
            launch = None
        if launch is not None:
            return launch
        griddim_n, blockdim_n = NAMES.normalize_kernel_dimensions(griddim, blockdim)
        cluster_n = None
        if cluster is not None:
            cluster_n = NAMES.normalize_kernel_dimensions(cluster, (1, 1, 1))[0]
        marshaller = stock_configure(self, griddim, blockdim, stream, sharedmem, cluster)
        launch = LaunchConfiguration(
            self, griddim_n, blockdim_n, stream, sharedmem, cluster_n, raw, marshaller
        )
        with _configs_lock:
            configs = state.configs
            found = configs.get(raw)
            if found is not None:
                return found
            if len(configs) >= CONFIGS_PER_KERNEL:
                del configs[next(iter(configs))]
            configs[raw] = launch
        return launch

    configure.__name__ = configure.__qualname__ = "configure"
    configure.__doc__ = (
        "numba-cuda-lcs: return a LaunchConfiguration (cached per arguments) "
        "that routes each launch to the kernel compiled for its configuration."
    )
    return configure
