#!/usr/bin/env python
"""Check the C launch path (numba_cuda_lcs._launcher) on a GPU and time it.

Needs a CUDA GPU, numba-cuda 0.30.4; CuPy and PyTorch are used if importable.
Every kernel is launched by numba-cuda itself and through the launcher (the C
module and the pure-Python twin), from plans built from the compiled
kernel's ``argument_types``; results must agree.  Then a micro-benchmark:
microseconds per launch for numba-cuda, the launcher (C, twin), cuda.core
``launch`` with pre-marshalled arguments and CuPy RawKernel, for 0, 1 and 4
array arguments, interleaved, median of the repeats.

    python scripts/gpu-launcher-check.py --output launcher.json

Exits non-zero on any wrong result.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
import warnings

import numpy as np
from numba import cuda, float32
from numba.cuda.cudadrv.driver import _to_core_stream

from numba_cuda_lcs import _launcher_py
from numba_cuda_lcs.backends.numba_cuda import argplan

try:
    from numba_cuda_lcs import _launcher as _launcher_c
except ImportError:
    _launcher_c = None

IMPLS = {"c": _launcher_c, "python": _launcher_py}
FAILURES = []
REPORT = {"checks": {}, "benchmark_us_per_launch": {}}
N = 256


def counting_plan(kernel):
    """The kernel's plan with each fallback counted (fast vs fallback)."""
    counts = {"fallback": 0}

    def wrap(fb):
        def counted(value, stream, retr):
            counts["fallback"] += 1
            return fb(value, stream, retr)

        return counted

    plan = tuple(e._replace(fallback=wrap(e.fallback)) for e in argplan.plan_for_kernel(kernel))
    return plan, counts


def only_kernel(dispatcher):
    return next(iter(dispatcher.overloads.values()))


def host(x):
    if hasattr(x, "copy_to_host"):
        return x.copy_to_host()
    if hasattr(x, "get"):
        return x.get()
    if hasattr(x, "cpu"):
        return x.cpu().numpy()
    return np.array(x)


def check(
    name,
    dispatcher,
    make_args,
    grid=(2, 1, 1),
    block=(128, 1, 1),
    stream=0,
    sharedmem=0,
    outputs=(0,),
):
    """Run numba-cuda's launch on fresh args, then each launcher on fresh
    args; compare the outputs (indices into args)."""
    ref_args = make_args()
    dispatcher[grid, block, stream, sharedmem](*ref_args)
    cuda.synchronize()
    expected = [host(ref_args[i]) for i in outputs]
    kernel = only_kernel(dispatcher)
    for impl_name, mod in IMPLS.items():
        if mod is None:
            continue
        plan, counts = counting_plan(kernel)
        launcher = argplan.make_launcher(kernel, grid, block, sharedmem, plan=plan, module=mod)
        args = make_args()
        core_stream = _to_core_stream(stream)
        try:
            for wb in launcher.launch(tuple(args), argplan.stream_handle(core_stream), core_stream):
                wb()
            cuda.synchronize()
            got = [host(args[i]) for i in outputs]
            ok = all(np.array_equal(g, e, equal_nan=True) for g, e in zip(got, expected))
            error = None
        except Exception as exc:  # reported, counted as a failure
            ok, error = False, f"{type(exc).__name__}: {exc}"
        key = f"{name}/{impl_name}"
        # whether the parameters went to the driver as one buffer (C part,
        # where the function's parameter info confirmed the layout)
        buffer = getattr(launcher, "param_buffer", None)
        REPORT["checks"][key] = {
            "ok": ok,
            "fallback_calls": counts["fallback"],
            "error": error,
            "param_buffer": buffer,
        }
        print(
            f"{'ok  ' if ok else 'FAIL'} {key:40s} fallbacks={counts['fallback']}"
            f" buffer={buffer} {error or ''}"
        )
        if not ok:
            FAILURES.append(key)


# ---- kernels ----


@cuda.jit
def k0():
    pass


@cuda.jit
def k1(a):
    i = cuda.grid(1)
    if i < a.size:
        a[i] += 1


@cuda.jit
def k4(a, b, c, d):
    i = cuda.grid(1)
    if i < d.size:
        d[i] = a[i] + b[i] * c[i]


@cuda.jit
def k2d(a, out):
    i, j = cuda.grid(2)
    if i < a.shape[0] and j < a.shape[1]:
        out[i, j] = a[i, j] * 2


@cuda.jit
def kscalars(out, i8, u8, i16, u16, i32, u32, i64, u64, f16, f32, f64, b, c64, c128):
    if cuda.grid(1) == 0:
        out[0] = i8
        out[1] = u8
        out[2] = i16
        out[3] = u16
        out[4] = i32
        out[5] = u32
        out[6] = i64
        out[7] = u64
        out[8] = float32(f16)
        out[9] = f32
        out[10] = f64
        out[11] = 1.0 if b else 0.0
        out[12] = c64.real + 10 * c64.imag
        out[13] = c128.real + 10 * c128.imag


@cuda.jit
def ktuple(out, t, r):
    if cuda.grid(1) == 0:
        out[0] = t[0] + t[1] + r[0].a + r[0].b


@cuda.jit
def kshared(a):
    sm = cuda.shared.array(0, dtype=float32)
    i = cuda.threadIdx.x
    sm[i] = a[i]
    cuda.syncthreads()
    a[i] = sm[cuda.blockDim.x - 1 - i]


@cuda.jit
def kcoop(a):
    g = cuda.cg.this_grid()
    i = cuda.grid(1)
    if i < a.size:
        a[i] += 1
    g.sync()
    if i == 0:
        s = 0.0
        for j in range(a.size):
            s += a[j]
        a[0] = s


def run_checks():
    rng = np.random.default_rng(0)
    base = rng.standard_normal(N).astype(np.float32)
    check("k0", k0, lambda: [], outputs=())
    check("k1/device", k1, lambda: [cuda.to_device(base)])
    check("k4/device", k4, lambda: [cuda.to_device(base + i) for i in range(4)], outputs=(3,))
    a2 = rng.standard_normal((16, 24)).astype(np.float64)
    check(
        "k2d/strided",
        k2d,
        lambda: [cuda.to_device(a2)[::2, ::-3], cuda.device_array((8, 8))],
        grid=(1, 1, 1),
        block=(8, 8, 1),
        outputs=(1,),
    )
    check(
        "k2d/fortran",
        k2d,
        lambda: [cuda.to_device(np.asfortranarray(a2[:8, :8])), cuda.device_array((8, 8))],
        grid=(1, 1, 1),
        block=(8, 8, 1),
        outputs=(1,),
    )
    scalars = [
        np.int8(-5),
        np.uint8(200),
        np.int16(-30000),
        np.uint16(60000),
        np.int32(-(2**31)),
        np.uint32(2**32 - 1),
        -(2**62),
        np.uint64(2**64 - 1),
        np.float16(1.5),
        np.float32(2.25),
        -3.125,
        True,
        np.complex64(1 + 2j),
        3 - 4j,
    ]
    check("scalars", kscalars, lambda: [cuda.to_device(np.zeros(16))] + scalars)  # all 16 compared
    rec = np.zeros(1, np.dtype([("a", np.float64), ("b", np.float64)]))
    rec["a"], rec["b"] = 5, 7
    check("tuple+record", ktuple, lambda: [cuda.device_array(1), (1.5, 2.5), cuda.to_device(rec)])
    check(
        "shared",
        kshared,
        lambda: [cuda.to_device(base[:128].copy())],
        grid=(1, 1, 1),
        sharedmem=128 * 4,
    )
    check(
        "cooperative",
        kcoop,
        lambda: [cuda.to_device(base[:64].copy())],
        grid=(2, 1, 1),
        block=(32, 1, 1),
    )
    # host array: numba-cuda copies in and back; on a user stream it raises,
    # so its reference runs on the default stream
    s = cuda.stream()
    ref = base.copy()
    k1[2, 128](ref)
    arr = base.copy()
    kernel = only_kernel(k1)
    for impl_name, mod in IMPLS.items():
        if mod is None:
            continue
        arr = base.copy()
        launcher = argplan.make_launcher(kernel, (2, 1, 1), (128, 1, 1), 0, module=mod)
        cs = _to_core_stream(s)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                for wb in launcher.launch((arr,), argplan.stream_handle(cs), cs):
                    wb()
            ok, err = bool(np.array_equal(arr, ref)), None
        except Exception as exc:
            ok, err = False, f"{type(exc).__name__}: {exc}"
        REPORT["checks"][f"host-user-stream/{impl_name}"] = {"ok": ok, "error": err}
        print(f"{'ok  ' if ok else 'FAIL'} host-user-stream/{impl_name} {err or ''}")
        if not ok:
            FAILURES.append(f"host-user-stream/{impl_name}")
    check("k1/user-stream", k1, lambda: [cuda.to_device(base)], stream=s)
    try:
        import cupy as cp

        check("k4/cupy", k4, lambda: [cp.asarray(base + i) for i in range(4)], outputs=(3,))
        with cp.cuda.Stream() as cps:  # producer on another stream: ordering needed
            check("k1/cupy-other-stream", k1, lambda: [cp.asarray(base)])
            cps.synchronize()
    except ImportError:
        print("cupy not importable: skipped")
    try:
        import torch

        check(
            "k4/torch",
            k4,
            lambda: [torch.as_tensor(base + i, device="cuda") for i in range(4)],
            outputs=(3,),
        )
    except ImportError:
        print("torch not importable: skipped")


def ptds_child():
    assert argplan.stream_handle(0) == 2, argplan.stream_handle(0)
    base = np.arange(N, dtype=np.float32)
    check("k1/per-thread-default-stream", k1, lambda: [cuda.to_device(base)])
    return 1 if FAILURES else 0


# ---- benchmark ----


def bench(repeats, n):
    from cuda.core import LaunchConfig, launch

    d = [cuda.to_device(np.zeros(N, np.float32)) for _ in range(4)]
    cases = {0: (k0, ()), 1: (k1, (d[0],)), 4: (k4, tuple(d))}
    stream0 = _to_core_stream(0)
    cupy_kernels = {}
    try:
        import cupy as cp

        src = r"""extern "C" {
        __global__ void c0() {}
        __global__ void c1(float *a, long long n) { long long i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) a[i] += 1; }
        __global__ void c4(float *a, float *b, float *c, float *d, long long n) { long long i = blockIdx.x * blockDim.x + threadIdx.x; if (i < n) d[i] = a[i] + b[i] * c[i]; }
        }"""
        mod = cp.RawModule(code=src)
        cx = [cp.zeros(N, cp.float32) for _ in range(4)]
        cupy_kernels = {
            0: (mod.get_function("c0"), ()),
            1: (mod.get_function("c1"), (cx[0], N)),
            4: (mod.get_function("c4"), (*cx, N)),
        }
    except ImportError:
        pass
    results = {}
    for nargs, (disp, args) in cases.items():
        cfg = disp[2, 128]
        cfg(*args)
        kernel = only_kernel(disp)
        methods = {"numba-cuda": lambda cfg=cfg, args=args: cfg(*args)}
        for name, mod in IMPLS.items():
            if mod is not None:
                L = argplan.make_launcher(kernel, (2, 1, 1), (128, 1, 1), 0, module=mod)
                h = argplan.stream_handle(stream0)
                methods[f"launcher-{name}"] = lambda L=L, args=args, h=h: L.launch(args, h, stream0)
        kernelargs, retr = [], []
        for t, v in zip(kernel.argument_types, args):
            kernel._prepare_args(t, v, stream0, retr, kernelargs)
        config = LaunchConfig(grid=(2, 1, 1), block=(128, 1, 1))
        core_kernel = kernel._codelibrary.get_cufunc().kernel
        methods["cuda.core-prepacked"] = lambda: launch(stream0, config, core_kernel, *kernelargs)
        if nargs in cupy_kernels:
            ck, cargs = cupy_kernels[nargs]
            methods["cupy-RawKernel"] = lambda ck=ck, cargs=cargs: ck((2,), (128,), cargs)
        samples = {m: [] for m in methods}
        for _ in range(repeats):
            for m, fn in methods.items():  # interleaved
                fn()
                cuda.synchronize()
                t0 = time.perf_counter()
                for _ in range(n):
                    fn()
                t1 = time.perf_counter()
                cuda.synchronize()
                samples[m].append((t1 - t0) / n * 1e6)
        results[f"{nargs}-arrays"] = {m: round(statistics.median(v), 3) for m, v in samples.items()}
        print(
            f"{nargs} arrays: "
            + ", ".join(f"{m} {v:.2f} us" for m, v in results[f"{nargs}-arrays"].items())
        )
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--output", required=True)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--launches", type=int, default=2000)
    ap.add_argument("--ptds-child", action="store_true", help=argparse.SUPPRESS)
    opts = ap.parse_args()
    if opts.ptds_child:
        sys.exit(ptds_child())
    if _launcher_c is None:
        print("FAIL: the C module numba_cuda_lcs._launcher is not built")
        FAILURES.append("c-module-missing")
    REPORT["device"] = (
        cuda.get_current_device().name.decode()
        if isinstance(cuda.get_current_device().name, bytes)
        else str(cuda.get_current_device().name)
    )
    run_checks()
    env = dict(os.environ, CUDA_PYTHON_CUDA_PER_THREAD_DEFAULT_STREAM="1")
    child = subprocess.run(
        [sys.executable, __file__, "--output", os.devnull, "--ptds-child"], env=env
    )
    REPORT["checks"]["per-thread-default-stream"] = {"ok": child.returncode == 0}
    if child.returncode:
        FAILURES.append("per-thread-default-stream")
    REPORT["benchmark_us_per_launch"] = bench(opts.repeats, opts.launches)
    REPORT["failures"] = FAILURES
    with open(opts.output, "w") as f:
        json.dump(REPORT, f, indent=2)
    print(f"{len(FAILURES)} failure(s); wrote {opts.output}")
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
