"""How a launch hands the driver its parameters, over the stand-in driver.

cuLaunchKernel takes them as a pointer per parameter or as one buffer
(``extra``); the C launcher sends one buffer -- one copy instead of one per
parameter -- only where the function's own parameter info
(cuFuncGetParamInfo) puts every parameter at the offset the launcher packed
it at, and the buffer is exactly as long.  Whichever way, the kernel must
receive the same bytes; a driver refusing the buffer still gets the launch,
a pointer each; cooperative launches (no ``extra``) and the pure-Python twin
always pass pointers.  Buffers are the default; NUMBA_CUDA_LCS_PARAM_BUFFER=0
(read when the first launch loads the driver) turns them off, and then
every launch passes pointers.  The stand-in describes a kernel's parameters from
``$LCS_FAKE_CUDA_PARAM_SIZES`` and logs a buffer launch as ``buffer
<slots>`` (``tests/support/fake_libcuda.c``).
"""

import os
import sys

import pytest
from support.installs import requires_numpy

pytestmark = requires_numpy

CHILD_TIMEOUT = 120  # seconds

ARRAY = 0x7F00_0010_0000  # a (fake) device pointer
#: int64, float32, float64, bool, float16, then a 1-D float32 memref (5 x 8)
SIZES = [8, 4, 8, 1, 2] + [8] * 5
NATURAL = ",".join(map(str, SIZES))


def _child_main(out_path):
    import numpy as np
    from support import fake_driver

    from numba_cuda_lcs import launcher
    from numba_cuda_lcs._launcher_py.arg_kinds import K_BOOL, K_F16, K_F32, K_F64, K_INT, K_MEMREF

    class DeviceArray:
        __cuda_array_interface__ = fake_driver.interface(ARRAY)

    plan = (
        launcher.ParamPlan(K_INT, None, (8,)),
        launcher.ParamPlan(K_F32, None, (4,)),
        launcher.ParamPlan(K_F64, None, (8,)),
        launcher.ParamPlan(K_BOOL, None, (1,)),
        launcher.ParamPlan(K_F16, None, (2,)),
        launcher.ParamPlan(K_MEMREF, None, (8,) * 5, 1, 4, "<f4", False),
    )
    args = (-7, np.float32(1.5), 2.25, True, -3.0, DeviceArray())
    log = os.environ["LCS_FAKE_CUDA_LOG"]
    results = {"implementation": launcher.IMPLEMENTATION}

    def launch_twice(env, cooperative=False, function=0x3000):
        """Two launches of one new launcher under *env*: each one's log line
        (or error), and what the launcher says of its way."""
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update({k: v for k, v in env.items() if v is not None})
        for k, v in env.items():
            if v is None:
                os.environ.pop(k, None)
        lnch = launcher.Launcher(function, (1, 1, 1), (1, 1, 1), 0, cooperative, plan)
        seen = {"before": lnch.param_buffer, "lines": []}
        for _ in range(2):
            open(log, "w").close()
            try:
                lnch.launch(args)
            except Exception as exc:
                seen["lines"].append(f"error {type(exc).__name__}: {exc}")
            with open(log) as f:
                seen["lines"].extend(f.read().splitlines())
            # the way after the first launch (a refused buffer changes it)
            seen.setdefault("after_first", lnch.param_buffer)
        seen["after"] = lnch.param_buffer
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        return seen

    os.environ["LCS_FAKE_CUDA_PARAMS"] = str(len(SIZES))
    results["no parameter info"] = launch_twice({"LCS_FAKE_CUDA_PARAM_SIZES": None})
    # a library kernel (cuKernelGetParamInfo; cuda.core's handles) and a
    # module function (cuFuncGetParamInfo)
    results["the packed layout"] = launch_twice({"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL})
    results["the packed layout, a module function"] = launch_twice(
        {"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL}, function=0x3100
    )
    # the float16 aligned to 8 by the kernel: every offset from it differs
    results["another alignment"] = launch_twice(
        {"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL.replace(",2,", ",2@8,", 1)}
    )
    results["one more parameter"] = launch_twice({"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL + ",8"})
    results["one fewer parameter"] = launch_twice(
        {"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL.rsplit(",", 1)[0]}
    )
    results["buffer refused as invalid"] = launch_twice(
        {"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL, "LCS_FAKE_CUDA_BUFFER_RESULT": "1"}
    )
    results["buffer launch fails"] = launch_twice(
        {"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL, "LCS_FAKE_CUDA_BUFFER_RESULT": "700"}
    )
    results["cooperative"] = launch_twice({"LCS_FAKE_CUDA_PARAM_SIZES": NATURAL}, cooperative=True)
    fake_driver.write_results(out_path, results)


if __name__ == "__main__":
    _child_main(sys.argv[1])
    sys.exit(0)


# --------------------------------------------------------------------------
# The tests
# --------------------------------------------------------------------------


@pytest.fixture
def child(twins, tmp_path):
    """What the child saw by default (the variable unset)."""
    from support import fake_driver  # not at the top: the child runs this file

    results = fake_driver.run_child(
        __file__, tmp_path, CHILD_TIMEOUT, NUMBA_CUDA_LCS_PARAM_BUFFER=None
    )
    assert results["implementation"] == twins
    return results


def _params(line):
    """The significant bytes of each parameter in a log line."""
    kind, *slots = line.split()
    assert kind in ("launch", "buffer"), line
    assert len(slots) == len(SIZES), line
    return [bytes.fromhex(slot)[:size] for slot, size in zip(slots, SIZES)]


def _expected():
    import numpy as np

    return [
        (-7).to_bytes(8, "little", signed=True),
        np.float32(1.5).tobytes(),
        np.float64(2.25).tobytes(),
        b"\x01",
        np.float16(-3.0).tobytes(),
        ARRAY.to_bytes(8, "little"),  # allocated
        ARRAY.to_bytes(8, "little"),  # aligned
        (0).to_bytes(8, "little"),  # offset
        (4).to_bytes(8, "little"),  # size
        (1).to_bytes(8, "little"),  # stride (elements)
    ]


@pytest.mark.parametrize("handle", ["the packed layout", "the packed layout, a module function"])
def test_the_packed_layout_goes_as_one_buffer_with_the_same_bytes(child, twins, handle):
    seen = child[handle]
    assert seen["before"] is None
    if twins == "c":
        assert [line.split()[0] for line in seen["lines"]] == ["buffer", "buffer"]
        assert seen["after"] is True
    else:  # the twin: a pointer per parameter
        assert [line.split()[0] for line in seen["lines"]] == ["launch", "launch"]
        assert seen["after"] is False
    for line in seen["lines"]:
        assert _params(line) == _expected()


@pytest.mark.parametrize(
    "case",
    [
        "no parameter info",
        "another alignment",
        "one more parameter",
        "one fewer parameter",
        "cooperative",
    ],
)
def test_a_layout_the_function_does_not_confirm_goes_a_pointer_each(child, case):
    seen = child[case]
    assert [line.split()[0] for line in seen["lines"]] == ["launch", "launch"]
    assert seen["after"] is False
    for line in seen["lines"]:
        assert _params(line) == _expected()


def test_a_refused_buffer_still_launches_and_the_launcher_keeps_to_pointers(child):
    seen = child["buffer refused as invalid"]
    # the first launch: refused as one buffer, then launched a pointer each;
    # the second goes a pointer each at once
    assert [line.split()[0] for line in seen["lines"]] == ["launch", "launch"]
    assert seen["after_first"] is False and seen["after"] is False
    for line in seen["lines"]:
        assert _params(line) == _expected()


def test_a_failed_buffer_launch_raises_the_drivers_error(child, twins):
    seen = child["buffer launch fails"]
    if twins == "c":
        assert (
            seen["lines"]
            == ["error LaunchError: cuLaunchKernel failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)"] * 2
        )
        assert seen["after"] is True  # an error of the kernel's, not of the buffer
    else:  # the twin never hands a buffer
        assert [line.split()[0] for line in seen["lines"]] == ["launch", "launch"]


def test_the_off_switch_makes_every_launch_pass_pointers(twins, tmp_path):
    from support import fake_driver

    results = fake_driver.run_child(
        __file__, tmp_path, CHILD_TIMEOUT, NUMBA_CUDA_LCS_PARAM_BUFFER="0"
    )
    seen = results["the packed layout"]
    assert [line.split()[0] for line in seen["lines"]] == ["launch", "launch"]
    assert seen["after"] is False
    for line in seen["lines"]:
        assert _params(line) == _expected()
