#!/usr/bin/env python3
"""Where a launch's time goes with numba-cuda-lcs active (GPU needed).

Times each step of ``configured_launch.call`` in isolation for a plain kernel with
0 and 4 device arrays (µs per call, median of repeats) and prints a cProfile
of the 4-array launch.  For deciding what to move to C; not a benchmark of
record (scripts/bench-launch-overhead.py is).
"""

import cProfile
import pstats
import statistics
import sys
import time
import warnings

warnings.simplefilter("ignore")
import numpy as np  # noqa: E402
from numba import cuda  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import launcher as lcs_launcher  # noqa: E402
from numba_cuda_lcs import tls  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda import manifest as nb  # noqa: E402

LOOPS = 20000


def per_call(fn, loops=LOOPS, repeats=5):
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(loops):
            fn()
        cuda.synchronize()
        samples.append((time.perf_counter() - start) / loops * 1e6)
    return statistics.median(samples)


def main():
    assert numba_cuda_lcs.is_active()
    arr = cuda.device_array(16, dtype=np.float32)

    @cuda.jit
    def k0():
        pass

    @cuda.jit
    def k4(a, b, c, d):
        pass

    for kernel, args in ((k0, ()), (k4, (arr,) * 4)):
        configured = kernel[1, 1]
        configured(*args)
        compiled = next(iter(kernel.overloads.values()))
        context = lcs_launcher.current_context()
        (prepared,) = configured._lcs_prepared.values()
        launcher, handle = prepared.launcher, prepared.stream_handle
        kw = {nb.LAUNCH_CONFIG_KW: configured}
        rows = {
            "whole launch": lambda: configured(*args),
            "tls.swap_args x2": lambda: (tls.swap_args(args), tls.swap_args(None)),
            "_cuda_call (typeof + overload)": lambda: nb.cuda_call(kernel, *args, **kw),
            "typeof of the arguments": lambda: [kernel.typeof_pyval(a) for a in args],
            "context lookup (cuCtxGetCurrent)": lambda: lcs_launcher.current_context(),
            "numba-cuda's context lookup": lambda: nb.get_context(),
            "prepared lookup": lambda: configured._lcs_prepared.get(context),
            "launcher.launch": lambda: launcher.launch(args, handle, configured.stream),
        }
        print(f"== {kernel.__name__} ({len(args)} device arrays), µs per call")
        for name, fn in rows.items():
            print(f"  {name:34s} {per_call(fn):7.2f}")
        assert compiled is not None
    profile = cProfile.Profile()
    configured = k4[1, 1]
    profile.enable()
    for _ in range(LOOPS):
        configured(*(arr,) * 4)
    profile.disable()
    cuda.synchronize()
    pstats.Stats(profile, stream=sys.stdout).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main()
