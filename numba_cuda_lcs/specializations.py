"""A kernel's specializations: how many may live, which go first, and how
often a launch may route again (compiler-neutral; both backends use this).

**The limit rule.**  A kernel keeps at most :func:`max_specializations`
dispatchers holding code compiled for a launch key.  The kernel itself counts
when it holds such code: numba-cuda's kernel serves the configuration it
first compiled for (so it counts, and at most ``limit - 1`` children live);
numba-cuda-mlir's kernel only ever holds plain code (so all ``limit``
specializations are children).  Beyond the limit the least recently used
specialization is dropped (specializations no route reaches go first) and
compiled again when launched again; the first drop warns once, at the
user's launch, naming the ways to raise the limit.

**The routing bound.**  A launch routes again only when its kernel's fields
widened meanwhile (a compile marked more fields; at most one widening per
field) or a concurrent eviction or recompile took its specialization away;
:data:`MAX_ROUTING_ATTEMPTS` leaves room for the latter under contention.  A
launch that runs out of attempts raises
:class:`~numba_cuda_lcs.errors.LaunchConfigSpecializationError` rather than
run a kernel compiled for another configuration.
"""

import collections
import os

from . import keys as _keys
from . import user_warnings

MAX_SPECIALIZATIONS_ENV = "NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS"
DEFAULT_MAX_SPECIALIZATIONS = 32

#: Routing attempts per launch before it refuses (see the module docstring).
MAX_ROUTING_ATTEMPTS = 8


def check(value, source):
    """*value* if it is a positive int, else ValueError naming *source*."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(
            f"{source} must be a positive int (live specializations per kernel), got {value!r}"
        )
    return value


def max_specializations(jit_option=None, per_kernel=None):
    """The jit option (``lcs_max_specializations``, where the compiler takes
    one), else the per-kernel API value, else
    ``NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS``, else 32."""
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


def children_allowed(limit, kernel_holds_a_key):
    """How many child specializations may live under *limit* (the rule)."""
    return limit - 1 if kernel_holds_a_key else limit


def victims(in_eviction_order, live, allowed, keep):
    """The specializations to drop so that at most *allowed* of *live* stay:
    the first of *in_eviction_order* (least recently used first), never
    *keep* (the one just created)."""
    excess = live - allowed
    chosen = []
    for candidate in in_eviction_order:
        if excess <= 0:
            break
        if candidate is keep or any(candidate is c for c in chosen):
            continue
        chosen.append(candidate)
        excess -= 1
    return chosen


class Evictions:
    """What a kernel's evictions left behind: how many, the last keys (for
    the warning), and whether it warned."""

    __slots__ = ("count", "recent", "warned")

    def __init__(self):
        self.count = 0
        self.recent = collections.deque(maxlen=8)
        self.warned = False

    def record(self, key):
        self.count += 1
        self.recent.append(key)

    def warn_once(self, kernel_name, limit, ways_to_raise, category):
        """The one eviction warning of a kernel, at the user's launch."""
        if self.warned or not self.count:
            return
        self.warned = True
        recent = "; ".join(_keys.describe_key(k) for k in self.recent)
        user_warnings.warn(
            category(
                f"numba-cuda-lcs: kernel {kernel_name!r} is launched with more "
                f"launch configurations than its limit of {limit} live "
                f"specializations, so least recently used ones are dropped and "
                f"recompiled when launched again (evicted so far: {recent}). "
                f"Raise the limit with {', '.join(ways_to_raise)} or "
                f"{MAX_SPECIALIZATIONS_ENV}, or mark fewer fields."
            )
        )
