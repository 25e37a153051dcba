"""Launch sites and launchers over a stand-in CUDA driver, without a GPU.

A child process loads ``tests/support/fake_libcuda.c`` as ``libcuda.so.1``
and launches through real launch sites -- the C module's or the twin's
(``twins``) -- so what a GPU run alone used to check runs here too:

* a launch the driver refuses raises the compiler's launch error (the
  site's ``_lcs_launch_error``, else the configured default, else the
  launcher's ``LaunchError``), with the driver's error name, and is not
  counted as a hit;
* a plan with arrays in numba-cuda-mlir's layout (``K_MEMREF``) launches
  only when the first array lives in the current context, as
  numba-cuda-mlir does (it launches in that array's context): another
  context takes the compiler's path (the site's slow path); no context
  named, or a pointer the driver does not know, launches in the current
  one, as numba-cuda-mlir does.
"""

import os
import sys

import pytest
from support.installs import requires_numpy

# The launcher packs arrays through numpy's array interface readers.
pytestmark = requires_numpy

CHILD_TIMEOUT = 120  # seconds

FIRST = 0x7F00_0010_0000  # the two arrays' (fake) device pointers
SECOND = 0x7F00_0020_0000


# --------------------------------------------------------------------------
# The child
# --------------------------------------------------------------------------


def _child_main(out_path):
    import numpy as np
    from support import fake_driver

    from numba_cuda_lcs import launcher
    from numba_cuda_lcs._launcher_py.arg_kinds import K_F32, K_INT, K_MEMREF

    class Refused(Exception):
        """The configured default launch error (as a backend configures)."""

    class SiteRefused(Exception):
        """A configured launch class's own launch error."""

    class Dispatcher:
        def __init__(self):
            self.calls = []

        def call(self, args, site):
            self.calls.append(args)

    class Site(launcher.LaunchSite):
        def __init__(self):
            self.dispatcher = Dispatcher()
            self.pre_launch_callbacks = []

    class SiteWithError(Site):
        _lcs_launch_error = SiteRefused

    class SiteWithNone(Site):
        _lcs_launch_error = None

    class DeviceArray:
        def __init__(self, ptr, stream=None):
            self.__cuda_array_interface__ = fake_driver.interface(ptr, stream)

    log = os.environ["LCS_FAKE_CUDA_LOG"]
    context = launcher.current_context()

    def launches():
        with open(log) as f:
            return len(f.read().splitlines())

    def outcome(site, args, counter):
        open(log, "w").close()
        try:
            site(*args)
            result = {"ok": True}
        except Exception as exc:
            result = {"error": type(exc).__name__, "message": str(exc)}
        result.update(slow_calls=len(site.dispatcher.calls), hits=counter.hits, launched=launches())
        return result

    def direct_launch(lnch, args):
        """A launch through the launcher itself, not a site: what it raised."""
        try:
            lnch.launch(args)
            return {"ok": True}
        except Exception as exc:
            return {"error": type(exc).__name__, "message": str(exc)}

    results = {"implementation": launcher.IMPLEMENTATION, "context": context}

    # A launch the driver refuses.
    int_plan = (launcher.ParamPlan(K_INT, None, (8,)),)
    os.environ["LCS_FAKE_CUDA_LAUNCH_RESULT"] = "700"
    for default in (Refused, None):
        launcher.configure_sites(None, default, owner="stand-in test")
        for cls in (Site, SiteWithError, SiteWithNone):
            site, counter = cls(), launcher.HitCounter()
            lnch = launcher.Launcher(0x3000, (1, 1, 1), (1, 1, 1), 0, False, int_plan)
            assert launcher.remember(site, (1,), lnch, 0, None, counter, context)
            name = f"refused, default {default and default.__name__}, {cls.__name__}"
            results[name] = outcome(site, (1,), counter)
    launcher.configure_sites(None, None, owner="stand-in test")
    del os.environ["LCS_FAKE_CUDA_LAUNCH_RESULT"]

    # Arrays in numba-cuda-mlir's layout, and their contexts.
    memref = launcher.ParamPlan(K_MEMREF, None, (8,) * 5, 1, 4, "<f4", False)
    arrays = (DeviceArray(FIRST), DeviceArray(SECOND))
    settings = {
        "same context": {},
        "first array in another context": {"LCS_FAKE_CUDA_OTHER_CONTEXT": hex(FIRST)},
        "second array in another context": {"LCS_FAKE_CUDA_OTHER_CONTEXT": hex(SECOND)},
        "no context named": {"LCS_FAKE_CUDA_POINTER_CONTEXT": "none"},
        "pointer unknown to the driver": {"LCS_FAKE_CUDA_POINTER_CONTEXT": "fail"},
    }
    for name, env in settings.items():
        os.environ.update(env)
        site, counter = Site(), launcher.HitCounter()
        lnch = launcher.Launcher(0x3000, (1, 1, 1), (1, 1, 1), 0, False, (memref, memref))
        assert launcher.remember(site, arrays, lnch, 0, None, counter, context)
        results[name] = outcome(site, arrays, counter)
        if name == "first array in another context":
            results["direct launch, " + name] = direct_launch(lnch, arrays)
        for key in env:
            del os.environ[key]
    # Array interfaces naming a stream (CuPy names its current one): it is
    # synchronised before the launch, once per stream, as numba-cuda-mlir
    # does; with SITE_STREAM_CUPY_CURRENT the launch goes to CuPy's current
    # stream, read at each launch.
    stream_log = os.environ["LCS_FAKE_CUDA_STREAM_LOG"]

    class CurrentStream:
        ptr = 0x5000

    def get_current_stream():
        if isinstance(CurrentStream.ptr, Exception):
            raise CurrentStream.ptr
        return CurrentStream

    launcher.configure_cupy(DeviceArray, get_current_stream)
    launcher.configure_sites(None, Refused, owner="stand-in test")  # (forgets launches)
    memref_sync = launcher.ParamPlan(K_MEMREF, None, (8,) * 5, 1, 4, "<f4", True)
    synced = (memref_sync,) * 3
    for name, handle, ptr, streams in (
        ("synchronised, stream 0", 0, 0x5000, (0x5000, 0x5000, None)),
        ("synchronised, two streams", 0, 0x5000, (0x5000, 0x6000, 0x5000)),
        ("CuPy's current stream", launcher.SITE_STREAM_CUPY_CURRENT, 0x5000, (0x5000,) * 3),
        ("CuPy's default stream", launcher.SITE_STREAM_CUPY_CURRENT, 0, (1, 1, 1)),
        (
            "CuPy's stream unreadable",
            launcher.SITE_STREAM_CUPY_CURRENT,
            RuntimeError("no stream"),
            (0x5000,) * 3,
        ),
        ("stream refuses to synchronise", 0, 0x5000, (0x5000,) * 3),
    ):
        arrays3 = tuple(DeviceArray(FIRST + 0x1000 * i, s) for i, s in enumerate(streams))
        CurrentStream.ptr = 0x5000  # while remembering
        site, counter = Site(), launcher.HitCounter()
        lnch = launcher.Launcher(0x3000, (1, 1, 1), (1, 1, 1), 0, False, synced)
        remembered = launcher.remember(site, arrays3, lnch, handle, None, counter, context)
        CurrentStream.ptr = ptr
        open(stream_log, "w").close()
        if name == "stream refuses to synchronise":
            os.environ["LCS_FAKE_CUDA_SYNC_RESULT"] = "700"
        result = outcome(site, arrays3, counter)
        with open(stream_log) as f:
            result["driver"] = f.read().split("\n")[:-1]
        if name == "stream refuses to synchronise":
            results["direct launch, " + name] = direct_launch(lnch, arrays3)
        os.environ.pop("LCS_FAKE_CUDA_SYNC_RESULT", None)
        result["remembered"] = bool(remembered)
        results[name] = result
    launcher.configure_cupy(None, None)
    launcher.configure_sites(None, None, owner="stand-in test")

    # Arrays of the compiler's own class (the sites' "typed" classes): a
    # site keeps what the very array it remembered packs to, and reads
    # nothing of it when it is launched again; another array of the same
    # type is read.
    class OwnArray:
        _numba_type_ = object()  # one type for every instance
        reads = 0

        def __init__(self, ptr):
            self.ptr = ptr

        @property
        def __cuda_array_interface__(self):
            OwnArray.reads += 1
            # the compiler's own arrays are not synchronised
            return fake_driver.interface(self.ptr, 7)

    launcher.configure_sites(OwnArray, None, owner="stand-in test")
    site, counter = Site(), launcher.HitCounter()
    lnch = launcher.Launcher(0x3000, (1, 1, 1), (1, 1, 1), 0, False, (memref_sync,))
    kept = OwnArray(FIRST)
    remembered = launcher.remember(site, (kept,), lnch, 0, None, counter, context)
    os.environ["LCS_FAKE_CUDA_PARAMS"] = "5"
    for name, array in (("kept", kept), ("another of its type", OwnArray(SECOND))):
        OwnArray.reads = 0
        open(stream_log, "w").close()
        result = outcome(site, (array,), counter)
        with open(log) as f:
            result["slots"] = f.read().split()[1:]
        with open(stream_log) as f:
            result["driver"] = f.read().split("\n")[:-1]
        result.update(reads=OwnArray.reads, remembered=bool(remembered))
        results[f"own array, {name}"] = result
    del os.environ["LCS_FAKE_CUDA_PARAMS"]
    launcher.configure_sites(None, None, owner="stand-in test")

    # Many scalars: numba-cuda-mlir's microbenchmark launches 256 float32s,
    # and a site remembers launches of up to SITE_MAX_ARGS arguments.
    for count in (256, launcher.SITE_MAX_ARGS):
        values = tuple(np.float32(i + 0.25) for i in range(count))
        plan = (launcher.ParamPlan(K_F32, None, (4,)),) * count
        site, counter = Site(), launcher.HitCounter()
        lnch = launcher.Launcher(0x3000, (1, 1, 1), (1, 1, 1), 0, False, plan)
        remembered = launcher.remember(site, values, lnch, 0, None, counter, context)
        os.environ["LCS_FAKE_CUDA_PARAMS"] = str(count)
        result = outcome(site, values, counter)
        del os.environ["LCS_FAKE_CUDA_PARAMS"]
        with open(log) as f:
            slots = f.read().split()[1:]
        result.update(
            remembered=bool(remembered),
            # the low 4 bytes of each 8-byte slot the driver was handed
            values=[float(np.frombuffer(bytes.fromhex(s)[:4], "<f4")[0]) for s in slots],
        )
        results[f"{count} float32 scalars"] = result
    too_many = (np.float32(1),) * (launcher.SITE_MAX_ARGS + 1)
    plan = (launcher.ParamPlan(K_F32, None, (4,)),) * len(too_many)
    lnch = launcher.Launcher(0x3000, (1, 1, 1), (1, 1, 1), 0, False, plan)
    results["too many, remembered"] = bool(
        launcher.remember(Site(), too_many, lnch, 0, None, launcher.HitCounter(), context)
    )
    fake_driver.write_results(out_path, results)


if __name__ == "__main__":
    _child_main(sys.argv[1])
    sys.exit(0)


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------


@pytest.fixture
def child(twins, tmp_path):
    """What the child reported, over the twin in effect."""
    from support import fake_driver  # not at the top: the child runs this file

    results = fake_driver.run_child(__file__, tmp_path, CHILD_TIMEOUT)
    assert results["implementation"] == twins
    assert results["context"] == fake_driver.CURRENT_CONTEXT
    return results


REFUSED = "cuLaunchKernel failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)"


@pytest.mark.parametrize(
    "case, error",
    [
        ("refused, default Refused, Site", "Refused"),
        ("refused, default Refused, SiteWithError", "SiteRefused"),
        ("refused, default Refused, SiteWithNone", "Refused"),
        ("refused, default None, Site", "LaunchError"),
        ("refused, default None, SiteWithError", "SiteRefused"),
        ("refused, default None, SiteWithNone", "LaunchError"),
    ],
)
def test_refused_launch_raises_the_compilers_error(child, case, error):
    result = child[case]
    assert result["error"] == error
    assert result["message"] == REFUSED
    assert (result["hits"], result["slow_calls"], result["launched"]) == (0, 0, 0)


@pytest.mark.parametrize(
    "case, fast",
    [
        ("same context", True),
        ("first array in another context", False),
        ("second array in another context", True),
        ("no context named", True),
        ("pointer unknown to the driver", True),
    ],
)
def test_arrays_launch_in_the_first_arrays_context(child, case, fast):
    result = child[case]
    assert result["ok"]
    if fast:
        assert (result["hits"], result["slow_calls"], result["launched"]) == (1, 0, 1)
    else:  # numba-cuda-mlir's path (here: the stand-in dispatcher) launches it
        assert (result["hits"], result["slow_calls"], result["launched"]) == (0, 1, 0)


def test_direct_launch_in_another_context_names_the_problem(child):
    result = child["direct launch, first array in another context"]
    assert result["error"] in ("TypeError", "OtherContext")
    assert "another CUDA context" in result["message"]


@pytest.mark.parametrize("count", [256, "SITE_MAX_ARGS"])
def test_launches_of_many_scalars_are_remembered(child, count):
    from numba_cuda_lcs import launcher

    if count == "SITE_MAX_ARGS":
        count = launcher.impl.SITE_MAX_ARGS
    result = child[f"{count} float32 scalars"]
    assert result["remembered"] and result["ok"]
    assert (result["hits"], result["slow_calls"], result["launched"]) == (1, 0, 1)
    assert result["values"] == [i + 0.25 for i in range(count)]
    assert not child["too many, remembered"]


@pytest.mark.parametrize(
    "case, driver",
    [
        # stream 0 configured: the named stream synchronised once, then the launch
        ("synchronised, stream 0", ["sync 5000", "launch 0 smem=0 fn=3000"]),
        ("synchronised, two streams", ["sync 5000", "sync 6000", "launch 0 smem=0 fn=3000"]),
        # CuPy's current stream, read at the launch
        ("CuPy's current stream", ["sync 5000", "launch 5000 smem=0 fn=3000"]),
        ("CuPy's default stream", ["sync 1", "launch 0 smem=0 fn=3000"]),
    ],
)
def test_streams_array_interfaces_name_are_synchronised_before_the_launch(child, case, driver):
    result = child[case]
    assert result["remembered"] and result["ok"]
    assert (result["hits"], result["slow_calls"], result["launched"]) == (1, 0, 1)
    assert result["driver"] == driver


def test_an_unreadable_cupy_stream_takes_the_compilers_path(child):
    result = child["CuPy's stream unreadable"]
    assert result["remembered"] and result["ok"]
    assert (result["hits"], result["slow_calls"], result["launched"]) == (0, 1, 0)
    assert result["driver"] == []


def test_a_failed_synchronisation_takes_the_compilers_path(child):
    # numba-cuda-mlir's path synchronises again and raises its own error
    # (the stand-in dispatcher here just records the call).
    result = child["stream refuses to synchronise"]
    assert result["ok"]
    assert (result["hits"], result["slow_calls"], result["launched"]) == (0, 1, 0)
    assert result["driver"] == ["sync 5000"]


def test_a_failed_synchronisation_of_a_direct_launch_raises_launch_error(child):
    result = child["direct launch, stream refuses to synchronise"]
    assert result["error"] == "LaunchError"
    assert result["message"] == "cuStreamSynchronize failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)"


def _slot(x):
    return int(x).to_bytes(8, "little").hex()


@pytest.mark.parametrize(
    "case, ptr, reads",
    [("own array, kept", FIRST, 0), ("own array, another of its type", SECOND, 1)],
)
def test_the_compilers_own_arrays_pack_what_they_packed_when_remembered(child, case, ptr, reads):
    result = child[case]
    assert result["remembered"] and result["ok"]
    assert (result["slow_calls"], result["launched"]) == (0, 1)
    # data pointer twice, offset 0, shape 4, stride 1 element; no sync
    assert result["slots"] == [_slot(ptr), _slot(ptr), _slot(0), _slot(4), _slot(1)]
    assert result["driver"] == ["launch 0 smem=0 fn=3000"]
    # the very array remembered: its interface is not read again
    assert result["reads"] == reads
