"""Which backends are installed now (compiler-neutral).

The activation layer (:mod:`numba_cuda_lcs.activation`) adds a backend here
after installing it and removes it after uninstalling it; the public API
(:mod:`numba_cuda_lcs.inspection`, :mod:`numba_cuda_lcs.launchconfig`) asks
here which backend owns a kernel.  So core modules never import a backend,
the activation layer or the start-up hook.  A backend is any module
satisfying :class:`numba_cuda_lcs.contract.Backend`.
"""

import threading
from typing import Any

_lock = threading.Lock()
_installed: tuple[Any, ...] = ()  # installed now, in install order (read without the lock)
_known: tuple[Any, ...] = ()  # every backend ever installed in this process


def add(backend: Any) -> None:
    """Record that *backend* is installed."""
    global _installed, _known
    with _lock:
        if backend not in _installed:
            _installed = (*_installed, backend)
        if backend not in _known:
            _known = (*_known, backend)


def remove(backend: Any) -> None:
    """Record that *backend* is no longer installed."""
    global _installed
    with _lock:
        _installed = tuple(b for b in _installed if b is not backend)


def installed() -> tuple[Any, ...]:
    """The backends installed now."""
    return _installed


def backend_for(kernel: Any) -> Any:
    """The installed backend that owns *kernel*."""
    for backend in _installed:
        if backend.owns(kernel):
            return backend
    for backend in _known:
        if backend.owns(kernel):
            raise RuntimeError(
                f"numba-cuda-lcs is not active for {backend.COMPILER} "
                "(NUMBA_CUDA_LCS_DISABLE is set or deactivate() was called); "
                "call numba_cuda_lcs.activate() first"
            )
    raise TypeError(
        f"expected a kernel of a supported compiler (@cuda.jit of numba-cuda "
        f"or numba-cuda-mlir), got {kernel!r}"
    )
