"""Activation: which compilers are supported, installing their backends, and
why the package is or is not active.

The top layer of the package.  It imports the start-up hook (a leaf that
imports nothing of ours) for the facts stated there once -- each compiler's
trigger module and the values of ``NUMBA_CUDA_LCS_DISABLE`` -- and to be told
when a compiler or CuPy is imported; it imports backends by name only when
their compiler is imported, and records installed ones in
:mod:`numba_cuda_lcs.registry`, where the compiler-neutral core finds them.
Nothing in the core imports this module.
"""

import importlib
import importlib.util
import os
import sys
import threading
import warnings
from collections.abc import Callable
from typing import Any

import _numba_cuda_lcs_autoload as hook

from . import compat, launcher, registry
from .errors import UnsupportedCompilerError

DISABLE_ENV = hook.DISABLE_ENV
DISABLE_TRUE = hook.DISABLE_TRUE
DISABLE_FALSE = hook.DISABLE_FALSE

SIMULATOR_ENV = "NUMBA_ENABLE_CUDASIM"
INSTALL_HINT = (
    "install numba-cuda-lcs with the extra that matches your NVIDIA driver: "
    "'numba-cuda-lcs[cu13]' (driver >= 580) or 'numba-cuda-lcs[cu12]' (driver >= 525)"
)


class SupportedCompiler:
    """One supported compiler: where to find it and its backend."""

    __slots__ = ("compiler", "distribution", "probe", "trigger", "package")

    def __init__(self, compiler: str, distribution: str, probe: str, package: str) -> None:
        self.compiler = compiler  # the name users know
        self.distribution = distribution  # what pip installs
        self.probe = probe  # a top-level module only it installs
        self.trigger = hook.TRIGGERS[compiler]  # importing this means it is in use
        self.package = package  # our backend subpackage (imported by name)

    def installed(self) -> bool:
        """Whether the compiler is installed (importable) at all."""
        if self.probe in sys.modules:
            return True
        try:
            return importlib.util.find_spec(self.probe) is not None
        except (ImportError, ValueError):
            return False

    def backend(self) -> Any:
        """Our backend module for it (imports the compiler's internals)."""
        return importlib.import_module(self.package)

    def __repr__(self) -> str:
        return f"<SupportedCompiler {self.compiler}>"


SUPPORTED = (
    SupportedCompiler(
        "numba-cuda", "numba-cuda", "numba_cuda", "numba_cuda_lcs.backends.numba_cuda"
    ),
    SupportedCompiler(
        "numba-cuda-mlir",
        "numba-cuda-mlir",
        "numba_cuda_mlir",
        "numba_cuda_lcs.backends.numba_cuda_mlir",
    ),
)

_lock = threading.RLock()
_armed: dict[str, Callable[[], None]] = {}  # compiler -> callback waiting for its trigger import
_installing = threading.local()
_warned_values: set[str] = set()
# Why the last activation attempt failed (an unsupported compiler version).
_activation_error: Exception | None = None


# ---------------------------------------------------------------------------
# The environment
# ---------------------------------------------------------------------------


def disabled_by_environment() -> bool:
    """True when ``NUMBA_CUDA_LCS_DISABLE`` is ``1``, ``true``, ``yes`` or ``on``.

    ``0``, ``false``, ``no``, ``off`` and the empty string leave the package
    enabled; any other value also leaves it enabled and warns once.
    """
    if hook.disabled():
        return True
    value = os.environ.get(DISABLE_ENV, "").strip().lower()
    if value not in DISABLE_FALSE and value not in _warned_values:
        _warned_values.add(value)
        warnings.warn(
            f"{DISABLE_ENV}={os.environ.get(DISABLE_ENV)!r} is not recognised, so "
            f"numba-cuda-lcs stays enabled. Use one of {', '.join(DISABLE_TRUE)} to "
            f"disable it, or one of 0, false, no, off (or leave it unset) to enable it.",
            RuntimeWarning,
            stacklevel=3,
        )
    return False


def _simulator_enabled() -> bool:
    return os.environ.get(SIMULATOR_ENV, "").strip() not in ("", "0")


def compilers_installed() -> list[str]:
    """The supported compilers installed (importable) in this environment."""
    return [entry.compiler for entry in SUPPORTED if entry.installed()]


def _environment_reason() -> str | None:
    """Why activation cannot happen in this process, or None."""
    if disabled_by_environment():
        return (
            f"{DISABLE_ENV}={os.environ.get(DISABLE_ENV)} is set, so numba-cuda is left untouched."
        )
    if _simulator_enabled():
        return (
            f"{SIMULATOR_ENV} is set: the CUDA simulator runs kernels in Python "
            "and has no compiler or dispatcher for numba-cuda-lcs to route, so "
            "the package stays inactive (kernels still run in the simulator)."
        )
    if not compilers_installed():
        return (
            "neither numba-cuda nor numba-cuda-mlir is installed, so there is no "
            f"compiler to extend: {INSTALL_HINT}, or 'numba-cuda-lcs[mlir]'."
        )
    return None


# ---------------------------------------------------------------------------
# Installing backends
# ---------------------------------------------------------------------------


def installing() -> bool:
    """True while this thread is installing a backend (its own imports of the
    compiler must not re-enter activation)."""
    return getattr(_installing, "depth", 0) > 0


def _install(entry: SupportedCompiler) -> None:
    with _lock:
        _armed.pop(entry.compiler, None)
        _installing.depth = getattr(_installing, "depth", 0) + 1
        try:
            backend = entry.backend()
            backend.install()
            registry.add(backend)
        finally:
            _installing.depth -= 1


def _activate_all() -> None:
    """Install every backend whose compiler is imported, and arm the others
    (installed but not imported yet) to install when it is."""
    with _lock:
        for entry in SUPPORTED:
            if entry.compiler in _armed or not entry.installed():
                continue
            if entry.trigger in sys.modules:
                _install(entry)
                continue

            def on_import(entry: SupportedCompiler = entry) -> None:
                _install(entry)

            _armed[entry.compiler] = on_import
            hook.watch(entry.trigger, on_import)


def _deactivate_all() -> bool:
    """Uninstall every backend and disarm the rest; True if any was installed."""
    with _lock:
        for entry in SUPPORTED:
            callback = _armed.pop(entry.compiler, None)
            if callback is not None:
                hook.unwatch(entry.trigger, callback)
        removed = False
        for backend in registry.installed():
            removed = backend.uninstall() or removed
            registry.remove(backend)
        return removed


def import_installed_compilers() -> dict[str, Exception]:
    """Import the trigger module of every installed compiler (which installs
    its backend while the package is active); {compiler: error} for those
    that failed to import."""
    failed: dict[str, Exception] = {}
    for entry in SUPPORTED:
        if entry.installed():
            try:
                importlib.import_module(entry.trigger)
            except Exception as exc:  # a broken or GPU-less environment
                failed[entry.compiler] = exc
    return failed


def armed_compilers() -> list[str]:
    """Compilers whose backend installs as soon as they are imported."""
    with _lock:
        return sorted(_armed)


# ---------------------------------------------------------------------------
# The public API (re-exported by numba_cuda_lcs)
# ---------------------------------------------------------------------------


def activate() -> bool:
    """Install LC-S compilation into every supported compiler the program has
    imported, and arm it for those imported later.

    Returns True when it is active afterwards; False when
    ``NUMBA_CUDA_LCS_DISABLE`` is set, the CUDA simulator is enabled (it has
    no dispatcher to route) or no supported compiler is installed --
    :func:`inactive_reason` says which.  Raises
    :class:`UnsupportedCompilerError` (an :class:`UnsupportedNumbaCudaError`)
    for a compiler version this release does not support.
    """
    global _activation_error
    if _environment_reason() is not None:
        return False
    try:
        _activate_all()
    except UnsupportedCompilerError as exc:
        _activation_error = exc
        raise
    _activation_error = None
    compat.warn_known_problems()  # numpy 2.5 with numba-cuda 0.30.x, ...
    return True


def deactivate() -> bool:
    """Undo every patch :func:`activate` made (kernels compiled per
    configuration are handed to the compiler's own state first, so none is
    launched with a configuration it was not compiled for).

    Returns False when the package was not active."""
    return _deactivate_all()


def is_active() -> bool:
    """True while numba-cuda-lcs is installed into a compiler, or armed to
    install as soon as an installed compiler is imported."""
    return bool(registry.installed() or armed_compilers())


def active_compilers() -> list[str]:
    """The compilers numba-cuda-lcs is installed into now."""
    return [backend.COMPILER for backend in registry.installed()]


def inactive_reason() -> str | None:
    """None while the package is active; otherwise a sentence saying why not
    (disabled by ``NUMBA_CUDA_LCS_DISABLE``, the CUDA simulator, numba-cuda
    not installed, an unsupported numba-cuda, or :func:`deactivate`)."""
    if is_active():
        return None
    reason = _environment_reason()
    if reason is not None:
        return reason
    if _activation_error is not None:
        return str(_activation_error)
    return "numba_cuda_lcs.deactivate() was called; numba_cuda_lcs.activate() turns it back on."


# ---------------------------------------------------------------------------
# Entry points: importing the package, the start-up hook, numba-cuda's
# extension entry point, CuPy
# ---------------------------------------------------------------------------


def activate_on_import() -> None:
    """Importing the package activates it; an unsupported compiler version
    leaves it inactive with a warning (:func:`activate` itself raises)."""
    try:
        activate()
    except UnsupportedCompilerError as exc:
        warnings.warn(f"numba-cuda-lcs is not active: {exc}", RuntimeWarning, stacklevel=4)


def activate_on_trigger_import() -> None:
    """What the start-up hook runs (by name) when a compiler's trigger module
    has been imported."""
    if installing():
        # numba-cuda-lcs itself is importing the compiler (an install is in
        # progress): that activation completes the job.
        return
    if all(
        entry.compiler in active_compilers()
        for entry in SUPPORTED
        if entry.trigger in sys.modules and entry.installed()
    ):
        # Importing the package to resolve this callback activated it already.
        return
    activate_on_import()


def init_extension() -> None:
    """numba-cuda ``numba_cuda_extensions`` entry point (``init``)."""
    activate()


def _cupy_imported() -> None:
    cupy = sys.modules["cupy"]
    try:
        launcher.configure_cupy(cupy.ndarray, cupy.cuda.get_current_stream)
    except Exception:  # not the CuPy we know: interface dicts, as before;
        pass  # and never an error in the user's `import cupy`


# Launch sites read CuPy arrays by their attributes once CuPy is imported.
hook.watch("cupy", _cupy_imported)
