"""Small readers of array values that the twin's marshalling rules
(``launcher.py``) and its launch sites' array readers (``sites.py``) share
(twin of ``_launcher_c/array_values.h``): a Python int as cuda.core stores
it, a tuple of them, and strides derived from a shape."""

_MAX = (1 << 63) - 1


class Decline(Exception):
    """A fast rule does not apply: use the argument's fallback."""


def ssize(x):
    """A Python int as cuda.core stores it (intptr_t), or decline."""
    if not isinstance(x, int) or not -_MAX - 1 <= x <= _MAX:
        raise Decline
    return x


def int_tuple(t, ndim):
    """A tuple of *ndim* such ints, or decline."""
    if type(t) is not tuple or len(t) != ndim:
        raise Decline
    return tuple(ssize(x) for x in t)


def strides_from_shape(shape, itemsize, c, f):
    """numba-cuda 0.30.4 numpy_support.strides_from_shape, rule for rule."""
    n = len(shape)
    if n == 0:
        return ()
    if not (c or f):
        raise Decline
    out = [itemsize] * n
    if c and not f:
        for i in range(n - 2, -1, -1):
            out[i] = out[i + 1] * shape[i + 1]
    else:
        for i in range(1, n):
            out[i] = out[i - 1] * shape[n - 1 - i if c else i - 1]
    return tuple(out)
