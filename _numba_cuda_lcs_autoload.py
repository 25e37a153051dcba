"""numba-cuda-lcs activation without an import: loaded at interpreter
start-up by the ``numba_cuda_lcs-autoload.pth`` file the wheel installs.

A top-level module (like numba-cuda's own ``_numba_cuda_redirector``) so that
start-up imports neither ``numba_cuda_lcs`` nor numba.

numba-cuda 0.30 runs its ``numba_cuda_extensions`` ``init`` entry points only
from ``_DispatcherBase._compile_for_args``, which ``CUDADispatcher`` overrides,
so a plain ``@cuda.jit`` program never reaches our entry point.  This module
installs a tiny import hook instead: when ``numba.cuda.dispatcher`` finishes
importing, numba-cuda-lcs is activated.  Nothing is imported at start-up
beyond this module, and ``NUMBA_CUDA_LCS_DISABLE=1`` turns the hook off.
"""

import importlib.abc
import os
import sys

_TARGET = "numba.cuda.dispatcher"


def _activate_after_import():
    if "numba_cuda_lcs._integration" in sys.modules:
        # numba_cuda_lcs itself is importing numba-cuda (an explicit import
        # or activate() is in progress): that activation completes the job.
        return
    try:
        imported = "numba_cuda_lcs" in sys.modules
        import numba_cuda_lcs  # importing activates (or records why not)

        if imported:
            numba_cuda_lcs.activate()
    except Exception as exc:  # never break "import numba.cuda"
        import warnings

        warnings.warn(f"numba-cuda-lcs was not activated: {exc}", RuntimeWarning, stacklevel=2)


class _LoaderWrapper(importlib.abc.Loader):
    def __init__(self, loader):
        self._loader = loader

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        self._loader.exec_module(module)
        _activate_after_import()

    def __getattr__(self, name):
        return getattr(self._loader, name)


class _ActivationFinder(importlib.abc.MetaPathFinder):
    def __init__(self):
        self._busy = False

    def find_spec(self, name, path, target=None):
        if name != _TARGET or self._busy:
            return None
        self._busy = True
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
            self._busy = False
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _LoaderWrapper(spec.loader)
        sys.meta_path.remove(self)  # one activation per process is enough
        return spec


def install_hook():
    """Install the import hook (idempotent); returns True if installed."""
    # The values numba_cuda_lcs.DISABLE_TRUE lists; an unrecognised value
    # leaves the hook on and numba_cuda_lcs warns about it.
    if os.environ.get("NUMBA_CUDA_LCS_DISABLE", "").strip().lower() in ("1", "true", "yes", "on"):
        return False
    if _TARGET in sys.modules:
        _activate_after_import()
        return True
    if any(isinstance(f, _ActivationFinder) for f in sys.meta_path):
        return True
    sys.meta_path.insert(0, _ActivationFinder())
    return True
