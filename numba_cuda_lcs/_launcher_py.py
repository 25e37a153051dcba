"""Pure-Python twin of the C extension ``numba_cuda_lcs._launcher``.

Same API and the same marshalling rules (each one follows what numba-cuda
0.30.4's ``_Kernel._prepare_args`` hands to cuda.core's ``launch()``, stored
as cuda.core's ``ParamHolder`` stores it); see ``_launcher.c`` for the
reasoning.  It launches through ``cuda.bindings.driver.cuLaunchKernel`` /
``cuLaunchCooperativeKernel`` with a ``kernelParams`` array built with
ctypes.  Slower than the C module; used where that did not build, under
``NUMBA_CUDA_LCS_PURE_PYTHON=1``, and by the tests as a second implementation.
"""

import ctypes
import operator
import struct
import typing
import weakref

try:
    import numpy as np
except ImportError:  # a bare install (no compiler extra): nothing can launch
    np = None  # type: ignore[assignment]

K_FALLBACK, K_ARRAY, K_INT, K_F16, K_F32, K_F64, K_BOOL, K_C64, K_C128, K_PTR = range(10)

_MAX = (1 << 63) - 1
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


class LaunchError(RuntimeError):
    """The driver refused a launch (as the C module's ``LaunchError``)."""


class _Decline(Exception):
    """A fast rule does not apply: use the argument's fallback."""


def _ssize(x):
    """A Python int as cuda.core stores it (intptr_t), or decline."""
    if not isinstance(x, int) or not -_MAX - 1 <= x <= _MAX:
        raise _Decline
    return x


class _Buf:
    __slots__ = ("data", "offs")

    def __init__(self):
        self.data = bytearray()
        self.offs = []

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


def _strides_from_shape(shape, itemsize, c, f):
    """numba-cuda 0.30.4 numpy_support.strides_from_shape, rule for rule."""
    n = len(shape)
    if n == 0:
        return ()
    if not (c or f):
        raise _Decline
    out = [itemsize] * n
    if c and not f:
        for i in range(n - 2, -1, -1):
            out[i] = out[i + 1] * shape[i + 1]
    else:
        for i in range(1, n):
            out[i] = out[i - 1] * shape[n - 1 - i if c else i - 1]
    return tuple(out)


def _int_tuple(t, ndim):
    if type(t) is not tuple or len(t) != ndim:
        raise _Decline
    return tuple(_ssize(x) for x in t)


def _same_stream(s, consumer):
    return isinstance(s, int) and s > 0 and (s == consumer or (s == 1 and consumer == 0))


def _smv_type():
    from cuda.core.utils import StridedMemoryView

    return StridedMemoryView


def _pack_array(spec, obj, consumer, buf):
    _, _, _, ndim, itemsize, typestr, cai_sync = spec
    if isinstance(obj, _smv_type()):
        raise _Decline
    try:
        is_dev = bool(obj.__cuda_memory__)
    except Exception:
        is_dev = False
    c = f = True
    strides = None
    try:
        if is_dev:  # numba's own arrays: the shim _to_strided_memory_view returns
            shim = obj._strided_memory_view_shim
            ptr, size = _ssize(shim.ptr), _ssize(shim.size)
            if shim.dtype.itemsize != itemsize:
                raise _Decline
            shape = _int_tuple(shim.shape, ndim)
            layout = shim._layout
            sib = layout.strides_in_bytes
            if sib:
                strides = _int_tuple(sib, ndim)
            else:
                c, f = bool(layout.is_contiguous_c), bool(layout.is_contiguous_f)
        else:
            if isinstance(obj, np.ndarray):
                raise _Decline
            dl = hasattr(obj, "__dlpack__")
            cai = getattr(obj, "__cuda_array_interface__", None)
            if type(cai) is not dict:
                raise _Decline
            s = cai.get("stream")
            if dl:
                if s is None or not _same_stream(s, consumer):
                    raise _Decline
            elif s is not None and (cai_sync or not _same_stream(s, consumer)):
                raise _Decline
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
                raise _Decline
            ptr = _ssize(data[0])
            shape = _int_tuple(cai.get("shape"), ndim)
            size = 1
            for x in shape:
                size *= x
            st = cai.get("strides")
            if st is not None:
                strides = _int_tuple(st, ndim) if ndim else None
            else:
                f = sum(x > 1 for x in shape) <= 1 or size == 0
    except _Decline:
        raise
    except Exception:  # an attribute missing or odd: numba-cuda decides
        raise _Decline from None
    if strides is None:
        strides = _strides_from_shape(shape, itemsize, c, f)
    for x in (0, 0, size, itemsize, ptr) + shape + strides:
        buf.i64(x)


def _pack_scalar(spec, v, buf):
    kind, size = spec[0], spec[2][0] if spec[2] else 0
    if kind == K_INT:
        try:  # ctypes.c_<ty>(val): __index__, then masked
            x = operator.index(v)
        except Exception:
            raise _Decline from None
        buf.put(struct.pack("<Q", x & 0xFFFFFFFFFFFFFFFF), size)
    elif kind in (K_BOOL, K_PTR):
        buf.put(struct.pack("<q", _ssize(v)), size)
    elif kind == K_F16:
        if type(v) is not float:
            raise _Decline
        buf.put(np.float16(v).tobytes(), 2)  # np.float16(val).view(np.uint16)
    elif kind in (K_F32, K_F64):
        try:
            buf.put(
                bytes((ctypes.c_float if kind == K_F32 else ctypes.c_double)(v)),
                4 if kind == K_F32 else 8,
            )
        except Exception:
            raise _Decline from None
    elif kind in (K_C64, K_C128):
        if isinstance(v, complex):
            re, im = v.real, v.imag
        elif isinstance(v, float):
            re, im = float(v), 0.0
        else:
            raise _Decline
        if kind == K_C128:
            buf.put(struct.pack("<d", re), 8)
            buf.put(struct.pack("<d", im), 8)
        else:
            buf.put(bytes(ctypes.c_float(re)), 4)
            buf.put(bytes(ctypes.c_float(im)), 4)
    else:
        raise _Decline


class Launcher:
    """Launcher(function, grid, block, sharedmem, cooperative, plan)"""

    __slots__ = ("_func", "_grid", "_block", "_shmem", "_coop", "plan")

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
                else:
                    _pack_scalar(spec, v, buf)
                continue
            except _Decline:
                del buf.offs[n0:], buf.data[len0:]
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

    def launch(self, args, stream_handle=0, stream=None, views=None):
        from cuda.bindings import driver

        retr = []
        fb_stream = stream_handle if stream is None else stream
        buf = self._marshal(args, stream_handle, fb_stream, retr, views)
        n = len(buf.offs)
        storage = (ctypes.c_uint8 * max(len(buf.data), 1)).from_buffer_copy(
            bytes(buf.data) or b"\0"
        )
        base = ctypes.addressof(storage)
        params = (ctypes.c_void_p * max(n, 1))(*[base + o for o in buf.offs])
        dims = self._grid + self._block + (self._shmem, driver.CUstream(stream_handle))
        func = driver.CUfunction(self._func)
        if self._coop:
            (err,) = driver.cuLaunchCooperativeKernel(func, *dims, ctypes.addressof(params))
        else:
            (err,) = driver.cuLaunchKernel(func, *dims, ctypes.addressof(params), 0)
        if int(err) != 0:
            name = getattr(err, "name", str(err))
            api = "cuLaunchCooperativeKernel" if self._coop else "cuLaunchKernel"
            raise LaunchError(f"{api} failed: {name} ({int(err)})")
        return retr if retr else ()


def _valid_entry(e):
    if not isinstance(e, tuple) or len(e) != 7 or not callable(e[1]):
        return False
    kind, _, sizes, ndim, itemsize, typestr, _ = e
    if not K_FALLBACK <= kind <= K_PTR:
        return False
    if sizes is not None and not all(1 <= s <= 16 for s in sizes):
        return False
    if kind != K_FALLBACK and not sizes:
        return False
    if kind == K_ARRAY:
        return (
            ndim >= 0 and len(sizes) == 5 + 2 * ndim and itemsize >= 1 and isinstance(typestr, str)
        )
    return True


def current_context():
    """The calling thread's current CUDA context handle as an int (0: none)."""
    from cuda.bindings import driver

    err, ctx = driver.cuCtxGetCurrent()
    if int(err) != 0:
        raise LaunchError(f"cuCtxGetCurrent failed: {err}")
    return int(ctx)


def double_to_half(d):
    """binary16 bits of a float, round to nearest even (for tests)."""
    return struct.unpack("<H", np.float16(d).tobytes())[0]


# --------------------------------------------------------------------------
# Launch sites (see _launcher.c for the reasoning)
# --------------------------------------------------------------------------

SITE_ENTRIES = 4
SITE_MAX_ARGS = 64

_site_epoch = 1
_typed_class = None
_site_launch_error = None
_INT64 = range(-(1 << 63), 1 << 63)
_ENTRIES = "_lcs_site_entries"  # where the twin keeps a site's entries


class _Token(typing.NamedTuple):
    kind: str  # "exact" "int" "npscalar" "typed" "cai" "cupy" "dlx"
    # exact, npscalar: the class; typed: numba type; cai: typestr;
    # cupy: the dtype; dlx: the exchange API (_ExchangeAPI)
    type: object = None
    ref: object = None  # typed, cai, cupy, dlx: weak reference to the object
    shape: object = None  # cai
    strides: object = None  # cai
    readonly: bool = False  # cai
    values: tuple = ()  # cupy, dlx: size, itemsize, data, shape..., strides...
    device: int = 0  # dlx: DLPack device id
    dtype: tuple = ()  # dlx: DLPack (code, bits, lanes)


# --- Readers: an array's parameter values without its interface dict -----
# (see _launcher.c).  DLPack's C exchange API (dlpack.h 1.3), through ctypes
# prototypes that keep the GIL (PYFUNCTYPE): its functions set Python errors.
_DL_CUDA = 2


class _DLDevice(ctypes.Structure):
    _fields_ = [("device_type", ctypes.c_int32), ("device_id", ctypes.c_int32)]


class _DLDataType(ctypes.Structure):
    _fields_ = [("code", ctypes.c_uint8), ("bits", ctypes.c_uint8), ("lanes", ctypes.c_uint16)]


class _DLTensor(ctypes.Structure):
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device", _DLDevice),
        ("ndim", ctypes.c_int32),
        ("dtype", _DLDataType),
        ("shape", ctypes.POINTER(ctypes.c_int64)),
        ("strides", ctypes.POINTER(ctypes.c_int64)),
        ("byte_offset", ctypes.c_uint64),
    ]


class _ExchangeAPI(ctypes.Structure):
    _fields_ = [
        ("major", ctypes.c_uint32),
        ("minor", ctypes.c_uint32),
        ("prev_api", ctypes.c_void_p),
        ("managed_tensor_allocator", ctypes.c_void_p),
        ("managed_tensor_from_py_object_no_sync", ctypes.c_void_p),
        ("managed_tensor_to_py_object_no_sync", ctypes.c_void_p),
        ("dltensor_from_py_object_no_sync", ctypes.c_void_p),
        ("current_work_stream", ctypes.c_void_p),
    ]


_FROM_PY = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.POINTER(_DLTensor))
_WORK_STREAM = ctypes.PYFUNCTYPE(
    ctypes.c_int, ctypes.c_int, ctypes.c_int32, ctypes.POINTER(ctypes.c_void_p)
)
# Our own prototypes: setting ctypes.pythonapi's argtypes would change them
# for every user of ctypes in the process.
_capsule_is_valid = ctypes.PYFUNCTYPE(ctypes.c_int, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_IsValid", ctypes.pythonapi)
)
_capsule_pointer = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.py_object, ctypes.c_char_p)(
    ("PyCapsule_GetPointer", ctypes.pythonapi)
)
_cupy = (None, None)  # configure_cupy: (ndarray class, get_current_stream)
_cupy_null_stream = 0  # the interface's stream for CuPy's stream 0, once seen


def configure_cupy(ndarray_class, get_current_stream):
    """Read CuPy arrays' pointer, shape and strides from their attributes
    (None, None: off)."""
    global _cupy, _cupy_null_stream
    if not (ndarray_class is None or isinstance(ndarray_class, type)) or not (
        get_current_stream is None or callable(get_current_stream)
    ):
        raise TypeError(
            "configure_cupy(ndarray_class, get_current_stream): a class and a "
            "callable, or None each"
        )
    if ndarray_class is None or get_current_stream is None:
        ndarray_class = get_current_stream = None
    _cupy, _cupy_null_stream = (ndarray_class, get_current_stream), 0
    invalidate()


def _exchange_api(tp):
    """The DLPack exchange API of class *tp* (functions as ctypes
    callables), or None."""
    capsule = getattr(tp, "__dlpack_c_exchange_api__", None)
    name = b"dlpack_exchange_api"
    if capsule is None or not _capsule_is_valid(capsule, name):
        return None
    table = _ExchangeAPI.from_address(_capsule_pointer(capsule, name))
    if table.major != 1 or not table.dltensor_from_py_object_no_sync:
        return None
    if not table.current_work_stream:
        return None
    return (
        table.dltensor_from_py_object_no_sync,  # identity, as the C module compares
        _FROM_PY(table.dltensor_from_py_object_no_sync),
        _WORK_STREAM(table.current_work_stream),
    )


def _view_values(shape, strides, itemsize, ptr):
    size = 1
    for x in shape:
        size *= x
    return (size, itemsize, ptr) + tuple(shape) + tuple(strides)


def _read_cupy(v, dtype, itemsize):
    """CuPy: data.ptr, shape, strides (from the shape when _c_contiguous)."""
    try:
        if v.dtype != dtype:
            return None
        ptr, shape = _ssize(v.data.ptr), _int_tuple(v.shape, len(v.shape))
        contiguous = v._c_contiguous
        if contiguous is True:
            strides = _strides_from_shape(shape, itemsize, True, False)
        elif contiguous is False:
            strides = _int_tuple(v.strides, len(shape))
        else:
            return None
    except Exception:
        return None
    return _view_values(shape, strides, itemsize, ptr)


def _read_dlx(v, api):
    """(values, device id, (code, bits, lanes)) by the exchange API, or None."""
    dl = _DLTensor()
    try:
        if api[1](v, ctypes.byref(dl)) != 0:
            return None
    except Exception:
        return None
    nd, t = dl.ndim, dl.dtype
    if dl.device.device_type != _DL_CUDA or not 0 <= nd <= 32 or t.lanes != 1 or t.bits % 8:
        return None
    if nd and not dl.shape:
        return None
    itemsize = t.bits // 8
    shape = tuple(dl.shape[i] for i in range(nd))
    if dl.strides:
        strides = tuple(dl.strides[i] * itemsize for i in range(nd))
    else:
        strides = _strides_from_shape(shape, itemsize, True, False)
    ptr = (dl.data or 0) + dl.byte_offset
    return (
        _view_values(shape, strides, itemsize, ptr),
        dl.device.device_id,
        (t.code, t.bits, t.lanes),
    )


def _cupy_stream():
    """CuPy's current stream as its interface would name it (0: unknown)."""
    try:
        p = _cupy[1]().ptr
    except Exception:
        return 0
    return _cupy_null_stream if p == 0 else p if isinstance(p, int) and p > 0 else 0


def _producer_stream_ok(tok, consumer, memo):
    """Whether the producer's current stream is the launch's (memoised per
    launch in *memo*)."""
    if tok.kind == "cupy":
        if "cupy" not in memo:
            memo["cupy"] = _same_stream(_cupy_stream(), consumer)
        return memo["cupy"]
    key = (tok.type[0], tok.device)
    if key not in memo:
        st = ctypes.c_void_p()
        try:
            ok = tok.type[2](_DL_CUDA, tok.device, ctypes.byref(st)) == 0
        except Exception:
            ok = False
        p = st.value or 0
        memo[key] = ok and (p == consumer or (p in (0, 1) and consumer == 0))
    return memo[key]


def _reader_token(v, tok, spec, stream, cai):
    """*tok* (an interface token of *v*) as a reader's token, when the reader
    gives exactly what numba-cuda's own marshalling (*spec*'s fallback) gives
    for *v* now; else *tok*."""
    global _cupy_null_stream
    if spec is None or spec[0] != K_ARRAY:
        return tok
    _, fallback, _, ndim, itemsize, _, _ = spec
    if _cupy[0] is not None and type(v) is _cupy[0]:
        kind, dtype = "cupy", getattr(v, "dtype", None)
        read = _read_cupy(v, dtype, itemsize)
        device, dl_dtype = 0, ()
        try:
            if _cupy[1]().ptr == 0 and cai.get("stream") in (1, 2):
                _cupy_null_stream = cai["stream"]
        except Exception:
            pass
    else:
        kind, dtype = "dlx", _exchange_api(type(v))
        got = _read_dlx(v, dtype) if dtype is not None else None
        read, device, dl_dtype = got if got is not None else (None, 0, ())
    if read is None or len(read) != 3 + 2 * ndim or read[1] != itemsize:
        return tok
    retr = []
    try:
        theirs = [_value_bytes(x) for x in fallback(v, stream, retr)]
    except Exception:
        return tok
    if retr or theirs != [struct.pack("<q", x) for x in (0, 0) + read]:
        return tok
    return _Token(kind, dtype, tok.ref, values=read, device=device, dtype=dl_dtype)


class _SiteEntry(typing.NamedTuple):
    launcher: "Launcher"
    context: int
    epoch: int
    stream_handle: int
    stream: object
    counter: object
    tokens: tuple


def _cai_fields(cai):
    """(typestr, shape, strides, readonly) of an interface dict, or None."""
    data = cai.get("data")
    if "typestr" not in cai or "shape" not in cai:
        return None
    if not isinstance(data, tuple) or len(data) != 2:
        return None
    return cai["typestr"], cai["shape"], cai.get("strides"), bool(data[1])


def _make_token(v, spec=None, stream=None):
    """The token of *v*, or None when it has none; *spec* (the remembered
    launcher's plan entry for *v*) and *stream* (what its fallback gets) let
    an array-interface object have a reader's token."""
    tp = type(v)
    if tp is bool or tp is float or tp is complex:
        return _Token("exact", tp)
    if tp is int:
        return _Token("int") if v in _INT64 else None
    if _typed_class is not None and tp is _typed_class:
        try:
            ty = v._numba_type_
        except Exception:
            return None
        try:
            ref = weakref.ref(v)
        except TypeError:
            ref = None
        return _Token("typed", ty, ref)
    if isinstance(v, (np.number, np.bool_)):
        return _Token("npscalar", tp)
    if isinstance(v, np.ndarray) or getattr(v, "__cuda_memory__", False):
        return None
    try:
        cai = v.__cuda_array_interface__
        fields = _cai_fields(cai) if isinstance(cai, dict) else None
        ref = weakref.ref(v) if fields is not None else None
    except Exception:
        return None
    if fields is None:
        return None
    typestr, shape, strides, readonly = fields
    return _reader_token(
        v, _Token("cai", typestr, ref, shape, strides, readonly), spec, stream, cai
    )


def _token_matches(tok, v, consumer, memo, views, i):
    """Whether *v* has token *tok*; a reader's values go to ``views[i]``
    (the twin reads an interface again when it marshals; the C module
    reuses the dict it read here)."""
    tp = type(v)
    kind = tok.kind
    if kind == "int":
        return tp is int and v in _INT64
    if kind in ("exact", "npscalar"):
        return tp is tok.type
    if kind == "typed":
        if tp is not _typed_class:
            return False
        if tok.ref is not None and tok.ref() is v:
            return True
        return getattr(v, "_numba_type_", None) is tok.type
    if tok.ref() is not v:  # "cai", "cupy", "dlx"
        return False
    if kind in ("cupy", "dlx"):
        if not _producer_stream_ok(tok, consumer, memo):
            return False
        if kind == "cupy":
            read = _read_cupy(v, tok.type, tok.values[1])
        else:
            got = _read_dlx(v, tok.type)
            if got is None or got[1:] != (tok.device, tok.dtype):
                return False
            read = got[0]
        if read != tok.values:
            return False
        views[i] = read
        return True
    try:
        cai = v.__cuda_array_interface__
        fields = _cai_fields(cai) if isinstance(cai, dict) else None
    except Exception:
        return False
    return fields == (tok.type, tok.shape, tok.strides, tok.readonly)


def remember(site, args, launcher, stream_handle, stream, counter, context):
    """The slow path resolved and launched *args* with *launcher*: let
    *site* launch such arguments without it from now on.  False when it
    cannot (an argument without a token, another implementation's
    launcher)."""
    if not isinstance(launcher, Launcher) or len(args) > SITE_MAX_ARGS:
        return False
    tokens = []
    plan = launcher.plan if len(launcher.plan) == len(args) else (None,) * len(args)
    fb_stream = stream_handle if stream is None else stream
    for v, spec in zip(args, plan):
        tok = _make_token(v, spec, fb_stream)
        if tok is None:
            return False
        tokens.append(tok)
    entry = _SiteEntry(
        launcher, int(context), _site_epoch, stream_handle, stream, counter, tuple(tokens)
    )
    entries = vars(site).get(_ENTRIES, ())
    vars(site)[_ENTRIES] = ((entry,) + entries)[:SITE_ENTRIES]
    return True


def _find(site, args, context):
    """(index, entry, views) of the remembered launch serving *args* in
    *context* (views: a reader's values per argument, or None), or
    (-1, None, None)."""
    for index, entry in enumerate(vars(site).get(_ENTRIES, ())):
        if entry.context != context or entry.epoch != _site_epoch:
            continue
        if len(entry.tokens) != len(args):
            continue
        memo, views = {}, [None] * len(args)
        if all(
            _token_matches(tok, v, entry.stream_handle, memo, views, i)
            for i, (tok, v) in enumerate(zip(entry.tokens, args))
        ):
            return index, entry, views
    return -1, None, None


def match(site, args, context):
    """Index of the remembered launch that would serve *args* in *context*,
    or -1: the fast path's lookup without launching (for tests)."""
    return _find(site, args, int(context))[0]


def _site_try(site, args):
    """True when *args* were launched as a remembered launch."""
    if not vars(site).get(_ENTRIES):
        return False
    _index, entry, views = _find(site, args, current_context())
    if entry is None:
        return False
    callbacks = getattr(site, "pre_launch_callbacks", None)
    if type(callbacks) is not list or callbacks:
        return False
    if entry.counter is not None:
        entry.counter.hits += 1
    try:
        if any(view is not None for view in views):
            writebacks = entry.launcher.launch(args, entry.stream_handle, entry.stream, views)
        else:
            writebacks = entry.launcher.launch(args, entry.stream_handle, entry.stream)
    except LaunchError as exc:
        if _site_launch_error is None:
            raise
        raise _site_launch_error(str(exc)) from None
    for writeback in writebacks:
        writeback()
    return True


def site_call(site, args):
    """Call a configured launch: a remembered launch, or the slow path."""
    if _site_try(site, args):
        return None
    return site.dispatcher.call(args, site)


def invalidate():
    """Every site's remembered launches stop matching."""
    global _site_epoch
    _site_epoch += 1


def configure_sites(typed_class, launch_error, twin_site_call=None):
    """The class typed by its ``_numba_type_`` and what a refused launch
    raises (None each: none); *twin_site_call* is for the C module only."""
    global _typed_class, _site_launch_error
    _typed_class, _site_launch_error = typed_class, launch_error
    invalidate()


class HitCounter:
    """Base class whose ``hits`` launch sites increment (the twin of the C
    type)."""

    __slots__ = ("hits",)

    def __init__(self, *args, **kwargs):
        self.hits = 0


class LaunchSite:
    """Base class of a configured launch (the twin of the C type)."""

    __slots__ = ()

    def __call__(self, *args):
        return site_call(self, args)


def remembered(site):
    """How many launches *site* remembers."""
    return len(vars(site).get(_ENTRIES, ()))


def forget(site):
    """Drop what *site* remembers."""
    vars(site).pop(_ENTRIES, None)
