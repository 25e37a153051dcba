"""Launch plans for numba-cuda-mlir kernels, against numba-cuda-mlir's own
native launcher, without a GPU.

A plan (``backends/numba_cuda_mlir/launch_plans.py``) must hand the driver
exactly the kernel parameters ``numba_cuda_mlir._cext.LaunchConfiguration``
hands it.  A child process loads a stand-in CUDA driver
(``tests/support/fake_libcuda.c``, built here with ``cc``) and launches each
case of :func:`make_cases` through numba-cuda-mlir's native launcher, with a
compile callback returning a dummy cubin; the stand-in records the bytes of
every parameter slot.  Here, the plan built for the types numba-cuda-mlir
compiles the arguments as (``typeof`` of each) packs the same arguments
(``Launcher.pack``, over each twin), and each parameter's bytes must equal
the low bytes of numba-cuda-mlir's slot that the driver copies (the
kernel's parameter size).  Complex arrays are not planned (see
:data:`COMPLEX_STRIDES`): for them the test checks that no plan is built.
A value a plan declines makes ``pack`` raise TypeError (its entries have no
fallback).
"""

import json
import os
import select
import struct
import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402, F401

import numba_cuda_lcs  # noqa: E402, F401  (activates the package)
from numba_cuda_lcs import launcher  # noqa: E402
from numba_cuda_lcs._launcher_py.arg_kinds import (  # noqa: E402
    K_BOOL,
    K_F32,
    K_F64,
    K_INT,
    K_MEMREF,
)
from numba_cuda_lcs.backends.numba_cuda_mlir.launch_plans import plan_for  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda_mlir.manifest import NAMES  # noqa: E402

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CHILD_TIMEOUT = 300  # seconds


# --------------------------------------------------------------------------
# The cases (built the same way here and in the child)
# --------------------------------------------------------------------------


class FakeDeviceArray:
    """A device array as far as ``__cuda_array_interface__`` goes (fake
    pointer: nothing dereferences it)."""

    def __init__(self, ptr, shape, typestr, strides=None, **extra):
        self.__cuda_array_interface__ = {
            "version": 3,
            "data": (ptr, False),
            "shape": tuple(shape),
            "strides": None if strides is None else tuple(strides),
            "typestr": typestr,
            "stream": None,
            **extra,
        }

    def __repr__(self):
        cai = self.__cuda_array_interface__
        return f"FakeDeviceArray({cai['typestr']}, shape={cai['shape']}, strides={cai['strides']})"


_BASE = 0x7F3A_0000_0000


def _array(n, shape, typestr, strides=None, offset=0):
    return FakeDeviceArray(_BASE + n * 0x10_0000 + offset, shape, typestr, strides)


def make_cases():
    """[(name, args)]: argument lists ``plan_for`` covers."""
    f8 = np.dtype(np.float64).str
    cases = [
        # Python scalars
        ("int", (7,)),
        ("int negative", (-2,)),
        ("int int64 max", (2**63 - 1,)),
        ("int int64 min", (-(2**63),)),
        ("bool True", (True,)),
        ("bool False", (False,)),
        ("float", (1.5,)),
        ("float -0.0", (-0.0,)),
        ("float inf", (float("inf"),)),
        ("float nan", (float("nan"),)),
        ("float tiny", (5e-324,)),
        # NumPy scalars
        ("np.int8 -1", (np.int8(-1),)),
        ("np.int8 127", (np.int8(127),)),
        ("np.int16 -2", (np.int16(-2),)),
        ("np.int32", (np.int32(-123456),)),
        ("np.int32 max", (np.int32(2**31 - 1),)),
        ("np.int64", (np.int64(-5),)),
        ("np.uint8 255", (np.uint8(255),)),
        ("np.uint16 65535", (np.uint16(65535),)),
        ("np.uint32 max", (np.uint32(2**32 - 1),)),
        ("np.uint64 max", (np.uint64(2**64 - 1),)),
        ("np.uint64 2**63+1", (np.uint64(2**63 + 1),)),
        ("np.float32", (np.float32(2.5),)),
        ("np.float32 -0.0", (np.float32(-0.0),)),
        ("np.float32 nan", (np.float32("nan"),)),
        ("np.float32 max", (np.float32(3.4028235e38),)),
        ("np.float32 subnormal", (np.float32(1e-45),)),
        # arrays
        ("1-d f8 C", (_array(1, (10,), f8),)),
        ("2-d f4 C", (_array(2, (3, 4), "<f4"),)),
        ("3-d f8 C", (_array(3, (2, 3, 4), f8),)),
        ("2-d i2 C, explicit strides", (_array(4, (3, 4), "<i2", (8, 2)),)),
        # a[::2, 1::3] of a (8, 10) float64 array
        ("2-d f8 strided view", (_array(5, (4, 3), f8, (160, 24), offset=8),)),
        ("2-d f4 F", (_array(6, (3, 4), "<f4", (4, 12)),)),
        ("3-d i4 F", (_array(7, (2, 3, 4), "<i4", (4, 8, 24)),)),
        ("1-d f4 reversed", (_array(8, (5,), "<f4", (-4,), offset=16),)),
        ("0-d f8", (_array(9, (), f8),)),
        ("1-d f8 empty", (_array(10, (0,), f8),)),
        ("2-d f8 empty", (_array(11, (0, 5), f8),)),
        ("1-d i4", (_array(12, (6,), "<i4"),)),
        ("1-d i2", (_array(13, (6,), "<i2"),)),
        ("1-d u1", (_array(14, (6,), "|u1"),)),
        ("1-d c8", (_array(15, (6,), "<c8"),)),
        ("2-d c8 strided", (_array(16, (3, 2), "<c8", (32, 8)),)),
        ("2-d c8 F", (_array(26, (3, 2), "<c8", (8, 24)),)),
        ("2-d c8 C, explicit strides", (_array(27, (3, 2), "<c8", (16, 8)),)),
        ("1-d c16", (_array(28, (6,), "<c16"),)),
        ("1-d c16 strided", (_array(29, (3,), "<c16", (32,)),)),
        ("1-d b1", (_array(17, (6,), "|b1"),)),
        ("1-d u8", (_array(18, (6,), "<u8"),)),
        ("1-d i8", (_array(19, (6,), "<i8"),)),
        # mixed argument lists
        ("array + scalars", (_array(20, (3, 4), "<f4"), 7, 2.5, True)),
        (
            "small scalars around arrays",
            (
                np.int8(-5),
                _array(21, (6,), "<i4"),
                np.uint16(65535),
                np.float32(1.25),
                np.int32(-7),
                _array(22, (2, 3, 4), f8, (96, 32, 8)),
                np.int8(3),
                False,
            ),
        ),
        ("array + int >= 2**63", (_array(23, (4,), f8), 2**63 + 5)),
        (
            "scalars of every width",
            (
                np.int8(1),
                np.int16(-300),
                True,
                np.int32(70000),
                np.uint8(200),
                np.int64(-(2**40)),
                np.float32(-3.5),
                np.uint32(4000000000),
                1.0e300,
                np.uint16(1),
                3,
            ),
        ),
        # numba-cuda-mlir's launch-latency microbenchmark: 256 float32 scalars
        ("256 float32 scalars", tuple(np.float32(i - 100.5) for i in range(256))),
        ("70 mixed scalars", tuple((np.int8(i), np.float64(i / 3))[i % 2] for i in range(70))),
        (
            "two arrays, F and strided",
            (_array(24, (3, 4), "<f4", (4, 12)), _array(25, (4,), "<i2", (6,))),
        ),
    ]
    return cases


CASES = make_cases()

#: Why complex arrays are not planned (numba-cuda-mlir launches them itself).
COMPLEX_STRIDES = (
    "numba-cuda-mlir 0.6.0's native launcher divides the CAI byte strides of a "
    "complex array by the size of one component (itemsize / 2: its DLPack dtype "
    "counts bits per component), so it passes twice the element strides; the plan "
    "passes element strides, which is what the compiled kernel indexes by (its "
    "PTX scales the stride by the whole complex itemsize): a strided complex "
    "array reads other elements than the kernel's indexing says.  A plan would "
    "launch such arrays differently from numba-cuda-mlir's own first launch, so "
    "complex arrays stay numba-cuda-mlir's to launch (compact ones agree)."
)
MISMATCHING_CASES = {  # measured with this test before complex arrays were declined
    "2-d c8 strided",
    "2-d c8 F",
    "2-d c8 C, explicit strides",
    "1-d c16 strided",
}
CASE_PARAMS = [pytest.param(name, id=name) for name, _ in CASES]


def _has_complex_array(args):
    types = NAMES.types
    return any(
        isinstance(t, types.Array) and isinstance(t.dtype, types.Complex)
        for t in (NAMES.typeof(a) for a in args)
    )


def kernel_param_sizes(ty):
    """The byte size of each kernel parameter numba-cuda-mlir 0.6.0 compiles
    numba type *ty* to (read from the PTX its compiler emits: each array an
    expanded memref descriptor, ptr, ptr, offset, shape, strides; scalars of
    their own width, a boolean one byte)."""
    types = NAMES.types
    if isinstance(ty, types.Array):
        return [8] * (3 + 2 * ty.ndim)
    if ty == types.boolean:
        return [1]
    if isinstance(ty, (types.Integer, types.Float)):
        return [ty.bitwidth // 8]
    raise AssertionError(f"no kernel ABI known here for {ty}")


# --------------------------------------------------------------------------
# The child: numba-cuda-mlir's native launcher over the stand-in driver
# --------------------------------------------------------------------------


#: The child's native dispatchers, never freed (see _child_main): a module
#: global, so that none goes when the function that made it returns.
_NATIVES = []


def _child_main(out_path):
    from numba_cuda_mlir import _cext

    log = os.environ["LCS_FAKE_CUDA_LOG"]
    if not _cext.cuda_available:
        raise SystemExit("numba-cuda-mlir did not load the stand-in driver")

    def compile_callback(args):
        return (b"LCS-FAKE-CUBIN", "lcs_fake_kernel", False)

    # One native dispatcher per case (a kernel of its own), each kept alive:
    # numba-cuda-mlir 0.6.0 corrupts the heap when a native dispatcher that
    # launched is freed (its KernelFamily's refcount starts at 0, so the
    # family is deleted once by the dispatcher's family map and then
    # released again by the launch profile that shares it).  The child
    # exits without freeing them.
    natives = _NATIVES
    results = {}
    for name, args in make_cases():
        nparams = sum(len(kernel_param_sizes(NAMES.typeof(a))) for a in args)
        os.environ["LCS_FAKE_CUDA_PARAMS"] = str(nparams)
        open(log, "w").close()
        natives.append(_cext.KernelDispatcher(compile_callback, (False,) * len(args), None))
        try:
            _cext.LaunchConfiguration(natives[-1], (1,), (1,))(*args)
        except Exception as exc:
            results[name] = {"error": f"{type(exc).__name__}: {exc}"}
            continue
        with open(log) as f:
            lines = f.read().splitlines()
        results[name] = {"launches": [line.split()[1:] for line in lines]}
    from support import fake_driver

    fake_driver.write_results(out_path, results)


# The property-based half: a child serving launches one at a time (a JSON
# line in, the parameter slots numba-cuda-mlir's launcher handed the driver
# out), so that hypothesis draws the arguments here.


def encode(value):
    """*value* as JSON (what :func:`decode` rebuilds in the child)."""
    if isinstance(value, FakeDeviceArray):
        cai = value.__cuda_array_interface__
        return {"array": [cai["data"][0], cai["shape"], cai["strides"], cai["typestr"]]}
    if type(value) is bool:
        return {"bool": value}
    if type(value) is int:
        return {"int": str(value)}
    if type(value) is float:  # the bits: NaN payloads and signs included
        return {"float": struct.pack("<d", value).hex()}
    if isinstance(value, np.generic):
        return {"numpy": [value.dtype.str, value.tobytes().hex()]}
    raise TypeError(f"cannot send {value!r}")


def decode(obj):
    ((kind, v),) = obj.items()
    if kind == "array":
        ptr, shape, strides, typestr = v
        return FakeDeviceArray(ptr, shape, typestr, strides)
    if kind == "bool":
        return v
    if kind == "int":
        return int(v)
    if kind == "float":
        return struct.unpack("<d", bytes.fromhex(v))[0]
    dtype, raw = v
    return np.frombuffer(bytes.fromhex(raw), dtype=dtype)[0]


def _serve():
    from numba_cuda_mlir import _cext
    from support import fake_driver

    log = os.environ["LCS_FAKE_CUDA_LOG"]
    if not _cext.cuda_available:
        raise SystemExit("numba-cuda-mlir did not load the stand-in driver")
    print(json.dumps({"foreign_drivers": fake_driver.foreign_drivers()}), flush=True)

    def compile_callback(args):
        return (b"LCS-FAKE-CUBIN", "lcs_fake_kernel", False)

    natives = _NATIVES  # kept alive: see _child_main
    for line in sys.stdin:
        request = json.loads(line)
        args = tuple(decode(a) for a in request["args"])
        os.environ["LCS_FAKE_CUDA_PARAMS"] = str(request["nparams"])
        open(log, "w").close()
        natives.append(_cext.KernelDispatcher(compile_callback, (False,) * len(args), None))
        try:
            _cext.LaunchConfiguration(natives[-1], (1,), (1,))(*args)
        except Exception as exc:
            reply = {"error": f"{type(exc).__name__}: {exc}"}
        else:
            with open(log) as f:
                reply = {"launches": [line.split()[1:] for line in f.read().splitlines()]}
        print(json.dumps(reply), flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        _serve()
    else:
        _child_main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # the native dispatchers are never freed (see _child_main)


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def native_slots(tmp_path_factory):
    """{case name: [hex of each 8-byte parameter slot]} as numba-cuda-mlir's
    native launcher passed them to the driver (or {"error": ...})."""
    from support import fake_driver  # not at the top: the child runs this file

    return fake_driver.run_child(__file__, tmp_path_factory.mktemp("fake_libcuda"), CHILD_TIMEOUT)


def _split(buf, sizes):
    """The parameters in a pack() buffer: each at its natural alignment."""
    params, pos = [], 0
    for size in sizes:
        align = 1
        while align < 8 and align * 2 <= size:
            align *= 2
        pos += -pos % align
        params.append(buf[pos : pos + size])
        pos += size
    assert pos == len(buf), f"buffer of {len(buf)} bytes, parameters end at {pos}"
    return params


@pytest.mark.parametrize("name", CASE_PARAMS)
def test_plan_bytes_match_native_launcher(native_slots, twins, name):
    args = dict(CASES)[name]
    signature = tuple(NAMES.typeof(a) for a in args)
    plan = plan_for(signature)
    if _has_complex_array(args):
        assert plan is None, f"{name}: complex arrays are not planned ({COMPLEX_STRIDES})"
        return
    assert name not in MISMATCHING_CASES
    assert plan is not None, f"{name}: plan_for{signature} declined"
    sizes = [s for ty in signature for s in kernel_param_sizes(ty)]
    plan_sizes = [s for entry in plan for s in entry.sizes]
    assert plan_sizes == sizes, (
        f"{name}: plan sizes {plan_sizes} != kernel parameter sizes {sizes} for {signature}"
    )

    theirs = native_slots[name]
    assert "error" not in theirs, f"{name}: numba-cuda-mlir's launcher raised {theirs['error']}"
    assert len(theirs["launches"]) == 1, f"{name}: launches logged: {theirs['launches']}"
    slots = [bytes.fromhex(s) for s in theirs["launches"][0]]
    assert len(slots) == len(sizes)

    packed = launcher.Launcher(0x1234, (1, 1, 1), (1, 1, 1), 0, False, plan).pack(args)
    ours = _split(packed, sizes)
    differing = [
        f"parameter {i}: ours {mine.hex()}, numba-cuda-mlir's {slot[:size].hex()}"
        for i, (size, mine, slot) in enumerate(zip(sizes, ours, slots))
        if mine != slot[:size]
    ]
    assert not differing, (
        f"{name} ({twins}), {signature}: "
        + "; ".join(differing)
        + f"\n ours: {' '.join(p.hex() for p in ours)}"
        + f"\n numba-cuda-mlir: {' '.join(s[:n].hex() for s, n in zip(slots, sizes))}"
    )


def _cai_with(**changes):
    array = _array(30, (3, 4), "<f4")
    array.__cuda_array_interface__.update(changes)
    return array


DECLINED = [
    ("memref mask", K_MEMREF, _array(30, (3, 4), "<f4"), _cai_with(mask=_array(31, (3, 4), "|b1"))),
    ("memref typestr", K_MEMREF, _array(30, (3, 4), "<f4"), _cai_with(typestr="<i4")),
    ("memref stream not an int", K_MEMREF, _array(30, (3, 4), "<f4"), _cai_with(stream="2")),
    ("memref negative stream", K_MEMREF, _array(30, (3, 4), "<f4"), _cai_with(stream=-2)),
    ("memref no CAI", K_MEMREF, _array(30, (3, 4), "<f4"), object()),
    ("int float", K_INT, np.int32(3), 1.5),
    ("int str", K_INT, 3, "3"),
    ("bool float", K_BOOL, True, 1.5),
    ("f32 str", K_F32, np.float32(1), "x"),
    ("f64 None", K_F64, 1.0, None),
]


@pytest.mark.parametrize("kind, good, bad", [d[1:] for d in DECLINED], ids=[d[0] for d in DECLINED])
def test_declined_value_raises(twins, kind, good, bad):
    plan = plan_for((NAMES.typeof(good),), cai_sync=True)
    assert plan is not None and plan[0].kind == kind and plan[0].fallback is None
    launch = launcher.Launcher(0x1234, (1, 1, 1), (1, 1, 1), 0, False, plan)
    launch.pack((good,))  # the plan's own value packs
    with pytest.raises(TypeError):
        launch.pack((bad,))


def test_a_stream_the_interface_names_changes_no_parameter(twins):
    # The stream is synchronised before the launch (see
    # tests/launch_path/test_launch_over_fake_driver.py), not passed.
    plan = plan_for((NAMES.typeof(_array(30, (3, 4), "<f4")),), cai_sync=True)
    launch = launcher.Launcher(0x1234, (1, 1, 1), (1, 1, 1), 0, False, plan)
    assert launch.pack((_cai_with(stream=2),)) == launch.pack((_array(30, (3, 4), "<f4"),))


# --------------------------------------------------------------------------
# Property-based: arguments hypothesis draws, against the native launcher
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def native_launch(tmp_path_factory):
    """launch(args) -> numba-cuda-mlir's parameter slots for *args* (hex of
    each 8-byte slot), from a serving child over the stand-in driver."""
    from support import fake_driver  # not at the top: the child runs this file

    tmp = tmp_path_factory.mktemp("fake_libcuda_serve")
    env = fake_driver.child_env(fake_driver.build(tmp), LCS_FAKE_CUDA_LOG=str(tmp / "launch.log"))
    errors = tmp / "stderr.txt"
    with open(errors, "w") as stderr:
        server = subprocess.Popen(
            [sys.executable, os.path.abspath(__file__), "--serve"],
            cwd=REPO_ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )

    def reply():
        ready, _, _ = select.select([server.stdout], [], [], CHILD_TIMEOUT)
        line = server.stdout.readline() if ready else ""
        if not line:
            server.kill()
            server.wait(CHILD_TIMEOUT)
            pytest.fail(
                f"the serving child died or hung ({server.returncode}):\n{errors.read_text()}"
            )
        return json.loads(line)

    try:
        fake_driver.skip_when_foreign(reply())

        def launch(args):
            nparams = sum(len(kernel_param_sizes(NAMES.typeof(a))) for a in args)
            request = {"args": [encode(a) for a in args], "nparams": nparams}
            server.stdin.write(json.dumps(request) + "\n")
            server.stdin.flush()
            return reply()

        yield launch
    finally:
        server.stdin.close()
        try:
            server.wait(CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            server.kill()


ARRAY_DTYPES = ["<f4", "<f8", "|i1", "<i2", "<i4", "<i8", "|u1", "<u2", "<u4", "<u8", "|b1"]


@st.composite
def device_arrays(draw):
    typestr = draw(st.sampled_from(ARRAY_DTYPES))
    itemsize = np.dtype(typestr).itemsize
    ndim = draw(st.integers(0, 3))
    shape = tuple(draw(st.lists(st.integers(0, 6), min_size=ndim, max_size=ndim)))
    strides = None
    # (numba-cuda-mlir 0.6.0 cannot type a boolean array with strides: its
    # typeof reads the dtype's bitwidth, which Boolean lacks.)
    if ndim and typestr != "|b1" and draw(st.booleans()):
        # multiples of the item size, or any byte strides (numba-cuda-mlir
        # divides them by the item size, truncating)
        stride = st.one_of(
            st.integers(-48, 48).map(lambda k: k * itemsize),
            st.integers(-48 * itemsize, 48 * itemsize),
        )
        strides = tuple(draw(stride) for _ in range(ndim))
    ptr = draw(st.integers(1, 2**40)) * 256
    return FakeDeviceArray(ptr, shape, typestr, strides)


def _numpy_scalars():
    kinds = []
    for dtype in (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64):
        info = np.iinfo(dtype)
        kinds.append(st.integers(int(info.min), int(info.max)).map(dtype))
    kinds.append(st.floats(width=32, allow_nan=True, allow_infinity=True).map(np.float32))
    kinds.append(st.floats(allow_nan=True, allow_infinity=True).map(np.float64))
    # (np.bool_: numba-cuda-mlir passes bool(value) to its launcher, which
    # refuses np.bool_ itself; a launch it converted is never planned.)
    return st.one_of(kinds)


kernel_arguments = st.one_of(
    device_arrays(),
    st.integers(-(2**63), 2**64 - 1),  # Python ints: int64, or uint64 past it
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    _numpy_scalars(),
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(args=st.lists(kernel_arguments, min_size=1, max_size=6))
def test_plan_bytes_match_native_launcher_for_drawn_arguments(native_launch, twins, args):
    """For arguments of every kind numba-cuda-mlir's launcher takes (Python
    numbers and booleans, NumPy integers and floats, non-complex device
    arrays of any layout), the plan's parameter bytes are those
    numba-cuda-mlir hands the driver."""
    args = tuple(args)
    signature = tuple(NAMES.typeof(a) for a in args)
    plan = plan_for(signature)
    assert plan is not None, f"plan_for{signature} declined"
    sizes = [s for ty in signature for s in kernel_param_sizes(ty)]
    theirs = native_launch(args)
    if "error" in theirs:
        # What numba-cuda-mlir's launcher refuses is never launched, so
        # never planned.  0.6.0 refuses a Python int past int64 when every
        # argument is a scalar (its scalar fast path); nothing else.
        scalars_only = not any(isinstance(a, FakeDeviceArray) for a in args)
        past_int64 = any(type(a) is int and a >= 2**63 for a in args)
        assert scalars_only and past_int64, (theirs["error"], args)
        assert theirs["error"].startswith("OverflowError"), theirs["error"]
        return
    assert len(theirs["launches"]) == 1
    slots = [bytes.fromhex(x) for x in theirs["launches"][0]]
    packed = launcher.Launcher(0x1234, (1, 1, 1), (1, 1, 1), 0, False, plan).pack(args)
    ours = _split(packed, sizes)
    assert ours == [slot[:size] for slot, size in zip(slots, sizes)], (args, signature)
