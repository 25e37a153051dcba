"""Backends: one subpackage per compiler, and the registry that activates them.

The rest of the package is compiler-neutral (the public API, fields and keys,
the marking API, launch constants, inspection, patching, the thread-local
state) and imports no compiler's private modules.  Everything that touches a
compiler's internals lives in that compiler's backend subpackage.

The backend contract
--------------------
A backend subpackage is imported only after its compiler's *trigger* module
has been imported (so importing ``numba_cuda_lcs`` never imports a compiler
the program does not use).  Its ``__init__`` provides:

``COMPILER``
    the compiler's name, as in :data:`BACKENDS`.
``check_version()``
    raise :class:`~numba_cuda_lcs.errors.UnsupportedCompilerError` (naming the
    supported versions and the fix) unless the installed compiler is
    supported.
``install()`` / ``uninstall()`` / ``is_installed()``
    apply or undo every patch (install returns False if already installed,
    uninstall False if not).
``installed_patches()``
    one line per patch in place: ``"replaces Owner.name: why"``.
``describe_internals()``
    one line per compiler internal the backend reads (its manifest).
``owns(kernel)``
    True for a kernel (dispatcher) of this compiler.
``kernel_rows(kernel)``, ``counters(kernel)``,
``set_max_specializations(kernel, limit)``,
``set_launch_bounds_from_block(kernel, enabled)``
    what :mod:`numba_cuda_lcs.inspection` returns and sets, for kernels it owns.
"""

import importlib
import importlib.util
import sys
import threading

import _numba_cuda_lcs_autoload as _autoload

from ..errors import UnsupportedCompilerError


class Backend:
    """One supported compiler: where to find it and its backend."""

    __slots__ = ("compiler", "distribution", "probe", "trigger", "package")

    def __init__(self, compiler, distribution, probe, trigger, package):
        self.compiler = compiler  # the name users know
        self.distribution = distribution  # what pip installs
        self.probe = probe  # a top-level module only it installs
        self.trigger = trigger  # importing this module means it is in use
        self.package = package  # our backend subpackage

    def installed(self):
        """Whether the compiler is installed (importable) at all."""
        if self.probe in sys.modules:
            return True
        try:
            return importlib.util.find_spec(self.probe) is not None
        except (ImportError, ValueError):
            return False

    def module(self):
        return importlib.import_module(self.package)

    def __repr__(self):
        return f"<Backend {self.compiler}>"


BACKENDS = (
    Backend(
        "numba-cuda",
        "numba-cuda",
        "numba_cuda",
        "numba.cuda.dispatcher",
        "numba_cuda_lcs.backends.numba_cuda",
    ),
    Backend(
        "numba-cuda-mlir",
        "numba-cuda-mlir",
        "numba_cuda_mlir",
        "numba_cuda_mlir.descriptor",
        "numba_cuda_lcs.backends.numba_cuda_mlir",
    ),
)

_lock = threading.RLock()
_armed: dict = {}  # compiler -> callback waiting for its trigger import
_activating = threading.local()


def activating():
    """True while this thread is installing a backend (its own imports of the
    compiler must not re-enter activation)."""
    return getattr(_activating, "depth", 0) > 0


def _install(backend):
    with _lock:
        _armed.pop(backend.compiler, None)
        _activating.depth = getattr(_activating, "depth", 0) + 1
        try:
            module = backend.module()
            module.install()
        finally:
            _activating.depth -= 1


def activate_all():
    """Install every backend whose compiler is imported, and arm the others
    (installed but not imported yet) to install when it is."""
    with _lock:
        for backend in BACKENDS:
            if backend.compiler in _armed or not backend.installed():
                continue
            if backend.trigger in sys.modules:
                _install(backend)
                continue

            def on_import(backend=backend):
                _install(backend)

            _armed[backend.compiler] = on_import
            _autoload.watch(backend.trigger, on_import)


def deactivate_all():
    """Uninstall every backend and disarm the rest; True if any was installed."""
    with _lock:
        for backend in BACKENDS:
            callback = _armed.pop(backend.compiler, None)
            if callback is not None:
                _autoload.unwatch(backend.trigger, callback)
        removed = False
        for module in installed_modules():
            removed = module.uninstall() or removed
        return removed


def import_installed_compilers():
    """Import the trigger module of every installed compiler (which installs
    its backend while the package is active); {compiler: error} for those
    that failed to import."""
    failed = {}
    for backend in BACKENDS:
        if backend.installed():
            try:
                importlib.import_module(backend.trigger)
            except Exception as exc:  # a broken or GPU-less environment
                failed[backend.compiler] = exc
    return failed


def installed_modules():
    """The backend modules that are installed now."""
    found = []
    for backend in BACKENDS:
        module = sys.modules.get(backend.package)
        if module is not None and module.is_installed():
            found.append(module)
    return found


def armed_compilers():
    """Compilers whose backend installs as soon as they are imported."""
    with _lock:
        return sorted(_armed)


def backend_for(kernel):
    """The installed backend module that owns *kernel*."""
    for module in installed_modules():
        if module.owns(kernel):
            return module
    for backend in BACKENDS:
        module = sys.modules.get(backend.package)
        if module is not None and module.owns(kernel):
            raise RuntimeError(
                f"numba-cuda-lcs is not active for {backend.compiler} "
                "(NUMBA_CUDA_LCS_DISABLE is set or deactivate() was called); "
                "call numba_cuda_lcs.activate() first"
            )
    raise TypeError(
        f"expected a kernel of a supported compiler (@cuda.jit of numba-cuda "
        f"or numba-cuda-mlir), got {kernel!r}"
    )


__all__ = [
    "BACKENDS",
    "Backend",
    "UnsupportedCompilerError",
    "activate_all",
    "deactivate_all",
    "installed_modules",
    "armed_compilers",
    "backend_for",
    "activating",
]
