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

import numpy as np

K_FALLBACK, K_ARRAY, K_INT, K_F16, K_F32, K_F64, K_BOOL, K_C64, K_C128, K_PTR = range(10)

_MAX = (1 << 63) - 1
_NP_SCALARS = tuple(
    getattr(np, n)
    for n in "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 "
    "float16 float32 float64 complex64 complex128".split()
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

    def _marshal(self, args, consumer, stream, retr):
        if type(args) is not tuple or len(args) != len(self.plan):
            raise TypeError(f"expected a tuple of {len(self.plan)} arguments")
        buf = _Buf()
        for i, (spec, v) in enumerate(zip(self.plan, args)):
            n0, len0 = len(buf.offs), len(buf.data)
            try:
                if spec[0] == K_ARRAY:
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

    def launch(self, args, stream_handle=0, stream=None):
        from cuda.bindings import driver

        retr = []
        buf = self._marshal(args, stream_handle, stream_handle if stream is None else stream, retr)
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
    kind: str  # "exact" "int" "npscalar" "typed" "cai"
    type: object = None  # exact, npscalar: the class; typed: numba type; cai: typestr
    ref: object = None  # typed, cai: weak reference to the object
    shape: object = None  # cai
    strides: object = None  # cai
    readonly: bool = False  # cai


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


def _make_token(v):
    """The token of *v*, or None when it has none."""
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
    return _Token("cai", typestr, ref, shape, strides, readonly)


def _token_matches(tok, v):
    """Whether *v* has token *tok* (the twin reads the interface again when
    it marshals; the C module reuses the dict it read here)."""
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
    if tok.ref() is not v:  # "cai"
        return False
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
    for v in args:
        tok = _make_token(v)
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
    """(index, entry) of the remembered launch serving *args* in
    *context*, or (-1, None)."""
    for index, entry in enumerate(vars(site).get(_ENTRIES, ())):
        if entry.context != context or entry.epoch != _site_epoch:
            continue
        if len(entry.tokens) != len(args):
            continue
        if all(_token_matches(tok, v) for tok, v in zip(entry.tokens, args)):
            return index, entry
    return -1, None


def match(site, args, context):
    """Index of the remembered launch that would serve *args* in *context*,
    or -1: the fast path's lookup without launching (for tests)."""
    return _find(site, args, int(context))[0]


def _site_try(site, args):
    """True when *args* were launched as a remembered launch."""
    if not vars(site).get(_ENTRIES):
        return False
    _index, entry = _find(site, args, current_context())
    if entry is None:
        return False
    callbacks = getattr(site, "pre_launch_callbacks", None)
    if type(callbacks) is not list or callbacks:
        return False
    if entry.counter is not None:
        entry.counter.hits += 1
    try:
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
