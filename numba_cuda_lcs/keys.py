"""Launch-configuration fields, field masks and specialization keys.

A kernel can be sensitive to any subset of the three launch-configuration
fields.  The subset is kept as a bitmask; the key of a launch for a mask holds
the mask and the values of exactly those fields, so a kernel sensitive only to
the block size shares one key across every grid size.

Pure logic: nothing here touches numba-cuda.
"""

import operator
from collections.abc import Iterable
from typing import Any

#: A specialization key: ``(mask, value of each field in mask, ...)``.
Key = tuple[Any, ...]

GRIDDIM = 1
BLOCKDIM = 2
SHAREDMEM = 4
ALL_FIELDS = GRIDDIM | BLOCKDIM | SHAREDMEM

#: The valid field names, in key order.
FIELD_NAMES = ("griddim", "blockdim", "sharedmem")
_FIELD_BITS = {"griddim": GRIDDIM, "blockdim": BLOCKDIM, "sharedmem": SHAREDMEM}


def fields_to_mask(fields: str | Iterable[str] | None = None) -> int:
    """Return the bitmask for *fields*.

    ``None`` means all three fields.  A single name or an iterable of names is
    accepted; unknown names raise :class:`ValueError` listing the valid ones.
    """
    if fields is None:
        return ALL_FIELDS
    if isinstance(fields, str):
        fields = (fields,)
    try:
        names = tuple(fields)
    except TypeError:
        raise TypeError(
            "fields must be None, a field name or an iterable of field names "
            f"from {', '.join(map(repr, FIELD_NAMES))}; got {fields!r}"
        ) from None
    mask = 0
    for name in names:
        bit = _FIELD_BITS.get(name) if isinstance(name, str) else None
        if bit is None:
            raise ValueError(
                f"invalid launch-config field {name!r}; valid fields are "
                f"{', '.join(map(repr, FIELD_NAMES))}"
            )
        mask |= bit
    if not mask:
        raise ValueError(
            "fields must name at least one of "
            f"{', '.join(map(repr, FIELD_NAMES))} (pass None for all three)"
        )
    return mask


def mask_to_fields(mask: int) -> tuple[str, ...]:
    """Return the field names in *mask*, in key order."""
    return tuple(name for name in FIELD_NAMES if mask & _FIELD_BITS[name])


def launch_keys(
    griddim: tuple[int, int, int], blockdim: tuple[int, int, int], sharedmem: int
) -> tuple[Key, ...]:
    """Return the specialization key of a launch for every mask.

    ``launch_keys(...)[mask]`` is ``(mask, <values of the fields in mask>)``.
    Computing all eight once per configured launch makes the per-launch key
    lookup a tuple index.
    """
    values = (griddim, blockdim, sharedmem)
    bits = (GRIDDIM, BLOCKDIM, SHAREDMEM)
    return tuple(
        (mask,) + tuple(v for v, b in zip(values, bits, strict=True) if mask & b)
        for mask in range(ALL_FIELDS + 1)
    )


# A key is a plain tuple, ``(mask, value, ...)``: hashed and compared on
# every LC-S launch, so it stays a tuple; these helpers name its parts.


def key_mask(key: Key) -> int:
    """The fields a key holds, as a mask."""
    mask: int = key[0]
    return mask


def key_values(key: Key) -> dict[str, Any]:
    """``{field name: value}`` of a key."""
    return dict(zip(mask_to_fields(key[0]), key[1:], strict=True))


def is_key(obj: object) -> bool:
    """Whether *obj* is one of our keys (numba-cuda's own launch-config keys
    are ``(griddim, blockdim, sharedmem)`` tuples of tuples)."""
    return isinstance(obj, tuple) and bool(obj) and type(obj[0]) is int


def project(key: Key, mask: int) -> Key | None:
    """The key for *mask* of the launch that has *key*, or None when *key*
    does not hold every field of *mask*."""
    if mask & ~key_mask(key):
        return None
    values = key_values(key)
    return (mask,) + tuple(values[name] for name in mask_to_fields(mask))


#: Per-dimension limits every CUDA device shares (compute capability 5.0 and
#: later): launching beyond them fails on any GPU.
MAX_BLOCK_DIM = (1024, 1024, 64)
MAX_THREADS_PER_BLOCK = 1024
MAX_GRID_DIM = (2**31 - 1, 65535, 65535)
#: The most dynamic shared memory any CUDA device gives one block (227 KiB,
#: opt-in, compute capability 9.0 and 10.0).
MAX_SHAREDMEM = 227 * 1024

_AXES = ("x", "y", "z")


def _as_int(value: Any) -> int | None:
    """*value* as a plain int if it is an integer (numpy integers included,
    bool excluded), else None."""
    if isinstance(value, bool):
        return None
    try:
        return operator.index(value)
    except TypeError:
        return None


def normalize_dim(dim: Any, name: str) -> tuple[int, int, int]:
    """``64`` -> ``(64, 1, 1)``; a sequence of 1-3 positive ints -> 3-tuple.

    Integers of any kind (numpy's included) are accepted and returned as
    plain ints.  A dimension no CUDA device can launch (see
    :data:`MAX_BLOCK_DIM`, :data:`MAX_THREADS_PER_BLOCK`,
    :data:`MAX_GRID_DIM`) raises :class:`ValueError` naming the limit.

    Used for compile-only configurations; launches keep numba-cuda's own
    validation so that bad launches fail exactly as they always did.
    """
    raw = list(dim) if isinstance(dim, (tuple, list)) else [dim]
    values: list[Any] = [_as_int(v) for v in raw]
    if not 1 <= len(values) <= 3 or not all(v is not None and v > 0 for v in values):
        raise ValueError(
            f"{name} must be a positive int or a sequence of 1 to 3 positive ints, got {dim!r}"
        )
    result = tuple(values + [1] * (3 - len(values)))
    limits = MAX_BLOCK_DIM if name == "blockdim" else MAX_GRID_DIM
    for axis, value, limit in zip(_AXES, result, limits, strict=True):
        if value > limit:
            raise ValueError(
                f"{name} {axis} = {value} is more than any CUDA device launches: "
                f"the limit for {name} {axis} is {limit}"
            )
    if name == "blockdim":
        threads = result[0] * result[1] * result[2]
        if threads > MAX_THREADS_PER_BLOCK:
            raise ValueError(
                f"blockdim {result} has {threads} threads per block; no CUDA device "
                f"launches more than {MAX_THREADS_PER_BLOCK} threads per block"
            )
    return result


def normalize_sharedmem(sharedmem: Any) -> int:
    """Dynamic shared memory in bytes as a plain int; raises
    :class:`ValueError` unless 0 <= *sharedmem* <= :data:`MAX_SHAREDMEM`."""
    value = _as_int(sharedmem)
    if value is None or value < 0:
        raise ValueError(f"sharedmem must be a non-negative int, got {sharedmem!r}")
    if value > MAX_SHAREDMEM:
        raise ValueError(
            f"sharedmem = {value} bytes is more dynamic shared memory than any CUDA "
            f"device gives a block: the limit is {MAX_SHAREDMEM} bytes (227 KiB)"
        )
    return value


def describe_key(key: Key) -> str:
    """Human-readable form of a key: ``"blockdim=(64, 1, 1)"``."""
    parts = [f"{name}={value!r}" for name, value in key_values(key).items()]
    return ", ".join(parts) if parts else "(no fields)"
