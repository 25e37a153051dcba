"""Reading the launch configuration while a kernel launch compiles.

Code that runs during compilation (rewrites, typing, lowering) calls
:func:`current_launch_config` or :func:`ensure_current_launch_config` and gets
the configured launch that triggered the compilation -- the object
``kernel[grid, block]`` returned -- or None when no launch is compiling on
this thread.  While the package is active, numba-cuda's own
``numba.cuda.launchconfig`` functions return the same object.
"""

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from . import marks, registry, tls
from .errors import LaunchConfigUnavailableError
from .marking import CompileOnlyLaunchConfig

__all__ = [
    "current_launch_config",
    "ensure_current_launch_config",
    "capture_compile_config",
    "compiling_for",
    "LaunchConfigUnavailableError",
]

MISSING_CONFIG_HINT = (
    "is only valid while a kernel launch is compiling: call it from a "
    "rewrite, typing or lowering hook that runs during kernel[grid, block](...). "
    "Eager compilations (explicit signatures, dispatcher.compile(), "
    "numba.cuda.compile_ptx) have no launch configuration; launch the kernel "
    "instead, or wrap a compile-only call in "
    "numba_cuda_lcs.launchconfig.compiling_for(griddim, blockdim)"
)


def current_launch_config() -> Any:
    """Return the configured launch being compiled for on this thread, or
    None when no launch-triggered compilation is in progress."""
    return marks.current_config()


def ensure_current_launch_config() -> Any:
    """Return the configured launch being compiled for, or raise
    :class:`LaunchConfigUnavailableError` (a ``RuntimeError``) when none is."""
    config = current_launch_config()
    if config is None:
        raise LaunchConfigUnavailableError(
            "No launch config set for this thread: "
            "ensure_current_launch_config() " + (inactive_hint() or MISSING_CONFIG_HINT)
        )
    return config


def inactive_hint() -> str | None:
    """Why no configuration can be published while the package is inactive
    (None while it is active for some compiler)."""
    if registry.installed():
        return None
    return (
        "cannot see it: numba-cuda-lcs is not active (deactivate() was called, "
        "NUMBA_CUDA_LCS_DISABLE is set, or no supported compiler is imported), "
        "so kernel launches do not publish their configuration. Call "
        "numba_cuda_lcs.activate()"
    )


# capture_compile_config() observers: (dispatcher, record) pairs.  Backends
# call notify_compile() only while this list is non-empty.
observers: list[tuple[object, dict[str, Any]]] = []
_observers_lock = threading.Lock()


@contextlib.contextmanager
def capture_compile_config(dispatcher: Any) -> Iterator[dict[str, Any]]:
    """Capture the launch configuration seen by a compilation of *dispatcher*
    that a launch inside the ``with`` block triggers.

    Yields a dict whose ``"config"`` is that configuration, or None when
    nothing compiled (for example because the kernel was already compiled for
    that configuration).  Compilations of the per-configuration
    specializations of *dispatcher* count too.
    """
    if dispatcher is None:
        raise TypeError("capture_compile_config() requires a dispatcher")
    record: dict[str, Any] = {"config": None}
    entry = (dispatcher, record)
    with _observers_lock:
        observers.append(entry)
    try:
        yield record
    finally:
        with _observers_lock:
            observers.remove(entry)


def notify_compile(dispatcher: object, config: object) -> None:
    """Record *config* for the observers of *dispatcher* (called by backends)."""
    with _observers_lock:
        entries = list(observers)
    for observed, record in entries:
        if observed is dispatcher:
            record["config"] = config


@contextlib.contextmanager
def compile_frame(kernel: Any, config: Any, extra_marks: int = 0) -> Iterator[None]:
    """The frame of one compilation of *kernel* (a backend's kernel or one
    of its specializations' root) for the configured launch *config* (None:
    no launch is in progress -- launch constants and marks then fail with
    :class:`LaunchConfigUnavailableError`).

    While it is open, every hook the compile runs sees *config* through
    :func:`current_launch_config`, and marks land on this compilation only
    (``tls.compile_marks()`` reads them).  Opening it moves the marks made for
    *config* before the compile (``marks.apply_early_marks``), adds
    *extra_marks* (fields a backend setting makes the kernel depend on, such
    as launch bounds from the block), and tells
    :func:`capture_compile_config` observers.  Both backends open their
    kernel compiles through this.
    """
    token = tls.begin_compile(config)
    try:
        if config is not None:
            marks.apply_early_marks(config)
            if extra_marks:
                tls.add_marks(extra_marks)
            if observers:
                notify_compile(kernel, config)
        yield
    finally:
        tls.end_compile(token)


@contextlib.contextmanager
def compiling_for(
    griddim: Any, blockdim: Any, sharedmem: int = 0
) -> Iterator[CompileOnlyLaunchConfig]:
    """Publish a launch configuration for compilations that no launch
    triggers, such as ``numba.cuda.compile_ptx`` (which needs no GPU).

    Yields a :class:`~numba_cuda_lcs.marking.CompileOnlyLaunchConfig`;
    hooks running inside the block see it through
    :func:`current_launch_config` and may mark it.  After the block,
    ``config.marked_fields`` holds the fields that were marked.
    """
    config = CompileOnlyLaunchConfig(griddim, blockdim, sharedmem)
    token = tls.begin_compile(config)
    try:
        yield config
        config.marked_fields = config.get_kernel_launch_config_fields()
    finally:
        tls.end_compile(token)
