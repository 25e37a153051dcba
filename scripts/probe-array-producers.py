"""What reading a CUDA array costs, per producer (CuPy, PyTorch): the
``__cuda_array_interface__`` dict against the public attributes that carry
the same facts (pointer, shape, strides, dtype) and the producer's current
stream.  The launch path's per-array check is built from the cheapest
reading that gives exactly what the interface gives; this script is how
that choice was measured.  Needs a GPU; prints JSON (ns per read).

    python scripts/probe-array-producers.py [--json out.json]
"""

import argparse
import json
import sys
import timeit


def per_read_ns(fn, number=200_000):
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e9


def probe_cupy():
    import cupy

    a = cupy.zeros(16, dtype=cupy.float32)
    current = cupy.cuda.get_current_stream
    reads = {
        "__cuda_array_interface__": lambda: a.__cuda_array_interface__,
        "__dlpack__()": lambda: a.__dlpack__(),
        "shape": lambda: a.shape,
        "strides": lambda: a.strides,
        "dtype": lambda: a.dtype,
        "data.ptr": lambda: a.data.ptr,
        "size": lambda: a.size,
        "ndim": lambda: a.ndim,
        "_c_contiguous": lambda: a._c_contiguous,
        "device.id": lambda: a.device.id,
        "get_current_stream().ptr": lambda: current().ptr,
        "dtype.descr": lambda: a.dtype.descr,
    }
    return {
        "version": cupy.__version__,
        "class": f"{type(a).__module__}.{type(a).__qualname__}",
        "mro": [f"{c.__module__}.{c.__qualname__}" for c in type(a).__mro__],
        "interface": {k: repr(v) for k, v in a.__cuda_array_interface__.items()},
        "ns": {name: per_read_ns(fn) for name, fn in reads.items()},
    }


def probe_torch():
    import inspect

    import torch

    t = torch.zeros(16, dtype=torch.float32, device="cuda")
    raw = getattr(torch._C, "_cuda_getCurrentRawStream", None)
    reads = {
        "__cuda_array_interface__": lambda: t.__cuda_array_interface__,
        "shape": lambda: t.shape,
        "stride()": lambda: t.stride(),
        "dtype": lambda: t.dtype,
        "data_ptr()": lambda: t.data_ptr(),
        "element_size()": lambda: t.element_size(),
        "is_contiguous()": lambda: t.is_contiguous(),
        "device": lambda: t.device,
        "get_device()": lambda: t.get_device(),
        "is_cuda": lambda: t.is_cuda,
        "requires_grad": lambda: t.requires_grad,
        "current_stream().cuda_stream": lambda: torch.cuda.current_stream().cuda_stream,
    }
    if raw is not None:
        reads["_C._cuda_getCurrentRawStream(0)"] = lambda: raw(0)
    out = {
        "version": torch.__version__,
        "class": f"{type(t).__module__}.{type(t).__qualname__}",
        "interface": {k: repr(v) for k, v in t.__cuda_array_interface__.items()},
        "has_dlpack": hasattr(t, "__dlpack__"),
        "ns": {name: per_read_ns(fn, 50_000) for name, fn in reads.items()},
    }
    try:
        out["interface_source"] = inspect.getsource(type(t).__cuda_array_interface__.fget)
        out["dlpack_source"] = inspect.getsource(type(t).__dlpack__)
    except (OSError, TypeError, AttributeError) as exc:
        out["source_error"] = repr(exc)
    return out


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--json")
    args = p.parse_args()
    result = {"python": sys.version.split()[0]}
    for name, probe in (("cupy", probe_cupy), ("torch", probe_torch)):
        try:
            result[name] = probe()
        except Exception as exc:  # a producer that is missing is reported, not fatal
            result[name] = {"error": repr(exc)}
    text = json.dumps(result, indent=1)
    print(text)
    if args.json:
        with open(args.json, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
