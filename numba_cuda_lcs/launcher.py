"""The one place that binds the launcher implementation.

A *launcher* marshals a kernel's arguments by a plan built once per compiled
kernel and launches it through the CUDA driver (the C sources are in
``_launcher_c/``, ``common.h`` maps them; the numba-cuda backend builds the
plans, ``backends/numba_cuda/argplan.py``; the argument kinds are defined
once, in ``_launcher_c/arg_kinds.h``).
A *launch site* (:data:`LaunchSite`, the base class of a backend's
configured launch) launches again, without the backend's slow path, what
that path resolved and :func:`remember`-ed.

The C extension ``_launcher`` is used when it is built; its pure-Python twin
``_launcher_py`` (a package in the same parts) when it is not, or under
``NUMBA_CUDA_LCS_PURE_PYTHON=1``.
Callers read the names here at call time, so :func:`use` switches the
package at once (the tests run over both, together with the TLS twins).
:data:`LaunchSite` is fixed when this module is imported (classes derive from
it); while the twin is bound, the C type hands every call to the twin.
"""

import os
import typing

from . import _launcher_py

try:
    from . import _launcher as _launcher_c
except ImportError:  # extension not built
    _launcher_c = None  # type: ignore[assignment]


class ParamPlan(typing.NamedTuple):
    """How one kernel argument becomes kernel parameters: one entry of a
    plan, which each compiler's backend builds (numba-cuda:
    ``backends/numba_cuda/argplan.py``; numba-cuda-mlir:
    ``backends/numba_cuda_mlir/launch_plans.py``)."""

    kind: int  # _launcher_c/arg_kinds.h
    #: (value, stream, retr) -> list of the compiler's kernel arguments, used
    #: when the kind's rule declines a value; None: no fallback, the launch
    #: is declined (a launch site then takes the compiler's own path)
    fallback: typing.Callable | None
    sizes: tuple | None  # byte size of each parameter; None: unknown
    ndim: int = 0  # K_ARRAY, K_MEMREF
    itemsize: int = 0  # K_ARRAY, K_MEMREF
    typestr: str | None = None  # K_ARRAY, K_MEMREF: CAI typestr of the dtype
    cai_sync: bool = True  # K_ARRAY, K_MEMREF: NUMBA_CUDA_ARRAY_INTERFACE_SYNC


#: The implementations available in this process, by name.
IMPLEMENTATIONS = {"python": _launcher_py}
if _launcher_c is not None:
    IMPLEMENTATIONS["c"] = _launcher_c

#: What a launcher raises when the driver refuses a launch (either twin).
LAUNCH_ERRORS = tuple(module.LaunchError for module in IMPLEMENTATIONS.values())

#: The most arguments of a launch a site remembers (the twins agree).
SITE_MAX_ARGS = min(module.SITE_MAX_ARGS for module in IMPLEMENTATIONS.values())
#: The stream handle :func:`remember` takes for "CuPy's current stream, read
#: at each launch" (numba-cuda-mlir launches CuPy arrays there when no
#: stream was configured); the twins agree.
SITE_STREAM_CUPY_CURRENT = _launcher_py.SITE_STREAM_CUPY_CURRENT

#: Base class of configured launches (the C type when it is built).
LaunchSite = (_launcher_c or _launcher_py).LaunchSite
#: Base class of per-dispatcher state whose ``hits`` launch sites count (in
#: C when it is built: the fast path adds no Python-level work for LC-S).
HitCounter = (_launcher_c or _launcher_py).HitCounter

DEFAULT_IMPLEMENTATION = (
    "python"
    if os.environ.get("NUMBA_CUDA_LCS_PURE_PYTHON", "") == "1" or _launcher_c is None
    else "c"
)

#: The invalidation counter, bumped by :func:`invalidate`: state prepared
#: before it (``PreparedLaunch.generation``) is stale.  Each implementation's
#: sites keep the same count under the same name (C: ``LCS.generation``;
#: twin: ``state.STATE.generation``), bumped with it, for the fast path to
#: compare without calling Python.
generation = 0
#: Per compiler backend (its name): (typed_class, launch_error), see
#: configure_sites.
_site_settings: dict = {}
_cupy_settings: tuple[object, object] = (None, None)  # (ndarray_class, get_current_stream)
_interface_sync: object = None  # configure_interface_sync's source

impl = IMPLEMENTATIONS[DEFAULT_IMPLEMENTATION]
IMPLEMENTATION = DEFAULT_IMPLEMENTATION
Launcher = impl.Launcher
#: The calling thread's current CUDA context handle as an int (0: none).
current_context = impl.current_context
#: remember(site, args, launcher, stream_handle, stream, counter, context)
remember = impl.remember


def invalidate():
    """Launch state prepared so far is stale (modules unloaded, the package
    switched on or off, an implementation bound): every site forgets what it
    remembered, and callers comparing :data:`generation` prepare again."""
    global generation
    generation += 1
    for module in IMPLEMENTATIONS.values():
        module.invalidate()


def invalidate_before(original):
    """Build a replacement for a compiler's driver-context method that
    unloads modules (``Context.reset`` / ``Context.unload_module``) from the
    compiler's own: :func:`invalidate`, then unload.  Launchers built before
    hold CUfunction handles of the unloaded modules, and a new context can
    have an old one's handle, so context handles alone cannot tell."""

    def unload(self, *args, **kwargs):
        invalidate()
        return original(self, *args, **kwargs)

    unload.__name__ = unload.__qualname__ = getattr(original, "__name__", "unload")
    return unload


def _apply_site_settings():
    settings = list(_site_settings.values())
    typed_classes = tuple(cls for cls, _ in settings if cls is not None)
    # The default error of a refused fast-path launch: the first backend's
    # (a configured launch class may name its own, `_lcs_launch_error`).
    launch_error = next((err for _, err in settings if err is not None), None)
    _launcher_py.configure_sites(typed_classes, launch_error)
    if _launcher_c is not None:
        twin = None if IMPLEMENTATION == "c" else _launcher_py.site_call
        _launcher_c.configure_sites(typed_classes, launch_error, twin)
    invalidate()


def configure_sites(typed_class=None, launch_error=None, *, owner="numba-cuda"):
    """What launch sites need from the compiler *owner* (a backend's name):
    the class whose instances it types by their ``_numba_type_`` (its device
    arrays), and the exception class its launch raises when the driver
    refuses one.  None (both): that compiler's settings are dropped.  Sites
    see the union of every backend's classes."""
    if typed_class is None and launch_error is None:
        _site_settings.pop(owner, None)
    else:
        _site_settings[owner] = (typed_class, launch_error)
    _apply_site_settings()


def configure_cupy(ndarray_class: object = None, get_current_stream: object = None) -> None:
    """Let launch sites read CuPy arrays by their attributes (``data.ptr``,
    ``shape``, ``strides``, ``dtype``; *get_current_stream*: CuPy's current
    stream) instead of building ``__cuda_array_interface__`` on every launch.
    Called (by numba_cuda_lcs.activation) when CuPy is imported; None,
    None: off."""
    global _cupy_settings
    _cupy_settings = (ndarray_class, get_current_stream)
    for module in IMPLEMENTATIONS.values():
        module.configure_cupy(ndarray_class, get_current_stream)
    invalidate()


def configure_interface_sync(source: object = None, own_class: type | None = None) -> None:
    """The object whose ``CUDA_ARRAY_INTERFACE_SYNC`` launches of
    numba-cuda-mlir plans (K_MEMREF) read for arrays that are not instances
    of *own_class*, as numba-cuda-mlir reads it at every launch: its config
    module and its ``DeviceNDArrayBase`` (set by that backend's install;
    None, None: off -- the value a plan was made with stands, and the typed
    classes are the compiler's own).  A launch seeing another value than its
    plan's declines to the compiler's path and sites forget what they
    remembered, so the next launch is planned with the value in force; this
    holds for every launch of such a plan, ``Launcher.pack`` and
    ``Launcher.launch`` called directly included."""
    global _interface_sync
    _interface_sync = source
    for module in IMPLEMENTATIONS.values():
        module.configure_interface_sync(source, own_class)
    invalidate()


def interface_sync_source() -> object:
    """What :func:`configure_interface_sync` set (None: nothing)."""
    return _interface_sync


def use(name):
    """Bind the implementation *name* ("c" or "python"); returns the name
    bound before.  Launch state prepared before is invalidated."""
    global impl, IMPLEMENTATION, Launcher, current_context, remember
    try:
        module = IMPLEMENTATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown launcher implementation {name!r}; available: "
            f"{', '.join(sorted(IMPLEMENTATIONS))}"
        ) from None
    previous = IMPLEMENTATION
    impl, IMPLEMENTATION, Launcher = module, name, module.Launcher
    current_context, remember = module.current_context, module.remember
    _apply_site_settings()
    return previous


_apply_site_settings()

__all__ = [
    "HitCounter",
    "ParamPlan",
    "configure_cupy",
    "configure_interface_sync",
    "interface_sync_source",
    "LAUNCH_ERRORS",
    "IMPLEMENTATION",
    "IMPLEMENTATIONS",
    "DEFAULT_IMPLEMENTATION",
    "LaunchSite",
    "Launcher",
    "SITE_MAX_ARGS",
    "SITE_STREAM_CUPY_CURRENT",
    "configure_sites",
    "current_context",
    "generation",
    "impl",
    "invalidate",
    "invalidate_before",
    "remember",
    "use",
]
