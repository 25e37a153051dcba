"""Exceptions raised by numba-cuda-lcs."""


class LaunchConfigUnavailableError(RuntimeError):
    """The launch configuration was asked for while no kernel launch is
    compiling on this thread.

    It subclasses :class:`RuntimeError`, the type numba-cuda's built-in
    ``ensure_current_launch_config()`` raises, and its message starts with the
    same words ("No launch config set"), so code that handles the built-in
    error keeps working.
    """


class UnsupportedNumbaCudaError(ImportError):
    """The installed numba-cuda is a version this package does not patch."""


class LaunchConfigSpecializationError(RuntimeError):
    """Routing could not find or compile a kernel for a launch configuration.

    Never expected; raised instead of launching a kernel compiled for another
    configuration.
    """


class UnsupportedCompilerError(UnsupportedNumbaCudaError):
    """The installed compiler (numba-cuda or numba-cuda-mlir) is a version
    this package does not support.  A subclass of
    :class:`UnsupportedNumbaCudaError`, the name earlier versions raised."""


class LaunchConstantUsageError(TypeError):
    """A ``numba_cuda_lcs.launch`` accessor is misused in kernel code (used
    without parentheses, or called with arguments); the message names the fix."""


class WarmError(ValueError):
    """``numba_cuda_lcs.warm`` cannot do what it was asked (a kernel or
    module not found, a signature or configuration it cannot use, a compiler
    that cannot compile here); the message names the fix.  Nothing was
    written to the cache."""
