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
does (numba-cuda-mlir synchronises it; the stand-in's synchronise is free).
One process per variant, round and case, interleaved; the best of five
timed loops per process, the median over rounds reported.  A GPU run
(``scripts/bench-launch-overhead.py``) measures the launch itself.

    python scripts/bench-stand-in-launch.py --before .before --json out.json
"""

import argparse
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
from numba_cuda_mlir import cuda
case, launches = sys.argv[1], int(sys.argv[2])
n = int(case.rstrip("i"))
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
configured = kernel[1, 1]
for _ in range(launches // 10):
    configured(*arrays)
best = float("inf")
for _ in range(5):
    start = time.perf_counter()
    for _ in range(launches):
        configured(*arrays)
    best = min(best, (time.perf_counter() - start) / launches * 1e6)
print(best)
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
        base = fake_driver.child_env(fake_driver.build(tempfile.mkdtemp()))
    except BaseException as exc:  # pytest.skip outside pytest: say why
        raise SystemExit(f"cannot use the stand-in driver here: {exc}") from None
    cases = args.cases.split(",")
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
                env["PYTHONPATH"] = os.pathsep.join([tree, env["PYTHONPATH"]])
                arrays = int(n.rstrip("i"))
                if arrays:
                    # the stand-in describes the kernel's parameters (5 per
                    # memref), for every variant alike
                    env["LCS_FAKE_CUDA_PARAM_SIZES"] = ",".join(["8"] * (5 * arrays))
                done = subprocess.run(
                    [sys.executable, "-c", CHILD, n, str(args.launches)],
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=600,
                )
                if done.returncode != 0:
                    raise SystemExit(f"{name}, {n} arrays failed:\n{done.stderr[-2000:]}")
                times.setdefault(name, {}).setdefault(n, []).append(float(done.stdout))
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
