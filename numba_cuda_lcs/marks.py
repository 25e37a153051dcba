"""Marks: the launch-config fields the compilation in progress depends on.

A compilation is *marked* by hooks (``mark_kernel_as_launch_config_sensitive``),
by launch constants in kernel code, or by the built-in marking API.  Marks
live in the compile frame of the thread-local state (:mod:`numba_cuda_lcs.tls`),
never on the configuration object: the same configured launch is shared by
every thread launching with it.

A compiler may publish the configuration of a launch-triggered compilation a
little before our compile frame opens (numba-cuda does, in its own TLS, around
``_compile_for_args``).  Backends register a reader for it, and marks made in
that window are kept here and handed to the frame that opens next for the same
configuration on this thread.
"""

import threading
from collections.abc import Callable
from typing import Any

from . import tls
from .errors import LaunchConfigUnavailableError

# Functions returning the configuration a compiler published for the launch
# compiling on this thread (or None); registered by backends while installed.
_builtin_readers: list[Callable[[], Any]] = []


def add_builtin_reader(reader: Callable[[], Any]) -> None:
    if reader not in _builtin_readers:
        _builtin_readers.append(reader)


def remove_builtin_reader(reader: Callable[[], Any]) -> None:
    if reader in _builtin_readers:
        _builtin_readers.remove(reader)


def builtin_config() -> Any:
    """The configuration a compiler published on this thread, or None."""
    for reader in list(_builtin_readers):
        config = reader()
        if config is not None:
            return config
    return None


def current_config() -> Any:
    """The configuration being compiled for on this thread, or None."""
    config = tls.current_config()
    if config is None and not tls.in_compile():
        config = builtin_config()
    return config


class _EarlyMarks(threading.local):
    config: Any = None
    mask: int = 0


_early = _EarlyMarks()


def mark(config: object, mask: int, what: str) -> None:
    """Add *mask* to the marks of the compilation in progress for *config*;
    *what* names the caller for the error raised when none is."""
    if tls.current_config() is config:
        tls.add_marks(mask)
        return
    if not tls.in_compile() and builtin_config() is config:
        if _early.config is config:
            _early.mask |= mask
        else:
            _early.config, _early.mask = config, mask
        return
    raise LaunchConfigUnavailableError(
        f"No launch config set for this thread: {what}() is only valid while "
        "a kernel launch with this configuration is compiling (call it from a "
        "rewrite, typing or lowering hook that runs during kernel[grid, block](...))"
    )


def early_marks(config: object) -> int:
    """Marks recorded for *config* before its compile frame opened (0: none)."""
    return _early.mask if _early.config is config else 0


def apply_early_marks(config: object) -> None:
    """Move the early marks for *config* into the compile frame just opened."""
    if _early.config is config:
        tls.add_marks(_early.mask)
        _early.config, _early.mask = None, 0
