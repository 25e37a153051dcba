"""The CPU cost of the launch path, over the stand-in CUDA driver.

No GPU needed: numba-cuda-mlir kernels are compiled and launched through
``kernel[1, 1](arrays)`` in child processes that load the stand-in driver
(``tests/support/fake_libcuda.c``: a launch costs the driver nothing), so
what is timed is the Python and C work of a launch -- numba-cuda-mlir's own
(``stock``) and with numba-cuda-lcs (``after``: parameters handed to the
driver as one buffer, the default), the same with a pointer per parameter
(``after-pointers``, NUMBA_CUDA_LCS_PARAM_BUFFER=0) and another tree (``before``, with
``--before DIR``: built in place, e.g. ``git archive REV | tar -x -C DIR``).
Cases: a number of the compiler's device arrays, or that number and ``i``
(``4i``): objects whose CUDA array interface names a stream, as CuPy's
does (numba-cuda-mlir synchronises it; the stand-in's synchronise is free),
or ``c`` (``4c``, where CuPy is importable): CuPy arrays over the
stand-in's memory with ``NUMBA_CUDA_ARRAY_INTERFACE_SYNC=0`` (what the
CuPy reader's attribute reads cost).
One process per variant, round and case, interleaved; the best of five
timed loops per process, the median over rounds reported.  A GPU run
(``scripts/bench-launch-overhead.py``) measures the launch itself.

    python scripts/bench-stand-in-launch.py --before .before --json out.json
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

CHILD = r"""
import sys, time
import numpy as np
case, launches = sys.argv[1], int(sys.argv[2])
if case.endswith("c"):  # CuPy arrays over the stand-in's memory
    # CuPy asks the CUDA runtime for its current stream (its interface, and
    # numba-cuda-mlir, which takes the function when it is imported) and
    # for a pointer's device (DLPack): neither the stand-in can serve.  So
    # its default stream, typing by the interface, and the interface CuPy
    # gives there (stream 1: its name for the legacy default stream).
    import cupy
    from cupy.cuda import memory

    def default_stream(device=None):
        return cupy.cuda.Stream.null

    cupy.cuda.get_current_stream = cupy.cuda.stream.get_current_stream = default_stream

    class StandInCupy(cupy.ndarray):
        __dlpack__ = None

        @property
        def __cuda_array_interface__(self):
            return {"shape": self.shape, "strides": None, "typestr": self.dtype.str,
                    "data": (self.data.ptr, False), "version": 3, "stream": 1}

    def as_cupy(a):
        ptr = a.__cuda_array_interface__["data"][0]
        held = memory.UnownedMemory(ptr, a.nbytes, a, device_id=0)
        return StandInCupy(a.shape, a.dtype, memptr=memory.MemoryPointer(held, 0))
from numba_cuda_mlir import cuda
n = int(case.rstrip("ic"))
params = ", ".join(f"a{i}" for i in range(n))
namespace = {"cuda": cuda}
exec(f"def k({params}):\n    pass\n", namespace)
kernel = cuda.jit(namespace["k"])
arrays = [cuda.to_device(np.zeros(16, np.float32)) for _ in range(n)]
if case.endswith("i"):  # foreign arrays: an interface naming a stream
    class Foreign:
        def __init__(self, cai):
            self.__cuda_array_interface__ = cai
    arrays = [Foreign(dict(a.__cuda_array_interface__, stream=0x5000)) for a in arrays]
if case.endswith("c"):
    from numba_cuda_lcs import launcher

    arrays = [as_cupy(a) for a in arrays]
    launcher.configure_cupy(StandInCupy, default_stream)
configured = kernel[1, 1]
for _ in range(launches // 10):
    configured(*arrays)
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for _ in range(launches):
        configured(*arrays)
    best = min(best, (time.perf_counter() - start) / launches * 1e6)
import numba_cuda_lcs
print(best, numba_cuda_lcs.__file__)
"""


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--launches", type=int, default=20000)
    parser.add_argument(
        "--cases",
        default="0,1,4,16",
        help="numbers of device arrays; with an i (4i): foreign arrays naming a stream",
    )
    parser.add_argument("--before", metavar="DIR", help="another numba-cuda-lcs tree, built")
    parser.add_argument("--json", metavar="PATH")
    args = parser.parse_args(argv)

    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from support import fake_driver  # the stand-in: built with cc

    try:
        stand_in = fake_driver.build(tempfile.mkdtemp())
        base = fake_driver.child_env(stand_in)
    except BaseException as exc:  # pytest.skip outside pytest: say why
        raise SystemExit(f"cannot use the stand-in driver here: {exc}") from None
    cases = args.cases.split(",")
    if any(n.endswith("c") for n in cases) and importlib.util.find_spec("cupy") is None:
        print("CuPy is not importable here: the CuPy cases (c) are left out", file=sys.stderr)
        cases = [n for n in cases if not n.endswith("c")]
    variants = {
        "stock": ({"NUMBA_CUDA_LCS_DISABLE": "1"}, ROOT),
        "after": ({}, ROOT),
        "after-pointers": ({"NUMBA_CUDA_LCS_PARAM_BUFFER": "0"}, ROOT),
    }
    if args.before:
        variants["before"] = ({}, os.path.abspath(args.before))
    times = {}
    for rnd in range(args.rounds):
        order = list(variants)[rnd % len(variants) :] + list(variants)[: rnd % len(variants)]
        for name in order:
            extra, tree = variants[name]
            for n in cases:
                env = dict(base, **extra)
                if n.endswith("c"):  # the case above 1.5x the floor on a GPU
                    env["NUMBA_CUDA_ARRAY_INTERFACE_SYNC"] = "0"
                env["PYTHONPATH"] = os.pathsep.join([tree, env["PYTHONPATH"]])
                arrays = int(n.rstrip("ic"))
                if arrays:
                    # the stand-in describes the kernel's parameters (5 per
                    # memref), for every variant alike
                    env["LCS_FAKE_CUDA_PARAM_SIZES"] = ",".join(["8"] * (5 * arrays))
                # (run from the stand-in's directory: "python -c" puts the
                # working directory first on sys.path, which would shadow
                # the variant's tree with this checkout)
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, n, str(args.launches)],
                    env=env,
                    cwd=stand_in,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if done.returncode != 0:
                    raise SystemExit(f"{name}, {n} arrays failed:\n{done.stderr[-2000:]}")
                best, package = done.stdout.split()
                if not os.path.realpath(package).startswith(os.path.realpath(tree) + os.sep):
                    raise SystemExit(f"{name} imported {package}, not the tree {tree}")
                times.setdefault(name, {}).setdefault(n, []).append(float(best))
    medians = {
        name: {n: sorted(v)[len(v) // 2] for n, v in per.items()} for name, per in times.items()
    }
    print(f"µs per kernel[1, 1](arrays) over the stand-in driver, median of {args.rounds}")
    print("arrays " + "".join(f"{name:>14}" for name in medians))
    for n in cases:
        print(f"{n:>6} " + "".join(f"{medians[name][n]:>14.3f}" for name in medians))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {
                    "date": time.strftime("%Y-%m-%d %H:%M:%S"),
                    "what": "CPU cost over the stand-in driver (no GPU)",
                    "python": sys.version.split()[0],
                    "rounds": args.rounds,
                    "launches": args.launches,
                    "times_us": times,
                    "medians_us": medians,
                },
                f,
                indent=1,
            )
        print("written:", args.json)
    return 0


if __name__ == "__main__":
    sys.exit(main())
