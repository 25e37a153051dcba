"""The twin's launcher (twin of ``_launcher_c/launcher.c``): the parameter
buffer, plans and :class:`Launcher`.

Same API and the same marshalling rules as the C part (each one follows what
numba-cuda 0.30.4's ``_Kernel._prepare_args`` hands to cuda.core's
``launch()``, stored as cuda.core's ``ParamHolder`` stores it); see
``_launcher_c/launcher.c`` for the reasoning, and for where a second
compiler's plan builder plugs in.  It launches through
``cuda.bindings.driver`` (``cuda_driver.py``) with a ``kernelParams`` array
built with ctypes (the C part hands the driver one buffer instead where the
function's parameter info allows it: the same bytes, one copy).
"""

import ctypes
import operator
import struct

try:
    import numpy as np
except ImportError:  # a bare install (no compiler extra): nothing can launch
    np = None  # type: ignore[assignment]

from . import cuda_driver
from .arg_kinds import (
    K_ARRAY,
    K_BOOL,
    K_C64,
    K_C128,
    K_F16,
    K_F32,
    K_F64,
    K_FALLBACK,
    K_INT,
    K_MEMREF,
    K_PTR,
    KINDS,
)
from .array_values import _MAX, Decline, int_tuple, ssize, strides_from_shape
from .state import STATE, cupy_interface_stream, cupy_learn_null_stream

#: Distinct streams one launch's array interfaces may name for synchronising
#: (as launcher.c); a launch naming more declines.
MAX_SYNCS = 8

_NP_SCALARS = (
    tuple(
        getattr(np, n)
        for n in "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 "
        "float16 float32 float64 complex64 complex128".split()
    )
    if np is not None
    else ()
)
_CT_SCALARS = tuple(
    getattr(ctypes, n)
    for n in "c_bool c_int8 c_int16 c_int32 c_int64 c_uint8 c_uint16 "
    "c_uint32 c_uint64 c_float c_double".split()
)
_SCALARS = _NP_SCALARS + _CT_SCALARS
_FIRST_KIND, _LAST_KIND = min(KINDS.values()), max(KINDS.values())


class _Buf:
    __slots__ = ("data", "offs", "first_array", "syncs", "cupy_stream", "interface_sync")

    def __init__(self):
        self.data = bytearray()
        self.offs = []
        self.first_array = None  # the first K_MEMREF argument's data pointer
        self.syncs = []  # streams synchronised before the launch (_pack_memref)
        # CuPy's current stream as its interface names it, read once per
        # launch for CuPy arrays a site read without their interface
        self.cupy_stream = 0
        # NUMBA_CUDA_ARRAY_INTERFACE_SYNC as numba-cuda-mlir reads it now,
        # read once per launch (_interface_sync_unchanged); None until read
        self.interface_sync = None

    def put(self, raw, size):
        align = 1
        while align < 8 and align * 2 <= size:
            align *= 2
        self.data += bytes(-len(self.data) % align)
        self.offs.append(len(self.data))
        self.data += raw[:size].ljust(size, b"\0")

    def i64(self, x):
        self.put(struct.pack("<q", x), 8)


def _value_bytes(v):
    """The storage cuda.core's ParamHolder gives one kernel argument."""
    if isinstance(v, int):  # bool too
        if not -_MAX - 1 <= v <= _MAX:
            raise OverflowError("Python int too large to convert to C ssize_t")
        return struct.pack("<q", v)
    if isinstance(v, float):
        return struct.pack("<d", v)
    if isinstance(v, complex):
        return struct.pack("<dd", v.real, v.imag)
    if isinstance(v, _SCALARS):
        return bytes(memoryview(v).cast("B"))
    raise TypeError(f"the argument is of unsupported type: {type(v)!r}")


def _same_stream(s, consumer):
    return isinstance(s, int) and s > 0 and (s == consumer or (s == 1 and consumer == 0))


def _smv_type():
    from cuda.core.utils import StridedMemoryView

    return StridedMemoryView


def _pack_array(spec, obj, consumer, buf):
    _, _, _, ndim, itemsize, typestr, cai_sync = spec
    if isinstance(obj, _smv_type()):
        raise Decline
    try:
        is_dev = bool(obj.__cuda_memory__)
    except Exception:
        is_dev = False
    c = f = True
    strides = None
    try:
        if is_dev:  # numba's own arrays: the shim _to_strided_memory_view returns
            shim = obj._strided_memory_view_shim
            ptr, size = ssize(shim.ptr), ssize(shim.size)
            if shim.dtype.itemsize != itemsize:
                raise Decline
            shape = int_tuple(shim.shape, ndim)
            layout = shim._layout
            sib = layout.strides_in_bytes
            if sib:
                strides = int_tuple(sib, ndim)
            else:
                c, f = bool(layout.is_contiguous_c), bool(layout.is_contiguous_f)
        else:
            if isinstance(obj, np.ndarray):
                raise Decline
            dl = hasattr(obj, "__dlpack__")
            cai = getattr(obj, "__cuda_array_interface__", None)
            if type(cai) is not dict:
                raise Decline
            s = cai.get("stream")
            if dl:
                if s is None or not _same_stream(s, consumer):
                    raise Decline
            elif s is not None and (cai_sync or not _same_stream(s, consumer)):
                raise Decline
            version = cai.get("version")
            data = cai.get("data")
            if (
                cai.get("mask") is not None
                or not isinstance(version, int)
                or version < 3
                or cai.get("typestr") != typestr
                or type(data) is not tuple
                or not data
            ):
                raise Decline
            ptr = ssize(data[0])
            shape = int_tuple(cai.get("shape"), ndim)
            size = 1
            for x in shape:
                size *= x
            st = cai.get("strides")
            if st is not None:
                strides = int_tuple(st, ndim) if ndim else None
            else:
                f = sum(x > 1 for x in shape) <= 1 or size == 0
    except Decline:
        raise
    except Exception:  # an attribute missing or odd: numba-cuda decides
        raise Decline from None
    if strides is None:
        strides = strides_from_shape(shape, itemsize, c, f)
    for x in (0, 0, size, itemsize, ptr) + shape + strides:
        buf.i64(x)


def _memref_is_own(obj):
    """Whether numba-cuda-mlir takes *obj* as its own device array, which it
    never synchronises a stream for (launcher.c: memref_is_own)."""
    own = STATE.memref_own_class
    return isinstance(obj, own) if own is not None else type(obj) in STATE.typed_classes


def _pack_memref(spec, obj, buf, cai=None):
    """A device array as numba-cuda-mlir 0.6.0 passes it (launcher.c's
    pack_memref): data, data, 0, shape, strides in elements; the stream an
    interface names is synchronised before the launch, as there.  *cai*:
    the interface dict, when already read."""
    _, _, _, ndim, itemsize, typestr, cai_sync = spec
    try:
        if cai is None:
            cai = obj.__cuda_array_interface__
        if type(cai) is not dict:
            raise Decline
        stream = cai.get("stream")
        sync = stream is not None and cai_sync and not _memref_is_own(obj)
        if STATE.cupy_class is not None and type(obj) is STATE.cupy_class:
            cupy_learn_null_stream(cai)  # for the sites' CuPy reader
        if sync and (
            not isinstance(stream, int)  # as PyLong_Check: bool too
            or (stream not in buf.syncs and len(buf.syncs) == MAX_SYNCS)
            or not 0 <= stream < 1 << 64
        ):
            raise Decline
        data = cai.get("data")
        if (
            cai.get("mask") is not None
            or cai.get("typestr") != typestr
            or type(data) is not tuple
            or not data
            or type(data[0]) is not int
        ):
            raise Decline
        ptr = ssize(data[0])
        shape = int_tuple(cai.get("shape"), ndim)
        st = cai.get("strides")
        if st is not None:
            # C division, as numba-cuda-mlir's launcher divides
            strides = tuple(
                -(-x // itemsize) if x < 0 else x // itemsize for x in int_tuple(st, ndim)
            )
        else:
            step, strides = 1, []
            for x in reversed(shape):
                strides.insert(0, step)
                step *= x
            strides = tuple(strides)
    except Decline:
        raise
    except Exception:
        raise Decline from None
    for x in (ptr, ptr, 0) + shape + strides:
        buf.i64(x)
    if buf.first_array is None:
        buf.first_array = ptr
    if sync and stream not in buf.syncs:
        buf.syncs.append(stream)  # numba-cuda-mlir synchronises it first


def _interface_sync_unchanged(spec, obj, buf):
    """Whether the launch may keep the NUMBA_CUDA_ARRAY_INTERFACE_SYNC plan
    entry *spec* was made with, for *obj*, an array that is not
    numba-cuda-mlir's own (launcher.c: interface_sync_unchanged):
    numba-cuda-mlir reads it at every launch, so a changed setting declines
    the launch and makes the sites forget what they remembered."""
    source = STATE.interface_sync_source
    if source is None or _memref_is_own(obj):
        return True
    if buf.interface_sync is None:
        try:
            buf.interface_sync = bool(source.CUDA_ARRAY_INTERFACE_SYNC)
        except Exception:  # unreadable: the compiler's path says why
            return False
    if buf.interface_sync == bool(spec[6]):
        return True
    STATE.generation += 1
    return False


def _sync_cupy_stream(buf):
    """Has CuPy's current stream (as its interface names it) synchronised
    before the launch, as numba-cuda-mlir synchronises the stream a CuPy
    array's interface names; False when CuPy's name for its default stream
    is not learnt yet (then the interface says it)."""
    if not buf.cupy_stream:
        buf.cupy_stream = cupy_interface_stream()
    stream = buf.cupy_stream
    if stream <= 0:
        return False
    if stream not in buf.syncs:
        if len(buf.syncs) == MAX_SYNCS:
            raise Decline
        buf.syncs.append(stream)
    return True


def _pack_scalar(spec, v, buf):
    kind, size = spec[0], spec[2][0] if spec[2] else 0
    if kind == K_INT:
        try:  # ctypes.c_<ty>(val): __index__, then masked
            x = operator.index(v)
        except Exception:
            raise Decline from None
        buf.put(struct.pack("<Q", x & 0xFFFFFFFFFFFFFFFF), size)
    elif kind in (K_BOOL, K_PTR):
        buf.put(struct.pack("<q", ssize(v)), size)
    elif kind == K_F16:
        if type(v) is not float:
            raise Decline
        buf.put(np.float16(v).tobytes(), 2)  # np.float16(val).view(np.uint16)
    elif kind in (K_F32, K_F64):
        try:
            buf.put(
                bytes((ctypes.c_float if kind == K_F32 else ctypes.c_double)(v)),
                4 if kind == K_F32 else 8,
            )
        except Exception:
            raise Decline from None
    elif kind in (K_C64, K_C128):
        if isinstance(v, complex):
            re, im = v.real, v.imag
        elif isinstance(v, float):
            re, im = float(v), 0.0
        else:
            raise Decline
        if kind == K_C128:
            buf.put(struct.pack("<d", re), 8)
            buf.put(struct.pack("<d", im), 8)
        else:
            buf.put(bytes(ctypes.c_float(re)), 4)
            buf.put(bytes(ctypes.c_float(im)), 4)
    else:
        raise Decline


class Launcher:
    """Launcher(function, grid, block, sharedmem, cooperative, plan)"""

    __slots__ = ("_func", "_grid", "_block", "_shmem", "_coop", "plan", "_launched")

    def __init__(self, function, grid, block, sharedmem, cooperative, plan):
        if not isinstance(function, int):
            raise TypeError("function must be an int (a CUfunction handle)")
        for what, t in (("grid", grid), ("block", block)):
            if type(t) is not tuple or len(t) != 3 or not all(isinstance(x, int) for x in t):
                raise TypeError(f"{what} must be a 3-tuple of ints")
        if type(plan) is not tuple or not all(_valid_entry(e) for e in plan):
            raise ValueError("malformed launch plan entry")
        self._func = function
        self._grid, self._block = grid, block
        self._shmem, self._coop = int(sharedmem), bool(cooperative)
        self.plan = plan
        self._launched = False

    @property
    def param_buffer(self):
        """Always a pointer per parameter here (False once launched)."""
        return False if self._launched else None

    def _marshal(self, args, consumer, stream, retr, views=None):
        if type(args) is not tuple or len(args) != len(self.plan):
            raise TypeError(f"expected a tuple of {len(self.plan)} arguments")
        buf = _Buf()
        for i, (spec, v) in enumerate(zip(self.plan, args)):
            n0, len0 = len(buf.offs), len(buf.data)
            try:
                if views is not None and views[i] is not None and spec[0] == K_ARRAY:
                    # a launch site's reader read and checked them
                    for x in (0, 0) + views[i]:
                        buf.i64(x)
                elif spec[0] == K_ARRAY:
                    _pack_array(spec, v, consumer, buf)
                elif spec[0] == K_MEMREF:
                    if not _interface_sync_unchanged(spec, v, buf):
                        raise Decline
                    if views is not None and views[i] is not None:
                        # a site kept them for this very object (array_values)
                        # or read them as CuPy's (memref_view: a trailing 1
                        # has CuPy's current stream synchronised first)
                        vals = views[i]
                        if len(vals) == 4 + 2 * spec[3] and vals[-1] == 1:
                            vals = vals[:-1] if _sync_cupy_stream(buf) else None
                        if vals is None:  # the interface names the stream
                            _pack_memref(spec, v, buf)
                        elif len(vals) != 3 + 2 * spec[3]:
                            raise Decline
                        else:
                            for x in vals:
                                buf.i64(x)
                            if buf.first_array is None:
                                buf.first_array = vals[0]
                    else:
                        _pack_memref(spec, v, buf)
                else:
                    _pack_scalar(spec, v, buf)
                continue
            except Decline:
                del buf.offs[n0:], buf.data[len0:]
            if spec[1] is None:  # no fallback: the compiler's launch takes it
                raise Declined
            vals = list(spec[1](v, stream, retr))
            sizes = spec[2]
            if sizes is not None and len(vals) != len(sizes):
                raise TypeError(
                    f"kernel argument {i} was marshalled to {len(vals)} "
                    f"parameters; the compiled kernel takes {len(sizes)}"
                )
            for j, x in enumerate(vals):
                raw = _value_bytes(x)
                buf.put(raw, len(raw) if sizes is None else sizes[j])
        return buf

    def pack(self, args, stream_handle=0, stream=None):
        buf = self._marshal(args, stream_handle, stream_handle if stream is None else stream, [])
        return bytes(buf.data)

    def launch(self, args, stream_handle=0, stream=None, views=None, *, from_site=False):
        cuda_driver.load()  # as the C module, before marshalling
        retr = []
        fb_stream = stream_handle if stream is None else stream
        buf = self._marshal(args, stream_handle, fb_stream, retr, views)
        if buf.first_array is not None and not _in_first_array_context(buf.first_array):
            raise OtherContext(
                "the first array argument was allocated in another CUDA context "
                "than the current one, where this plan's kernel is loaded: launch "
                "it through the compiler"
            )
        for stream in buf.syncs:  # as numba-cuda-mlir, before its launch
            try:
                cuda_driver.stream_synchronize(stream)
            except cuda_driver.LaunchError:
                if from_site:  # the compiler's path synchronises again
                    raise Declined from None
                raise
        n = len(buf.offs)
        self._launched = True
        storage = (ctypes.c_uint8 * max(len(buf.data), 1)).from_buffer_copy(
            bytes(buf.data) or b"\0"
        )
        base = ctypes.addressof(storage)
        params = (ctypes.c_void_p * max(n, 1))(*[base + o for o in buf.offs])
        cuda_driver.launch(
            self._func,
            self._grid,
            self._block,
            self._shmem,
            self._coop,
            stream_handle,
            ctypes.addressof(params),
        )
        return retr if retr else ()


def _in_first_array_context(ptr):
    """launcher.c's in_first_array_context: numba-cuda-mlir launches in the
    context its first array argument was allocated in (the current one when
    the driver names none); a plan only in the current one."""
    try:
        current = cuda_driver.current_context()
    except cuda_driver.LaunchError:
        return False
    try:
        owner = cuda_driver.pointer_context(ptr)
    except cuda_driver.LaunchError:
        return True
    return owner == 0 or owner == current


class Declined(TypeError):
    """A value no rule of the plan covers, and its entry has no fallback:
    nothing was launched.  A launch site takes its slow path instead; other
    callers see a TypeError (the C module raises that one)."""

    def __init__(self, message=None):
        super().__init__(
            message
            or "an argument is not one this launch plan marshals (its entry has "
            "no fallback): launch it through the compiler"
        )


class OtherContext(Declined):
    """The first array argument lives in another CUDA context than the
    current one (see :func:`_in_first_array_context`): declined too."""


def _valid_entry(e):
    if not isinstance(e, tuple) or len(e) != 7 or (e[1] is not None and not callable(e[1])):
        return False
    kind, _, sizes, ndim, itemsize, typestr, _ = e
    if not _FIRST_KIND <= kind <= _LAST_KIND:
        return False
    if sizes is not None and not all(1 <= s <= 16 for s in sizes):
        return False
    if kind != K_FALLBACK and not sizes:
        return False
    if kind == K_FALLBACK and e[1] is None:
        return False
    if kind == K_MEMREF:
        return (
            ndim >= 0 and len(sizes) == 3 + 2 * ndim and itemsize >= 1 and isinstance(typestr, str)
        )
    if kind == K_ARRAY:
        return (
            ndim >= 0 and len(sizes) == 5 + 2 * ndim and itemsize >= 1 and isinstance(typestr, str)
        )
    return True


def double_to_half(d):
    """binary16 bits of a float, round to nearest even (for tests)."""
    return struct.unpack("<H", np.float16(d).tobytes())[0]


# --------------------------------------------------------------------------
# What launch sites may ask of a plan (launcher.h's questions)
# --------------------------------------------------------------------------


def view_itemsize(spec):
    """The item size of the array argument plan entry *spec* describes when
    it can be marshalled from a reader's view values (size, itemsize, data,
    shape..., strides...); 0 when it cannot."""
    if spec is None or spec[0] != K_ARRAY:
        return 0
    return spec[4]


def array_values(spec, v):
    """launcher.h's lcs_argspec_array_values: the parameter values the
    array *v* of the compiler's own class packs to by its kind's rule
    (K_ARRAY: without meminfo and parent), or None."""
    if spec is None or spec[0] not in (K_ARRAY, K_MEMREF):
        return None
    buf = _Buf()
    try:
        if spec[0] == K_ARRAY:
            _pack_array(spec, v, 0, buf)
        else:
            _pack_memref(spec, v, buf)
    except Exception:  # Decline, or anything odd: nothing kept
        return None
    if buf.syncs or len(buf.data) != 8 * len(buf.offs):
        return None
    values = struct.unpack(f"<{len(buf.offs)}q", bytes(buf.data))
    return values[2:] if spec[0] == K_ARRAY else values


def memref_itemsize(spec):
    """The item size of the K_MEMREF argument *spec* describes; 0 for others."""
    return spec[4] if spec is not None and spec[0] == K_MEMREF else 0


def memref_view(spec, v, cai, values):
    """launcher.h's lcs_argspec_memref_view: the K_MEMREF parameter values
    (data, data, 0, shape..., strides in elements) that reader values
    *values* (size, itemsize, data, shape..., strides in bytes) of *v* give,
    when they are exactly what _pack_memref gives from interface dict *cai*
    now; then a trailing 1 when that names CuPy's current stream to
    synchronise.  None otherwise."""
    if memref_itemsize(spec) == 0 or type(cai) is not dict:
        return None
    ndim, itemsize = spec[3], spec[4]
    if len(values) != 3 + 2 * ndim or values[1] != itemsize:
        return None
    shape, strides = values[3 : 3 + ndim], values[3 + ndim :]
    # C division, as _pack_memref divides the interface's strides
    mine = (values[2], values[2], 0) + tuple(shape)
    mine += tuple(-(-x // itemsize) if x < 0 else x // itemsize for x in strides)

    buf = _Buf()
    try:
        _pack_memref(spec, v, buf, cai)
    except Exception:
        return None
    if bytes(buf.data) != struct.pack(f"<{len(mine)}q", *mine):
        return None
    if not buf.syncs:
        # an interface naming no stream while synchronising is on (CuPy's
        # export version 2, read on each access): keep reading it
        return None if spec[6] else mine
    if buf.syncs != [cupy_interface_stream()] or buf.syncs[0] <= 0:
        return None
    return mine + (1,)


def view_agrees(spec, v, stream, values):
    """Whether the view *values* of *v* give exactly the parameters the
    entry's fallback gives for *v* now (with *stream*, and no write-backs);
    errors mean no."""
    _, fallback, _, ndim, itemsize, _, _ = spec
    if len(values) != 3 + 2 * ndim or values[1] != itemsize:
        return False
    retr = []
    try:
        theirs = [_value_bytes(x) for x in fallback(v, stream, retr)]
    except Exception:
        return False
    return not retr and theirs == [struct.pack("<q", x) for x in (0, 0) + values]
