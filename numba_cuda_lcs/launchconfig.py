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

from .configuration import CompileOnlyLaunchConfig
from .errors import LaunchConfigUnavailableError
from .tls import impl as _tls

__all__ = [
    "current_launch_config",
    "ensure_current_launch_config",
    "capture_compile_config",
    "compiling_for",
    "LaunchConfigUnavailableError",
]

_current_config = _tls.current_config
_in_compile = _tls.in_compile

# Set by the integration while it is installed: reads the configuration that
# numba-cuda's own dispatcher publishes around a launch-triggered compile, for
# the short window before our compile frame opens (for example inside a
# ``_compile_for_args`` wrapper, as numba-cuda's tests use).
_builtin_reader = None

MISSING_CONFIG_HINT = (
    "is only valid while a kernel launch is compiling: call it from a "
    "rewrite, typing or lowering hook that runs during kernel[grid, block](...). "
    "Eager compilations (explicit signatures, dispatcher.compile(), "
    "numba.cuda.compile_ptx) have no launch configuration; launch the kernel "
    "instead, or wrap a compile-only call in "
    "numba_cuda_lcs.launchconfig.compiling_for(griddim, blockdim)"
)


def current_launch_config():
    """Return the configured launch being compiled for on this thread, or
    None when no launch-triggered compilation is in progress."""
    config = _current_config()
    if config is None and not _in_compile():
        reader = _builtin_reader
        if reader is not None:
            config = reader()
    return config


def ensure_current_launch_config():
    """Return the configured launch being compiled for, or raise
    :class:`LaunchConfigUnavailableError` (a ``RuntimeError``) when none is."""
    config = current_launch_config()
    if config is None:
        raise LaunchConfigUnavailableError(
            "No launch config set for this thread: "
            "ensure_current_launch_config() " + MISSING_CONFIG_HINT
        )
    return config


# Marks made in the short window between numba-cuda publishing the launch and
# our compile frame opening (a ``_compile_for_args`` wrapper, as numba-cuda's
# own tests use) are kept here and handed to the compile frame that opens
# next for the same configuration on this thread.
_early = threading.local()


def mark(config, mask, what):
    """Add *mask* to the marks of the compilation in progress for *config*."""
    if _current_config() is config:
        _tls.add_marks(mask)
        return
    reader = _builtin_reader
    if not _in_compile() and reader is not None and reader() is config:
        if getattr(_early, "config", None) is config:
            _early.mask |= mask
        else:
            _early.config, _early.mask = config, mask
        return
    raise LaunchConfigUnavailableError(
        f"No launch config set for this thread: {what}() is only valid while "
        "a kernel launch with this configuration is compiling (call it from a "
        "rewrite, typing or lowering hook that runs during kernel[grid, block](...))"
    )


def early_marks(config):
    """Marks recorded for *config* before its compile frame opened (0: none)."""
    return _early.mask if getattr(_early, "config", None) is config else 0


def apply_early_marks(config):
    if getattr(_early, "config", None) is config:
        _tls.add_marks(_early.mask)
        _early.config = None
        _early.mask = 0


# capture_compile_config() observers: (dispatcher, record) pairs.  The
# integration calls _notify_compile() only while this list is non-empty.
_observers: list[tuple[object, dict]] = []
_observers_lock = threading.Lock()


@contextlib.contextmanager
def capture_compile_config(dispatcher):
    """Capture the launch configuration seen by a compilation of *dispatcher*
    that a launch inside the ``with`` block triggers.

    Yields a dict whose ``"config"`` is that configuration, or None when
    nothing compiled (for example because the kernel was already compiled for
    that configuration).  Compilations of the per-configuration
    specializations of *dispatcher* count too.
    """
    if dispatcher is None:
        raise TypeError("capture_compile_config() requires a dispatcher")
    record = {"config": None}
    entry = (dispatcher, record)
    with _observers_lock:
        _observers.append(entry)
    try:
        yield record
    finally:
        with _observers_lock:
            _observers.remove(entry)


def _notify_compile(dispatcher, config):
    with _observers_lock:
        entries = list(_observers)
    for observed, record in entries:
        if observed is dispatcher:
            record["config"] = config


@contextlib.contextmanager
def compiling_for(griddim, blockdim, sharedmem=0):
    """Publish a launch configuration for compilations that no launch
    triggers, such as ``numba.cuda.compile_ptx`` (which needs no GPU).

    Yields a :class:`~numba_cuda_lcs.configuration.CompileOnlyLaunchConfig`;
    hooks running inside the block see it through
    :func:`current_launch_config` and may mark it.  After the block,
    ``config.marked_fields`` holds the fields that were marked.
    """
    config = CompileOnlyLaunchConfig(griddim, blockdim, sharedmem)
    token = _tls.begin_compile(config)
    try:
        yield config
        config.marked_fields = config.get_kernel_launch_config_fields()
    finally:
        _tls.end_compile(token)
