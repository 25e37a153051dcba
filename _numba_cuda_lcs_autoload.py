"""numba-cuda-lcs activation without an import: loaded at interpreter
start-up by the ``numba_cuda_lcs-autoload.pth`` file the wheel installs.

A top-level module (like numba-cuda's own ``_numba_cuda_redirector``) so that
start-up imports neither ``numba_cuda_lcs`` nor a compiler, and a *leaf*: it
imports nothing of the package.  Callbacks are named by strings
(``"module:function"``, as wrapt's post-import hooks are), resolved only when
they fire, so the package depends on this module and never the reverse.

numba-cuda 0.30 runs its ``numba_cuda_extensions`` ``init`` entry points only
from ``_DispatcherBase._compile_for_args``, which ``CUDADispatcher`` overrides,
so a plain ``@cuda.jit`` program never reaches our entry point.  This module
installs a tiny import hook instead: when a compiler's trigger module
finishes importing, numba-cuda-lcs is activated for it.
``NUMBA_CUDA_LCS_DISABLE=1`` turns the hook off.  :func:`watch` is also how an
active numba-cuda-lcs learns that a compiler (or CuPy) was imported after it.

The facts both sides need are stated here once: :data:`TRIGGERS` and the
values of ``NUMBA_CUDA_LCS_DISABLE``.
"""

import importlib
import importlib.abc
import os
import sys
import threading
from collections.abc import Callable

#: The module of each supported compiler whose import activates the package
#: (numba_cuda_lcs.activation builds its backend table from this).
TRIGGERS = {
    "numba-cuda": "numba.cuda.dispatcher",
    "numba-cuda-mlir": "numba_cuda_mlir.descriptor",
}

DISABLE_ENV = "NUMBA_CUDA_LCS_DISABLE"
#: Values of ``NUMBA_CUDA_LCS_DISABLE`` (case-insensitive) that disable the package.
DISABLE_TRUE = ("1", "true", "yes", "on")
#: Values that leave it enabled (unset is the same as empty); any other value
#: leaves it enabled too, and numba_cuda_lcs warns about it.
DISABLE_FALSE = ("", "0", "false", "no", "off")

#: What a trigger import runs: the package activates itself.
ACTIVATE = "numba_cuda_lcs.activation:activate_on_trigger_import"

_callbacks: dict = {}  # module name -> callbacks to run once it has been imported
_lock = threading.RLock()


def disabled() -> bool:
    """Whether ``NUMBA_CUDA_LCS_DISABLE`` holds one of :data:`DISABLE_TRUE`."""
    return os.environ.get(DISABLE_ENV, "").strip().lower() in DISABLE_TRUE


def _resolve(callback):
    """A callable, or a ``"module:function"`` string imported now."""
    if not isinstance(callback, str):
        return callback
    module_name, _, attribute = callback.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _run_callbacks(name):
    with _lock:
        callbacks = _callbacks.pop(name, [])
        if not _callbacks:
            _remove_finder()
    for callback in callbacks:
        try:
            _resolve(callback)()
        except Exception as exc:  # never break the compiler's import
            import warnings

            warnings.warn(f"numba-cuda-lcs was not activated: {exc}", RuntimeWarning, stacklevel=2)


class _LoaderWrapper(importlib.abc.Loader):
    def __init__(self, loader, name):
        self._loader = loader
        self._name = name

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _run_callbacks(self._name)

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _ImportWatcher(importlib.abc.MetaPathFinder):
    def __init__(self):
        self._busy = threading.local()

    def find_spec(self, name, path, target=None):
        if name not in _callbacks or getattr(self._busy, "value", False):
            return None
        self._busy.value = True
        try:
            for finder in sys.meta_path:
                if finder is self or not hasattr(finder, "find_spec"):
                    continue
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
            else:
                return None
        finally:
            self._busy.value = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LoaderWrapper(spec.loader, name)
        return spec


_finder = _ImportWatcher()


def _remove_finder():
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)


def watch(module_name: str, callback: Callable[[], object] | str) -> None:
    """Run *callback* (a callable or a ``"module:function"`` string) once
    *module_name* has been imported: now if it already is, else right after
    its import completes."""
    if module_name in sys.modules:
        _resolve(callback)()
        return
    with _lock:
        _callbacks.setdefault(module_name, []).append(callback)
        if _finder not in sys.meta_path:
            sys.meta_path.insert(0, _finder)


def unwatch(module_name: str, callback: Callable[[], object] | str) -> None:
    """Forget a :func:`watch` that has not fired yet."""
    with _lock:
        callbacks = _callbacks.get(module_name, [])
        if callback in callbacks:
            callbacks.remove(callback)
        if not callbacks:
            _callbacks.pop(module_name, None)
        if not _callbacks:
            _remove_finder()


def install_hook():
    """Activate numba-cuda-lcs when a supported compiler is imported
    (idempotent); returns True if the hook is in place."""
    if disabled():
        return False
    for name in TRIGGERS.values():
        with _lock:
            armed = ACTIVATE in _callbacks.get(name, ())
        if not armed:
            watch(name, ACTIVATE)
    return True
