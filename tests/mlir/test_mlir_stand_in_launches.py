"""numba-cuda-mlir kernels launched end to end over the stand-in CUDA
driver, without a GPU.

A child process loads ``tests/support/fake_libcuda.c`` as the driver, so
that numba-cuda-mlir compiles real kernels (for the stand-in's sm_90),
loads them, makes device arrays (host memory), and launches -- through its
own path, or through a launch site's C path once a launch is remembered.
Nothing runs on a device; the stand-in logs what each launch handed the
driver (parameter bytes, stream, dynamic shared memory, which function)
and every stream synchronisation and opt-in.  Each scenario launches a
kernel a few times and records which path took each launch
(``_lcs_slow_call``: numba-cuda-mlir's) and what the driver saw, so the
tests check what a GPU run would: the C path takes the launches it may,
hands the driver what numba-cuda-mlir hands it, and leaves the others to
numba-cuda-mlir.  Over each launcher twin.
"""

import os
import sys

import pytest
from support.installs import requires_numpy

pytestmark = requires_numpy

CHILD_TIMEOUT = 600  # seconds: the child compiles a dozen kernels
MLIR = "numba-cuda-mlir"


# --------------------------------------------------------------------------
# The child
# --------------------------------------------------------------------------


def _stand_in_cupy():
    """A ``cupy`` module as far as numba-cuda-mlir and the launch sites look:
    ``ndarray`` (float32, 4 elements, its interface naming CuPy's current
    stream, 1 for the default one; ``reads`` counts the interface's reads;
    the attributes the sites' CuPy reader reads: ``data.ptr``,
    ``_c_contiguous``, ``strides``), ``cuda.Stream``, ``cuda.get_current_stream``.
    Installed before numba-cuda-mlir is imported (its native launcher looks
    CuPy's classes up then).  Returns (module, set_current_stream)."""
    import importlib.machinery
    import types

    import numpy as np
    from support import fake_driver

    cupy = types.ModuleType("cupy")
    cupy.__spec__ = importlib.machinery.ModuleSpec("cupy", None)
    cupy.cuda = types.ModuleType("cupy.cuda")
    cupy.cuda.__spec__ = importlib.machinery.ModuleSpec("cupy.cuda", None)

    class Stream:
        def __init__(self, ptr):
            self.ptr = ptr

    current = [Stream(0)]

    def get_current_stream(device=-1):
        return current[0]

    class MemoryPointer:
        def __init__(self, ptr):
            self.ptr = ptr

    class ndarray:  # noqa: N801 -- CuPy's name
        reads = 0
        export_stream = True  # False: as CUPY_CUDA_ARRAY_INTERFACE_EXPORT_VERSION=2

        def __init__(self, ptr):
            self.ptr, self.dtype, self.shape = ptr, np.dtype(np.float32), (4,)
            self._c_contiguous, self.strides = True, (4,)

        @property
        def data(self):
            return MemoryPointer(self.ptr)

        @property
        def ndim(self):
            return len(self.shape)

        @property
        def size(self):
            return int(np.prod(self.shape))

        @property
        def __cuda_array_interface__(self):
            type(self).reads += 1
            stream = current[0].ptr or 1 if self.export_stream else None
            return fake_driver.interface(self.ptr, stream)

    ndarray.__module__ = Stream.__module__ = "cupy"
    cupy.ndarray, cupy.cuda.Stream, cupy.cuda.get_current_stream = (
        ndarray,
        Stream,
        get_current_stream,
    )
    sys.modules["cupy"], sys.modules["cupy.cuda"] = cupy, cupy.cuda

    def set_current_stream(ptr):
        current[0] = Stream(ptr)

    return cupy, set_current_stream


#: NUMBA_CUDA_ARRAY_INTERFACE_SYNC at each launch of the "sync setting
#: changed" scenarios.
SYNC_SETTINGS = (0, 0, 1, 2, 1, 0, 0)  # (2: true, as numba-cuda-mlir tests it)


def _child_main(out_path):
    cupy, set_current_stream = _stand_in_cupy()

    import numpy as np
    from numba_cuda_mlir import cuda
    from numba_cuda_mlir._whole_function_planners import (
        WholeFunctionPlanner,
        _planner_registry,
        register_planner,
        require_launch_config,
        set_required_dynamic_shared_memory,
    )
    from support import fake_driver

    from numba_cuda_lcs import launcher
    from numba_cuda_lcs.backends.numba_cuda_mlir.configured_launch import ConfiguredLaunch

    log, stream_log = os.environ["LCS_FAKE_CUDA_LOG"], os.environ["LCS_FAKE_CUDA_STREAM_LOG"]
    slow_calls = []
    stock_slow_call = ConfiguredLaunch._lcs_slow_call

    def counting_slow_call(self, args):
        slow_calls.append(1)
        return stock_slow_call(self, args)

    ConfiguredLaunch._lcs_slow_call = counting_slow_call

    def launch(site, args, nparams):
        """One launch: which path took it and what the driver saw."""
        os.environ["LCS_FAKE_CUDA_PARAMS"] = str(nparams)
        open(log, "w").close()
        open(stream_log, "w").close()
        before = len(slow_calls)
        try:
            site(*args)
            error = None
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
        with open(log) as f:
            launches = [line.split()[1:] for line in f.read().splitlines()]
        with open(stream_log) as f:
            driver = f.read().splitlines()
        return {
            "path": MLIR if len(slow_calls) > before else "C",
            "slots": launches[0] if len(launches) == 1 else launches,
            "driver": driver,
            "error": error,
        }

    def scalars(*values):
        return [np.float32(v) for v in values]

    results = {}

    # A plain kernel of one float32.
    @cuda.jit
    def scalar(x):
        if cuda.threadIdx.x > 4096:
            cuda.syncthreads()

    site = scalar[1, 1]
    results["scalar"] = [launch(site, [v], 1) for v in scalars(1.5, 2.5, 3.5)]

    # A device array and a scalar.
    @cuda.jit
    def array(a, x):
        if cuda.threadIdx.x > 4096:
            a[0] = x

    a = cuda.to_device(np.arange(4, dtype=np.float32))
    site = array[1, 1]
    results["array"] = [launch(site, [a, v], 6) for v in scalars(1.0, 2.0, 3.0)]

    # An object whose interface names a stream: synchronised first.
    class Interface:
        def __init__(self, ptr):
            self.__cuda_array_interface__ = fake_driver.interface(ptr, 0x5000)

    foreign = Interface(a.__cuda_array_interface__["data"][0])
    results["interface stream"] = [launch(site, [foreign, v], 6) for v in scalars(1, 2, 3)]

    # CuPy arrays (the stand-in's) with no stream configured: CuPy's current
    # stream, read at each launch; a subclass from elsewhere too.
    launcher.configure_cupy(cupy.ndarray, cupy.cuda.get_current_stream)

    class Mine(cupy.ndarray):
        pass

    Mine.__module__ = "mylib"

    def counting_reads(site, array_):
        """A launch of *array_* and 1.0, with how often the launch read
        the array's interface."""
        reads = type(array_).reads
        record = launch(site, [array_, np.float32(1)], 6)
        record["interface reads"] = type(array_).reads - reads
        return record

    data = a.__cuda_array_interface__["data"][0]
    for name, cls in (("cupy", cupy.ndarray), ("cupy subclass", Mine)):
        array_ = cls(data)
        site = array[1, 1]
        records = []
        for ptr in (0x5000, 0x5000, 0x6000, 0, 0):
            set_current_stream(ptr)
            records.append(counting_reads(site, array_))
        results[name] = records
    # the array's pointer changes (CuPy's never do; a reader must see it):
    # the remembered values no longer match, numba-cuda-mlir launches
    array_ = cupy.ndarray(data)
    site = array[1, 1]
    records = [launch(site, [array_, np.float32(1)], 6) for _ in range(2)]
    array_.ptr = data + 4
    records += [launch(site, [array_, np.float32(1)], 6) for _ in range(2)]
    results["cupy, pointer changed"] = records
    # a launch on another stream than CuPy's current one: that one is
    # synchronised first, the launch goes on its own
    site = array[1, 1, 0x7000]
    set_current_stream(0x5000)
    array_ = cupy.ndarray(data)
    results["cupy, configured stream"] = [counting_reads(site, array_) for _ in range(3)]
    # an interface naming no stream (CuPy's export version 2, a module
    # global CuPy reads on each access): read at every launch, as it may
    # name one later
    array_ = cupy.ndarray(data)
    array_.export_stream = False
    site = array[1, 1]
    results["cupy, no stream named"] = [counting_reads(site, array_) for _ in range(3)]
    # NUMBA_CUDA_ARRAY_INTERFACE_SYNC changed between launches (numba-cuda-mlir
    # reads it at every launch): an interface naming a stream, and CuPy's
    from numba_cuda_lcs.backends.numba_cuda_mlir.manifest import NAMES

    config = NAMES.cuda_config
    saved = config.CUDA_ARRAY_INTERFACE_SYNC
    set_current_stream(0x5000)
    for name, make in (("interface", Interface), ("cupy", cupy.ndarray), ("own", None)):
        array_ = a if make is None else make(data)  # own: numba-cuda-mlir's array
        site = array[1, 1]
        records = []
        for setting in SYNC_SETTINGS:
            config.CUDA_ARRAY_INTERFACE_SYNC = setting
            records.append(launch(site, [array_, np.float32(1)], 6))
        results[f"sync setting changed, {name}"] = records
    config.CUDA_ARRAY_INTERFACE_SYNC = saved
    set_current_stream(0)

    # While a planner is registered: one that touches nothing, one that
    # requires dynamic shared memory of a kernel, one that makes a kernel
    # launch-dependent, one that does so for float64 arguments only.
    class Planner(WholeFunctionPlanner):
        def run(self):
            if self.is_device_function:
                return False
            name = self.state.func_id.func_name
            if name == "needs_shared":
                set_required_dynamic_shared_memory(self.state, 64 * 1024)
            elif name == "per_launch":
                require_launch_config(self.state)
            elif name == "per_launch_for_int":
                if any(str(t) == "int64" for t in self.state.args):
                    require_launch_config(self.state)
            elif name == "per_block":
                # as cuda.coop sizes a buffer from the block: per configuration
                config = require_launch_config(self.state)
                set_required_dynamic_shared_memory(self.state, 4 * config["block"][0])
            return False

    register_planner(Planner)
    try:

        @cuda.jit
        def plain(x):
            if cuda.threadIdx.x > 4096:
                cuda.syncthreads()

        site = plain[1, 1]
        results["planner, plain"] = [launch(site, [v], 1) for v in scalars(1, 2, 3)]

        @cuda.jit
        def needs_shared(x):
            buf = cuda.shared.array(0, np.float32)
            if cuda.threadIdx.x > 4096:
                buf[0] = x

        site = needs_shared[1, 1]
        results["planner, shared memory"] = [launch(site, [v], 1) for v in scalars(1, 2, 3)]

        @cuda.jit
        def per_launch(x):
            if cuda.threadIdx.x > 4096:
                cuda.syncthreads()

        site = per_launch[1, 1]
        results["planner, launch-dependent"] = [launch(site, [v], 1) for v in scalars(1, 2, 3)]

        @cuda.jit
        def per_block(x):
            buf = cuda.shared.array(0, np.float32)
            if cuda.threadIdx.x > 4096:
                buf[0] = x

        sites = {block: per_block[1, block] for block in (32, 64)}
        results["planner, per configuration"] = [
            dict(launch(sites[block], [np.float32(1)], 1), block=block)
            for _ in range(3)
            for block in (32, 64)
        ]

        @cuda.jit
        def per_launch_for_int(x):
            if cuda.threadIdx.x > 4096:
                cuda.syncthreads()

        # (an int64, not a float64: numba-cuda-mlir's native launcher picks
        # a kernel by argument kind, and would run a float64 kernel for a
        # float32 value -- which no plan stands for)
        site = per_launch_for_int[1, 1]
        f32, i64 = np.float32(1), np.int64(2)
        results["planner, becomes launch-dependent"] = [
            launch(site, [value], 1) for value in (f32, f32, i64, f32, f32)
        ]
    finally:
        _planner_registry._planners.remove(Planner)

    results["implementation"] = launcher.IMPLEMENTATION
    fake_driver.write_results(out_path, results)
    # Exit here, with every kernel alive: numba-cuda-mlir 0.6.0 may free a
    # native dispatcher that launched twice (heap corruption), as freeing
    # this function's locals on return would.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    _child_main(sys.argv[1])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)  # numba-cuda-mlir 0.6.0 may double-free native dispatchers at exit


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def launches(tmp_path_factory):
    """{scenario: [one record per launch]} for each twin, from one child each."""
    pytest.importorskip("numba_cuda_mlir")
    from support import fake_driver  # not at the top: the child runs this file

    found = {}

    def run(twin):
        if twin in found:
            return found[twin]
        tmp = tmp_path_factory.mktemp(f"stand_in_{twin}")
        found[twin] = fake_driver.run_child(__file__, tmp, CHILD_TIMEOUT)
        assert found[twin]["implementation"] == twin
        return found[twin]

    return run


def paths(records):
    return [r["path"] for r in records]


def no_errors(records):
    assert [r["error"] for r in records] == [None] * len(records)


def f32(value):
    import struct

    return struct.pack("<f", value).hex()


def test_a_plain_kernel_launches_from_c_once_remembered(launches, twins):
    records = launches(twins)["scalar"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]
    # each launch hands the driver its own value (the low 4 bytes of the slot)
    assert [r["slots"][0][:8] for r in records] == [f32(1.5), f32(2.5), f32(3.5)]


def test_array_launches_hand_the_driver_what_numba_cuda_mlir_does(launches, twins):
    records = launches(twins)["array"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]
    descriptor = records[0]["slots"][:5]  # data, data, offset, shape, stride
    assert [r["slots"][:5] for r in records] == [descriptor] * 3
    assert [r["slots"][5][:8] for r in records] == [f32(1), f32(2), f32(3)]


def test_a_stream_an_interface_names_is_synchronised_before_every_launch(launches, twins):
    records = launches(twins)["interface stream"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]
    for r in records:  # numba-cuda-mlir's launch and the plan's alike
        assert r["driver"][0] == "sync 5000" and r["driver"][1].startswith("launch 0 smem=0 ")


def test_plain_kernels_launch_from_c_while_planners_are_registered(launches, twins):
    records = launches(twins)["planner, plain"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]


def test_a_planners_shared_memory_requirement_is_launched_with(launches, twins):
    records = launches(twins)["planner, shared memory"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]
    for r in records:
        launched = [line for line in r["driver"] if line.startswith("launch ")]
        assert len(launched) == 1 and " smem=65536 " in launched[0], r["driver"]
    # numba-cuda-mlir opts its function in; the plan's function (another
    # handle) is opted in once, when the launch is remembered
    mlir_fn = records[0]["driver"][1].rsplit("fn=", 1)[1]
    plan_fn = records[1]["driver"][-1].rsplit("fn=", 1)[1]
    assert mlir_fn != plan_fn
    opt_ins = [line for r in records for line in r["driver"] if line.startswith("optin ")]
    assert opt_ins == [f"optin fn={mlir_fn} 65536", f"optin fn={plan_fn} 65536"]


def test_kernels_a_planner_makes_launch_dependent_launch_from_c_per_configuration(launches, twins):
    records = launches(twins)["planner, launch-dependent"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]


def test_each_configuration_launches_its_own_compile(launches, twins):
    # The planner sizes dynamic shared memory from the block (4 bytes per
    # thread), so each configuration's compile is told apart by what the
    # driver is handed; two configurations alternating, from C after the
    # first launch of each.
    records = launches(twins)["planner, per configuration"]
    no_errors(records)
    assert paths(records) == [MLIR, MLIR, "C", "C", "C", "C"]
    for r in records:
        launched = [line for line in r["driver"] if line.startswith("launch ")]
        assert len(launched) == 1 and f" smem={4 * r['block']} " in launched[0], r


def test_a_kernel_becoming_launch_dependent_is_forgotten(launches, twins):
    # float32 launches are remembered; an int64 launch makes the planner
    # require the launch configuration: numba-cuda-mlir now launches per
    # configuration, and no remembered float32 launch may run its old
    # (generic) kernel -- the next float32 launch is numba-cuda-mlir's, per
    # configuration, and remembered as such.
    records = launches(twins)["planner, becomes launch-dependent"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", MLIR, MLIR, "C"]


@pytest.mark.parametrize("case", ["cupy", "cupy subclass"])
def test_cupy_arrays_launch_on_cupys_current_stream_as_numba_cuda_mlir_does(launches, twins, case):
    records = launches(twins)[case]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C", "C", "C"]
    # (CuPy's interface names its default stream 1; a launch on it is on 0)
    expected = [("5000", "5000"), ("5000", "5000"), ("6000", "6000")] + [("1", "0")] * 2
    assert len(records) == len(expected)
    for r, (synced, stream) in zip(records, expected):
        assert r["driver"][0] == f"sync {synced}", r["driver"]
        assert r["driver"][1].startswith(f"launch {stream} smem=0 "), r["driver"]
    descriptor = records[0]["slots"][:5]  # data, data, offset, shape, stride
    assert [r["slots"][:5] for r in records] == [descriptor] * 5


def test_cupy_arrays_are_read_without_their_interface_once_remembered(launches, twins):
    # CuPy builds its interface dict on each access; the sites read CuPy's
    # attributes instead (as on numba-cuda), and still synchronise the
    # stream the interface would name (the test above)
    # (the first launch on CuPy's default stream reads it once: what the
    # interface calls that stream, 1 or 2, is learnt from it)
    assert [r["interface reads"] for r in launches(twins)["cupy"]][1:] == [0, 0, 1, 0]
    # other classes (a subclass too) are read through their interface
    assert all(r["interface reads"] > 0 for r in launches(twins)["cupy subclass"])


def test_a_cupy_array_launched_on_another_stream_syncs_cupys_current_one(launches, twins):
    records = launches(twins)["cupy, configured stream"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]
    for r in records:
        assert r["driver"][0] == "sync 5000", r["driver"]
        assert r["driver"][1].startswith("launch 7000 smem=0 "), r["driver"]
    assert [r["interface reads"] for r in records][1:] == [0, 0]


def test_an_interface_naming_no_stream_is_read_at_every_launch(launches, twins):
    records = launches(twins)["cupy, no stream named"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", "C"]
    assert all(r["interface reads"] > 0 for r in records)
    assert all(not line.startswith("sync") for r in records for line in r["driver"])


def test_a_cupy_array_whose_values_change_is_launched_with_the_new_ones(launches, twins):
    records = launches(twins)["cupy, pointer changed"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", MLIR, "C"]
    first, moved = records[0]["slots"][0], records[2]["slots"][0]
    assert [r["slots"][0] for r in records] == [first, first, moved, moved]
    assert int.from_bytes(bytes.fromhex(moved), "little") == (
        int.from_bytes(bytes.fromhex(first), "little") + 4
    )


def test_a_changed_interface_sync_setting_leaves_own_arrays_launching_from_c(launches, twins):
    # numba-cuda-mlir never synchronises for its own arrays: the setting is
    # not read for them, and its changes send no launch to its path
    records = launches(twins)["sync setting changed, own"]
    no_errors(records)
    assert paths(records)[1:] == ["C"] * (len(SYNC_SETTINGS) - 1)
    assert not [line for r in records for line in r["driver"] if line.startswith("sync")]


@pytest.mark.parametrize("array", ["interface", "cupy"])
def test_a_changed_interface_sync_setting_is_followed_at_the_next_launch(launches, twins, array):
    # numba-cuda-mlir reads NUMBA_CUDA_ARRAY_INTERFACE_SYNC at every launch;
    # a remembered launch planned with the other value declines once (its
    # path synchronises as the setting says), then launches are planned anew
    records = launches(twins)[f"sync setting changed, {array}"]
    no_errors(records)
    assert paths(records) == [MLIR, "C", MLIR, "C", "C", MLIR, "C"]
    for r, setting in zip(records, SYNC_SETTINGS):
        synced = [line for line in r["driver"] if line.startswith("sync")]
        assert synced == (["sync 5000"] if setting else []), r["driver"]
        # (CuPy arrays with no stream configured launch on CuPy's current one)
        stream = 5000 if array == "cupy" else 0
        assert r["driver"][-1].startswith(f"launch {stream} smem=0 "), r["driver"]
