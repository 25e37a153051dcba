"""Differential tests of the launch path's argument marshalling (CPU only).

For each argument the launcher's ``pack`` must give exactly the parameter
bytes that numba-cuda 0.30.4's own marshalling gives: ``_Kernel._prepare_args``
produces a list of Python ints / ctypes / numpy values, and ``_reference``
below turns that list into bytes by cuda.core's ``ParamHolder`` storage rules
and the driver's layout (each parameter at its natural alignment, the driver
reading the parameter's size from that storage).

Device memory is stood in for by objects with a fake
``__cuda_array_interface__`` and by real numba ``DeviceNDArray`` objects built
over a fake allocation (size > 0 only: a zero-size one needs a CUDA context).
cuda.core's ``from_cuda_array_interface`` asks the driver which device owns a
pointer; that one call is answered by a stub (``fake_pointer_attribute``).
The tests of a launcher (``impl``) run over the C module and the pure-Python
twin (``twins``): both must marshal exactly as numba-cuda does.  The plan
builder and the stream handles are one Python implementation: once.
"""

import ctypes
import enum
import glob
import os
import struct
import subprocess
import sysconfig
import warnings
from importlib.resources import files

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numba.cuda import types
from numba.cuda.cudadrv.devicearray import DeviceNDArray
from numba.cuda.dispatcher import _Kernel
from support.processes import run_python

from numba_cuda_lcs import launcher
from numba_cuda_lcs._launcher_py import arg_kinds
from numba_cuda_lcs.backends.numba_cuda import argplan

HYP = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.fixture
def impl(twins):
    """The launcher implementation this run of the test is over (conftest's
    ``twins`` fixture binds the C module or the pure-Python twin)."""
    return launcher.impl


@pytest.fixture(autouse=True)
def fake_pointer_attribute(monkeypatch):
    import cuda.bindings.driver as drv
    import cuda.core._memoryview as mv

    class Driver:
        def __getattr__(self, name):
            return getattr(drv, name)

        def cuPointerGetAttribute(self, attr, ptr):
            return (drv.CUresult.CUDA_SUCCESS, 0)

    monkeypatch.setattr(mv, "driver", Driver())


class FakeKernel:
    extensions = []
    _prepare_args = _Kernel._prepare_args


KERNEL = FakeKernel()


class CAI:
    def __init__(self, ptr, shape, strides, typestr, stream=None, **extra):
        self.__cuda_array_interface__ = dict(
            shape=shape,
            strides=strides,
            typestr=typestr,
            data=(ptr, False),
            version=3,
            stream=stream,
            **extra,
        )


class DLPackCAI(CAI):
    def __dlpack__(self, stream=None):  # pragma: no cover - never reached
        raise AssertionError("the fast path must not call __dlpack__")

    def __dlpack_device__(self):  # pragma: no cover
        return (2, 0)


class Mem:
    def __init__(self, ptr):
        self.device_ctypes_pointer = ctypes.c_void_p(ptr)


# ---- the reference: numba-cuda's marshalling + cuda.core's storage rules ----

_NP = [
    (getattr(np, n), n)
    for n in (
        "bool_ int8 int16 int32 int64 uint8 uint16 uint32 uint64 "
        "float16 float32 float64 complex64 complex128"
    ).split()
]
_CT = [
    getattr(ctypes, n)
    for n in (
        "c_bool c_int8 c_int16 c_int32 c_int64 c_uint8 c_uint16 c_uint32 c_uint64 c_float c_double"
    ).split()
]


def _storage(v):
    # cuda.core ParamHolder: int (and bool) -> intptr_t, float -> double,
    # complex -> complex<double>, numpy and ctypes scalars at their own width
    if isinstance(v, int):
        if not -(2**63) <= v < 2**63:
            raise OverflowError(v)
        return struct.pack("<q", v)
    if isinstance(v, float):
        return struct.pack("<d", v)
    if isinstance(v, complex):
        return struct.pack("<dd", v.real, v.imag)
    for t, _ in _NP:
        if isinstance(v, t):
            return np.asarray(v, dtype=t).tobytes()
    for t in _CT:
        if isinstance(v, t):
            return ctypes.string_at(ctypes.addressof(v), ctypes.sizeof(v))
    raise TypeError(f"the argument is of unsupported type: {type(v)}")


def _reference(argtypes, args, stream=0):
    out = b""
    for ty, v in zip(argtypes, args):
        kernelargs = []
        KERNEL._prepare_args(ty, v, stream, [], kernelargs)
        # each argument starts where the previous ended (realigned by _layout)
        out = _layout_concat(out, kernelargs, argplan.param_sizes(ty))
    return out


def _layout_concat(prefix, values, sizes):
    out = bytearray(prefix)
    for v, size in zip(values, sizes, strict=True):
        raw = _storage(v)
        align = min(size & -size, 8)
        out += bytes(-len(out) % align)
        out += raw[:size].ljust(size, b"\0")
    return bytes(out)


def _launcher(impl, argtypes, **kw):
    plan = argplan.build_plan(argtypes, KERNEL._prepare_args, **kw)
    return impl.Launcher(0x1234, (1, 1, 1), (32, 1, 1), 0, False, plan)


def _check(impl, argtypes, args, stream_handle=0):
    args = tuple(args)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = _reference(argtypes, args, stream_handle)
        except Exception as exc:
            with pytest.raises(type(exc)):
                _launcher(impl, argtypes).pack(args, stream_handle)
            return
        got = _launcher(impl, argtypes).pack(args, stream_handle)
    assert got == expected


# ---- arrays ----

DTYPES = ["f4", "f8", "f2", "i1", "u1", "i2", "u2", "i4", "u4", "i8", "u8", "c8", "c16", "b1"]


@st.composite
def array_case(draw):
    dtype = np.dtype(draw(st.sampled_from(DTYPES)))
    ndim = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0, 5), min_size=ndim, max_size=ndim)))
    layout = draw(st.sampled_from(["C", "F", "A"]))
    isz = dtype.itemsize
    if layout == "C":
        strides = np.empty(shape, dtype).strides
    elif layout == "F":
        strides = np.empty(shape, dtype, order="F").strides
    else:  # arbitrary, possibly negative or zero
        strides = tuple(draw(st.integers(-40, 40)) * isz for _ in range(ndim))
    ptr = draw(st.integers(1, 2**40)) * 256
    return dtype, shape, tuple(strides), layout, ptr


@given(case=array_case(), strides_none=st.booleans())
@HYP
def test_cai_arrays(impl, case, strides_none):
    dtype, shape, strides, layout, ptr = case
    obj = CAI(ptr, shape, None if strides_none and layout == "C" else strides, dtype.str)
    ty = types.Array(argplan.numpy_support.from_dtype(dtype), len(shape), "A")
    _check(impl, [ty], [obj])


@given(case=array_case())
@HYP
def test_numba_device_arrays(impl, case):
    dtype, shape, strides, layout, ptr = case
    if not np.prod(shape):
        shape = tuple(max(s, 1) for s in shape)
        strides = np.empty(shape, dtype).strides
    arr = DeviceNDArray(shape, strides, dtype, gpu_data=Mem(ptr))
    ty = types.Array(argplan.numpy_support.from_dtype(dtype), len(shape), "A")
    _check(impl, [ty], [arr])


def test_array_mismatches_are_numba_cudas(impl):
    ty = types.Array(types.float32, 2, "C")
    # wrong dtype: numba-cuda marshals it as is (its itemsize)
    _check(impl, [ty], [CAI(256, (2, 3), None, "<f8")])
    # wrong ndim: numba-cuda would pass a different parameter count
    with pytest.raises(TypeError, match="parameters"):
        _launcher(impl, [ty]).pack((CAI(256, (6,), None, "<f4"),))
    # not an array at all: numba-cuda's own error
    _check(impl, [ty], [object()])
    # a mask: cuda.core refuses it
    _check(impl, [ty], [CAI(256, (2, 3), None, "<f4", mask=object())])


# ---- scalars ----

INT_TYPES = [
    types.int8,
    types.int16,
    types.int32,
    types.int64,
    types.uint8,
    types.uint16,
    types.uint32,
    types.uint64,
]
ints = st.one_of(
    st.integers(-(2**70), 2**70),
    st.integers(-(2**63), 2**64 - 1).map(
        lambda x: np.int64(x) if -(2**63) <= x < 2**63 else np.uint64(x)
    ),
    st.sampled_from([True, False, np.int8(-3), np.uint16(65535), 1.5, "3", None]),
)
floats = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(width=32).map(np.float32),
    st.floats(width=16).map(np.float16),
    st.integers(-(2**80), 2**80),
    st.sampled_from(
        [5e-8, 6.1e-5, 65504.0, 65520.0, -65519.99, 2.0**-25, 3 * 2.0**-26, True, "x", 1j]
    ),
)
complexes = st.one_of(
    st.complex_numbers(allow_nan=True),
    st.complex_numbers(width=64).map(np.complex64),
    st.floats(),
    st.sampled_from([np.float32(2.5), 3, "z", None]),
)


@given(ty=st.sampled_from(INT_TYPES), v=ints)
@HYP
def test_integers(impl, ty, v):
    _check(impl, [ty], [v])


@given(ty=st.sampled_from([types.float16, types.float32, types.float64]), v=floats)
@HYP
def test_floats(impl, ty, v):
    _check(impl, [ty], [v])


@given(ty=st.sampled_from([types.complex64, types.complex128]), v=complexes)
@HYP
def test_complex(impl, ty, v):
    _check(impl, [ty], [v])


@given(
    v=st.one_of(
        st.booleans(),
        st.integers(-300, 300),
        st.sampled_from([np.bool_(True), np.bool_(False), 2**65, 1.0]),
    )
)
@HYP
def test_booleans(impl, v):
    _check(impl, [types.boolean], [v])


@given(
    v=st.one_of(st.integers(-(2**64), 2**64), st.sampled_from([np.uint64(7), np.int32(-1), 2.0]))
)
@HYP
def test_pointers(impl, v):
    _check(impl, [types.CPointer(types.float32)], [v])


def test_double_to_half_matches_numpy(impl):
    vals = [
        0.0,
        -0.0,
        1.0,
        65504.0,
        65519.99,
        65520.0,
        1e9,
        2.0**-24,
        2.0**-25,
        3 * 2.0**-26,
        2.0**-14,
        2.0**-14 * (1 - 2.0**-11),
        float("inf"),
        -float("inf"),
        float("nan"),
        1 + 2.0**-11,
        1 + 3 * 2.0**-11,
        1e-300,
    ]
    with np.errstate(over="ignore"):
        for v in vals:
            assert impl.double_to_half(v) == int(np.float16(v).view(np.uint16)), v


@given(st.floats(width=64))
@HYP
def test_double_to_half_property(impl, v):
    with np.errstate(over="ignore"):
        assert impl.double_to_half(v) == int(np.float16(v).view(np.uint16))


# ---- everything else: the fallback ----


class Colour(enum.IntEnum):
    RED = 3


REC = np.dtype([("a", "<i4"), ("b", "<f8")], align=True)


def test_fallback_kinds(impl):
    tup = types.Tuple((types.float32, types.int8, types.UniTuple(types.int64, 2)))
    dt = types.NPDatetime("s")
    en = types.IntEnumMember(Colour, types.int64)
    argtypes = [tup, dt, types.int16, en, types.float64]
    args = [(1.5, -2, (3, 4)), np.datetime64(12345, "s"), 7, Colour.RED, 2.5]
    _check(impl, argtypes, args)


def test_many_arguments_mixed(impl):
    ty2 = types.Array(types.float64, 2, "A")
    argtypes = [types.int8, ty2, types.complex64, types.boolean] * 20  # > stack buffer
    args = [-1, CAI(512, (3, 5), (8, 24), "<f8"), 1 + 2j, True] * 20
    _check(impl, argtypes, args)


def test_extensions_use_storage_widths(impl):
    plan = argplan.build_plan([types.int32, types.float32], KERNEL._prepare_args, extensions=True)
    assert all(e.kind == argplan.K_FALLBACK and e.sizes is None for e in plan)
    got = impl.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, plan).pack((5, 1.5))
    assert got == struct.pack("<if", 5, 1.5)


def test_record_and_host_arrays_use_the_fallback(impl):
    calls = []

    def prepare(ty, val, stream, retr, kernelargs):
        calls.append((ty, val, stream))
        kernelargs.extend([0] * len(argplan.param_sizes(ty)))
        retr.append(lambda: None)

    ty = types.Array(types.float32, 1, "C")
    rec = types.Record.make_c_struct([("a", types.int32), ("b", types.float64)])
    plan = argplan.build_plan([ty, rec, types.Array(rec, 1, "C")], prepare)
    assert [e.kind for e in plan] == [argplan.K_ARRAY, argplan.K_FALLBACK, argplan.K_FALLBACK]
    host = np.zeros(4, np.float32)

    class Stream:  # the default stream: numba-cuda's own path for the host array
        def __cuda_stream__(self):
            return (0, 0)

    stream = Stream()
    impl.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, plan).pack(
        (host, np.zeros(1, REC)[0], np.zeros(2, REC)), 0, stream
    )
    assert [c[1] is host for c in calls] == [True, False, False]
    assert all(c[2] is stream for c in calls)


# ---- stream rules of __cuda_array_interface__ objects ----


def _recording_plan(cai_sync):
    calls = []

    def prepare(ty, val, stream, retr, kernelargs):
        calls.append(val)
        kernelargs.extend([0] * 7)

    plan = argplan.build_plan([types.Array(types.float32, 1, "C")], prepare, cai_sync=cai_sync)
    return plan, calls


@pytest.mark.parametrize(
    "cls, cai_stream, consumer, sync, fast",
    [
        (CAI, None, 0, True, True),  # no stream: nothing to order
        (CAI, 5, 5, True, False),  # NUMBA_CUDA_ARRAY_INTERFACE_SYNC: numba-cuda synchronises
        (CAI, 5, 5, False, True),
        (CAI, 5, 7, False, False),  # cuda.core orders the streams
        (CAI, 1, 0, False, True),  # 1 is CAI's legacy default stream
        (DLPackCAI, 5, 5, True, True),  # __dlpack__ on the producer's stream: a no-op
        (DLPackCAI, 1, 0, True, True),
        (DLPackCAI, 5, 7, True, False),  # numba-cuda calls __dlpack__(stream=...)
        (DLPackCAI, None, 0, True, False),  # producer stream unknown
    ],
)
def test_cai_stream_rules(impl, cls, cai_stream, consumer, sync, fast):
    plan, calls = _recording_plan(sync)
    obj = cls(4096, (4,), None, "<f4", stream=cai_stream)
    got = impl.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, plan).pack((obj,), consumer)
    assert (calls == []) is fast
    if fast:
        assert got == struct.pack("<7q", 0, 0, 4, 4, 4096, 4, 4)


# ---- API and errors ----


def test_plan_is_immutable_and_kinds_match():
    plan = argplan.build_plan(
        [types.int32, types.Array(types.float32, 2, "C")], KERNEL._prepare_args
    )
    assert isinstance(plan, tuple) and isinstance(plan[1], tuple)
    with pytest.raises(AttributeError):
        plan[0].kind = 3
    # Defined once, in _launcher_c/arg_kinds.h: the C module compiles it in
    # and exports the kinds, the twin reads the header (package data).
    kinds = arg_kinds.KINDS
    assert sorted(kinds.values()) == list(range(len(kinds)))
    for mod in launcher.IMPLEMENTATIONS.values():
        assert {name: getattr(mod, name) for name in kinds} == kinds
    # numba-cuda's plan builder uses the kinds it needs, by the same numbers
    used = {name: v for name, v in vars(argplan).items() if name in kinds}
    assert used and all(kinds[name] == v for name, v in used.items())


def test_argument_kinds_are_read_from_the_header():
    text = (files("numba_cuda_lcs") / "_launcher_c" / "arg_kinds.h").read_text()
    assert arg_kinds.read_kinds(text) == arg_kinds.KINDS
    assert arg_kinds.read_kinds("    X(K_NEW, 12) /* a new kind */ \\\n") == {"K_NEW": 12}


def test_the_c_module_exports_exactly_the_header_kinds(c_extension):
    exported = {name: v for name, v in vars(c_extension).items() if name.startswith("K_")}
    assert exported == arg_kinds.KINDS


def test_bad_construction_and_calls(impl):
    plan = argplan.build_plan([types.int32], KERNEL._prepare_args)
    with pytest.raises(ValueError):
        impl.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, ((99, print, (4,), 0, 0, None, True),))
    with pytest.raises(TypeError):
        impl.Launcher(1, (1, 1), (1, 1, 1), 0, False, plan)
    launcher = impl.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, plan)
    assert launcher.plan is plan
    with pytest.raises(TypeError):
        launcher.pack((1, 2))
    with pytest.raises(TypeError):
        launcher.pack([1])


def test_fallback_errors_propagate(impl):
    def bad(ty, val, stream, retr, kernelargs):
        raise KeyError("boom")

    plan = argplan.build_plan([types.Record.make_c_struct([("a", types.int32)])], bad)
    with pytest.raises(KeyError):
        impl.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, plan).pack((None,))


def _has_libcuda():
    try:
        ctypes.CDLL("libcuda.so.1")
        return True
    except OSError:
        return False


@pytest.mark.skipif(_has_libcuda(), reason="checks a machine without the CUDA driver")
def test_c_launch_without_driver_raises(c_extension):
    plan = argplan.build_plan([types.int32], KERNEL._prepare_args)
    launcher = c_extension.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, plan)
    with pytest.raises(RuntimeError, match="cannot load the CUDA driver"):
        launcher.launch((1,), 0)


def test_stream_handle(monkeypatch):
    class NumbaLike:
        def __init__(self, h):
            self.h = h

        def __cuda_stream__(self):
            return (0, self.h)

    monkeypatch.setattr(argplan, "_ptds", False)
    assert [argplan.stream_handle(s) for s in (0, None, 7, NumbaLike(0), NumbaLike(99))] == [
        0,
        0,
        7,
        0,
        99,
    ]
    monkeypatch.setattr(argplan, "_ptds", True)
    assert [argplan.stream_handle(s) for s in (0, None, NumbaLike(0), NumbaLike(1), 99)] == [
        2,
        2,
        2,
        1,
        99,
    ]
    with pytest.raises(TypeError):
        argplan.stream_handle("stream")


def test_debug_kernels_have_no_plan():
    class K(FakeKernel):
        debug = True

    assert argplan.plan_for_kernel(K()) is None


def test_extension_builds_without_cuda(tmp_path):
    """The C launcher's parts (numba_cuda_lcs/_launcher_c/*.c) compile with
    the C compiler alone (no CUDA headers), without warnings, and do not link
    libcuda; importing the module needs no driver."""
    cc = sysconfig.get_config_var("CC") or "cc"
    # The checkout's sources (an installed wheel does not ship them).
    parts = os.path.join(os.path.dirname(__file__), "..", "..", "numba_cuda_lcs", "_launcher_c")
    sources = sorted(glob.glob(os.path.join(parts, "*.c")))
    if not sources:
        pytest.skip("runs from a source checkout (needs numba_cuda_lcs/_launcher_c/*.c)")
    out = tmp_path / ("_launcher" + sysconfig.get_config_var("EXT_SUFFIX"))
    cmd = cc.split() + [
        "-shared",
        "-fPIC",
        "-O1",
        "-Wall",
        "-Werror",
        "-Wno-unused-parameter",
        "-I" + sysconfig.get_paths()["include"],
        *sources,
        "-o",
        str(out),
        "-ldl",
    ]
    try:
        built = subprocess.run(cmd, capture_output=True, text=True)
    except FileNotFoundError:
        pytest.skip("no C compiler")
    assert built.returncode == 0, built.stderr
    needed = subprocess.run(["ldd", str(out)], capture_output=True, text=True).stdout
    assert "libcuda" not in needed
    code = (
        "import importlib.util as u, sys;"
        f"s = u.spec_from_file_location('numba_cuda_lcs._launcher', {str(out)!r});"
        "m = u.module_from_spec(s); s.loader.exec_module(m);"
        "L = m.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, ());"
        "assert L.pack(()) == b'';"
        "print('ok')"
    )
    assert run_python("-c", code).stdout.strip() == "ok"


def test_array_elements_without_a_numpy_dtype_use_numba_cudas_marshalling():
    # bfloat16 has no NumPy dtype (numba-cuda's CuPy/ml_dtypes interop test
    # passes such arrays): the plan must not fail, the argument falls back.
    plan = argplan.build_plan([types.Array(types.bfloat16, 1, "C")], KERNEL._prepare_args)
    assert plan[0].kind == argplan.K_FALLBACK
