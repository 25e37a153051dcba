"""How many live specializations a kernel may have (compiler-neutral).

Each backend asks :func:`max_specializations` with the values it knows (a jit
option where its compiler accepts one, the per-kernel API value); the
environment variable and the default are the same for every compiler.
"""

import os

MAX_SPECIALIZATIONS_ENV = "NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS"
DEFAULT_MAX_SPECIALIZATIONS = 32


def check(value, source):
    """*value* if it is a positive int, else ValueError naming *source*."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{source} must be a positive int (live specializations per kernel), got {value!r}"
        )
    return value


def max_specializations(jit_option=None, per_kernel=None):
    """The jit option (``lcs_max_specializations``), else the per-kernel API
    value, else ``NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS``, else 32."""
    if jit_option is not None:
        return check(jit_option, "lcs_max_specializations")
    if per_kernel is not None:
        return per_kernel
    env = os.environ.get(MAX_SPECIALIZATIONS_ENV, "").strip()
    if env:
        try:
            return check(int(env), MAX_SPECIALIZATIONS_ENV)
        except ValueError:
            raise ValueError(
                f"{MAX_SPECIALIZATIONS_ENV} must be a positive int, got {env!r}"
            ) from None
    return DEFAULT_MAX_SPECIALIZATIONS
