"""The twin's launch sites (twin of ``_launcher_c/sites.c``): tokens, array
readers, :class:`LaunchSite`, the site entries and :class:`HitCounter`; see
``_launcher_c/sites.c`` for the reasoning.

As in C, no compiler's marshalling rules live here: whether a reader's
values may stand for an argument is the plan's call (``launcher.py``:
``view_itemsize`` / ``view_agrees``), and what the sites need of the
compiler is configured (:func:`configure_sites`).
"""

import ctypes
import typing
import weakref

try:
    import numpy as np
except ImportError:  # a bare install (no compiler extra): nothing can launch
    np = None  # type: ignore[assignment]

from . import cuda_driver, dlpack_abi
from .array_values import int_tuple, ssize, strides_from_shape
from .cuda_driver import LaunchError
from .launcher import (
    Declined,
    Launcher,
    _same_stream,
    array_values,
    memref_itemsize,
    memref_view,
    view_agrees,
    view_itemsize,
)
from .state import STATE, cupy_interface_stream, cupy_learn_null_stream, cupy_stream_ptr

SITE_ENTRIES = 4
SITE_MAX_ARGS = 512  # as sites.h
#: A remembered launch's stream handle meaning "CuPy's current stream, read
#: at each launch" (as sites.h).
SITE_STREAM_CUPY_CURRENT = -2

_INT64 = range(-(1 << 63), 1 << 63)
_ENTRIES = "_lcs_site_entries"  # where the twin keeps a site's entries


# --------------------------------------------------------------------------
# Tokens and entries
# --------------------------------------------------------------------------


class _Token(typing.NamedTuple):
    kind: str  # "exact" "int" "npscalar" "typed" "cai" "cupy" "dlx"
    # exact, npscalar: the class; typed: numba type; cai: typestr;
    # cupy: the dtype; dlx: the exchange API (dlpack_abi.ExchangeAPI)
    type: object = None
    ref: object = None  # typed, cai, cupy, dlx: weak reference to the object
    shape: object = None  # cai
    strides: object = None  # cai
    readonly: bool = False  # cai
    # cupy, dlx: size, itemsize, data, shape..., strides...; typed: what the
    # object packs to (launcher.array_values), () when none was kept
    values: tuple = ()
    device: int = 0  # dlx: DLPack device id
    dtype: tuple = ()  # dlx: DLPack (code, bits, lanes)
    # cupy read for a K_MEMREF plan: what the plan is handed instead of the
    # interface (launcher.memref_view); None otherwise
    memref: tuple | None = None


class _SiteEntry(typing.NamedTuple):
    launcher: "Launcher"
    context: int
    generation: int  # STATE.generation when remembered
    stream_handle: int
    stream: object
    counter: object
    tokens: tuple


# --------------------------------------------------------------------------
# Readers: an array's parameter values without its interface dict
# --------------------------------------------------------------------------

#: The most dimensions a reader takes (sites.c: READ_MAXD); arrays of more
#: are read through their interface dict.
READ_MAXD = 32


def configure_cupy(ndarray_class, get_current_stream):
    """Read CuPy arrays' pointer, shape and strides from their attributes
    (None, None: off)."""
    if not (ndarray_class is None or isinstance(ndarray_class, type)) or not (
        get_current_stream is None or callable(get_current_stream)
    ):
        raise TypeError(
            "configure_cupy(ndarray_class, get_current_stream): a class and a "
            "callable, or None each"
        )
    if ndarray_class is None or get_current_stream is None:
        ndarray_class = get_current_stream = None
    STATE.cupy_class, STATE.cupy_current_stream = ndarray_class, get_current_stream
    STATE.cupy_null_stream = 0
    invalidate()


def configure_interface_sync(source, own_class):
    """Where K_MEMREF launches of arrays that are not instances of
    *own_class* read CUDA_ARRAY_INTERFACE_SYNC at each launch, as
    numba-cuda-mlir does (its config module and DeviceNDArrayBase; None,
    None: the plan's value, the typed classes)."""
    if own_class is not None and not isinstance(own_class, type):
        raise TypeError(
            "configure_interface_sync(source, own_class): an object and a class, or None each"
        )
    STATE.interface_sync_source, STATE.memref_own_class = source, own_class
    invalidate()


def _exchange_api(tp):
    """The DLPack exchange API of class *tp* (functions as ctypes
    callables), or None."""
    capsule = getattr(tp, "__dlpack_c_exchange_api__", None)
    name = dlpack_abi.CAPSULE
    if capsule is None or not dlpack_abi.capsule_is_valid(capsule, name):
        return None
    table = dlpack_abi.ExchangeAPI.from_address(dlpack_abi.capsule_pointer(capsule, name))
    if table.major != 1 or not table.dltensor_from_py_object_no_sync:
        return None
    if not table.current_work_stream:
        return None
    return (
        table.dltensor_from_py_object_no_sync,  # identity, as the C module compares
        dlpack_abi.FROM_PY(table.dltensor_from_py_object_no_sync),
        dlpack_abi.WORK_STREAM(table.current_work_stream),
    )


def _view_values(shape, strides, itemsize, ptr):
    size = 1
    for x in shape:
        size *= x
    return (size, itemsize, ptr) + tuple(shape) + tuple(strides)


def _read_cupy(v, dtype, itemsize):
    """CuPy: data.ptr, shape, strides (from the shape when _c_contiguous);
    a 1-D array's shape from its ndim and size (CuPy builds the shape tuple
    at each read)."""
    try:
        if v.dtype != dtype:
            return None
        ptr, ndim = ssize(v.data.ptr), ssize(v.ndim)
        if not 0 <= ndim <= READ_MAXD:
            return None
        shape = (ssize(v.size),) if ndim == 1 else int_tuple(v.shape, ndim)
        contiguous = v._c_contiguous
        if contiguous is True:
            strides = strides_from_shape(shape, itemsize, True, False)
        elif contiguous is False:
            strides = int_tuple(v.strides, len(shape))
        else:
            return None
    except Exception:
        return None
    return _view_values(shape, strides, itemsize, ptr)


def _read_dlx(v, api):
    """(values, device id, (code, bits, lanes)) by the exchange API, or None."""
    dl = dlpack_abi.DLTensor()
    try:
        if api[1](v, ctypes.byref(dl)) != 0:
            return None
    except Exception:
        return None
    nd, t = dl.ndim, dl.dtype
    if dl.device.device_type != dlpack_abi.DL_CUDA or not 0 <= nd <= READ_MAXD:
        return None
    if t.lanes != 1 or t.bits % 8:
        return None
    if nd and not dl.shape:
        return None
    itemsize = t.bits // 8
    shape = tuple(dl.shape[i] for i in range(nd))
    if dl.strides:
        strides = tuple(dl.strides[i] * itemsize for i in range(nd))
    else:
        strides = strides_from_shape(shape, itemsize, True, False)
    ptr = (dl.data or 0) + dl.byte_offset
    return (
        _view_values(shape, strides, itemsize, ptr),
        dl.device.device_id,
        (t.code, t.bits, t.lanes),
    )


def _producer_stream_ok(tok, consumer, memo):
    """Whether the producer's current stream is the launch's (memoised per
    launch in *memo*)."""
    if tok.kind == "cupy":
        if "cupy" not in memo:
            memo["cupy"] = _same_stream(cupy_interface_stream(), consumer)
        return memo["cupy"]
    key = (tok.type[0], tok.device)
    if key not in memo:
        st = ctypes.c_void_p()
        try:
            ok = tok.type[2](dlpack_abi.DL_CUDA, tok.device, ctypes.byref(st)) == 0
        except Exception:
            ok = False
        p = st.value or 0
        memo[key] = ok and (p == consumer or (p in (0, 1) and consumer == 0))
    return memo[key]


# --------------------------------------------------------------------------
# Making tokens, and matching them
# --------------------------------------------------------------------------


def _reader_token(v, tok, spec, stream, cai):
    """*tok* (an interface token of *v*) as a reader's token, when the reader
    gives exactly what the compiler's own marshalling (*spec*'s fallback)
    gives for *v* now; else *tok*.  numba-cuda-mlir's plans (K_MEMREF) take
    CuPy arrays only, checked against the plan's rule (memref_view): the
    stream the interface names, CuPy's current one, is synchronised at each
    launch, so no producer-stream check there (sites.c's reader_token)."""
    cupy = STATE.cupy_class is not None and type(v) is STATE.cupy_class
    memref_size = memref_itemsize(spec)
    itemsize = view_itemsize(spec) or (memref_size if cupy else 0)
    if not itemsize:
        return tok
    if cupy:
        kind, dtype = "cupy", getattr(v, "dtype", None)
        read = _read_cupy(v, dtype, itemsize)
        device, dl_dtype = 0, ()
        cupy_learn_null_stream(cai)
    else:
        kind, dtype = "dlx", _exchange_api(type(v))
        got = _read_dlx(v, dtype) if dtype is not None else None
        read, device, dl_dtype = got if got is not None else (None, 0, ())
    # the plan's fallback (its rule, for K_MEMREF) must give exactly these values
    if read is None:
        return tok
    memref = None
    if memref_size:
        memref = memref_view(spec, v, cai, read)
        if memref is None:
            return tok
    elif not view_agrees(spec, v, stream, read):
        return tok
    return _Token(kind, dtype, tok.ref, values=read, device=device, dtype=dl_dtype, memref=memref)


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
    if tp in STATE.typed_classes:
        try:
            ty = v._numba_type_
        except Exception:
            return None
        try:
            ref = weakref.ref(v)
        except TypeError:
            return _Token("typed", ty, None)
        # launched again, this very array packs to these values
        return _Token("typed", ty, ref, values=array_values(spec, v) or ())
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
        if tp not in STATE.typed_classes:
            return False
        if tok.ref is not None and tok.ref() is v:
            if tok.values:
                views[i] = tok.values
            return True
        return getattr(v, "_numba_type_", None) is tok.type
    if tok.ref() is not v:  # "cai", "cupy", "dlx"
        return False
    if kind in ("cupy", "dlx"):
        # (a K_MEMREF plan's CuPy token: any producer stream, synchronised)
        if tok.memref is None and not _producer_stream_ok(tok, consumer, memo):
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
        views[i] = read if tok.memref is None else tok.memref
        return True
    try:
        cai = v.__cuda_array_interface__
        fields = _cai_fields(cai) if isinstance(cai, dict) else None
    except Exception:
        return False
    return fields == (tok.type, tok.shape, tok.strides, tok.readonly)


# --------------------------------------------------------------------------
# Remembering, and the fast path
# --------------------------------------------------------------------------


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
    if _find(site, args, int(context))[1] is not None:
        # Already remembered (the fast path declined a value this time, or
        # another thread remembered it meanwhile): keep the entries.
        return False
    entry = _SiteEntry(
        launcher, int(context), STATE.generation, stream_handle, stream, counter, tuple(tokens)
    )
    entries = vars(site).get(_ENTRIES, ())
    vars(site)[_ENTRIES] = ((entry,) + entries)[:SITE_ENTRIES]
    return True


def _find(site, args, context):
    """(index, entry, views) of the remembered launch serving *args* in
    *context* (views: a reader's values per argument, or None), or
    (-1, None, None)."""
    for index, entry in enumerate(vars(site).get(_ENTRIES, ())):
        if entry.context != context or entry.generation != STATE.generation:
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
    _index, entry, views = _find(site, args, cuda_driver.current_context())
    if entry is None:
        return False
    callbacks = getattr(site, "pre_launch_callbacks", None)
    if type(callbacks) is not list or callbacks:
        return False
    consumer = entry.stream_handle
    if consumer == SITE_STREAM_CUPY_CURRENT:
        consumer = cupy_stream_ptr()
        if consumer < 0:  # CuPy's stream unreadable: the slow path
            return False
    try:
        if any(view is not None for view in views):
            writebacks = entry.launcher.launch(args, consumer, entry.stream, views, from_site=True)
        else:
            writebacks = entry.launcher.launch(args, consumer, entry.stream, from_site=True)
    except Declined:  # a value the plan does not cover: the slow path
        return False
    except LaunchError as exc:
        # What the compiler's own launch raises: the site's class may say.
        error = getattr(site, "_lcs_launch_error", None) or STATE.site_launch_error
        if error is None:
            raise
        raise error(str(exc)) from None
    if entry.counter is not None:
        entry.counter.hits += 1
    for writeback in writebacks:
        writeback()
    return True


def site_call(site, args):
    """Call a configured launch: a remembered launch, or the slow path."""
    if _site_try(site, args):
        return None
    slow = getattr(site, "_lcs_slow_call", None)  # numba-cuda-mlir's sites
    if slow is not None:
        return slow(args)
    return site.dispatcher.call(args, site)


# --------------------------------------------------------------------------
# Settings
# --------------------------------------------------------------------------


def invalidate():
    """Every site's remembered launches stop matching."""
    STATE.generation += 1


def configure_sites(typed_classes, launch_error, twin_site_call=None):
    """The classes (a class or a tuple) typed by their ``_numba_type_`` and
    what a refused launch raises (None each: none); *twin_site_call* is for
    the C module only."""
    if typed_classes is None:
        typed_classes = ()
    elif isinstance(typed_classes, type):
        typed_classes = (typed_classes,)
    STATE.typed_classes, STATE.site_launch_error = tuple(typed_classes), launch_error
    invalidate()


# --------------------------------------------------------------------------
# HitCounter and LaunchSite
# --------------------------------------------------------------------------


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
