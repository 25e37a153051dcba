"""The C floor of a kernel launch (``launch_floor.cu``), for the benchmark
scripts: :func:`build` compiles it with nvcc, :func:`run` times one case.

The floor is a compiled program calling ``cudaLaunchKernel`` in a loop with
its arguments packed once: the cost of a stream launch alone on the GPU it
runs on.  Launch paths are reported as ratios to it.
"""

import json
import os
import shutil
import subprocess
import tempfile

SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch_floor.cu")

#: The argument cases the program knows: device pointers, float scalars
#: ("s"), 8-byte parameters as many as 16 1-D arrays take ("p": 80 in
#: numba-cuda-mlir's kernels, 112 in numba-cuda's), or four pointers with the
#: stream synchronised before each launch ("4sync").
CASES = ("0", "1", "4", "16", "16s", "256s", "80p", "112p", "4sync")
#: The floor of 16 arrays as each compiler's kernels take them (its
#: parameter count), beside "16" (16 pointers).
SIXTEEN_ARRAYS_AS_PASSED = {"numba-cuda": "112p", "numba-cuda-mlir": "80p"}
#: The floor of numba-cuda-mlir's launches with four CuPy arrays: it
#: synchronises the stream their CUDA array interface names (CuPy's current
#: one) before every launch, unless NUMBA_CUDA_ARRAY_INTERFACE_SYNC is off
#: ("4c-nosync", the floor of four pointers).
MLIR_CUPY_FLOOR = {"4c": "4sync", "4c-nosync": "4"}


def nvcc():
    """The nvcc on PATH or in $CUDA_HOME/bin, or None."""
    found = shutil.which("nvcc")
    if found is None and os.environ.get("CUDA_HOME"):
        candidate = os.path.join(os.environ["CUDA_HOME"], "bin", "nvcc")
        found = candidate if os.path.exists(candidate) else None
    return found


def build():
    """``(binary, None)``, or ``(None, why)`` where it cannot be built."""
    compiler = nvcc()
    if compiler is None:
        return None, "no nvcc on PATH or in $CUDA_HOME/bin"
    binary = os.path.join(tempfile.mkdtemp(prefix="lcs-floor-"), "launch_floor")
    built = subprocess.run(
        [compiler, "-O2", "-o", binary, SOURCE], capture_output=True, text=True, check=False
    )
    if built.returncode != 0:
        return None, f"nvcc failed: {built.stderr[-2000:]}"
    return binary, None


def gpu():
    """ "<GPU name>, <driver version>" of the machine's first GPU, from
    nvidia-smi (the floor's figures are that GPU's); None without one."""
    try:
        out = subprocess.run(
            ["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.splitlines()[0] if out else None


def run(binary, case, launches, batches):
    """Microseconds per launch of each of *batches* batches of *launches*
    launches of *case* (one of :data:`CASES`)."""
    if case not in CASES:
        raise ValueError(f"the C floor has no case {case!r}; it has {', '.join(CASES)}")
    proc = subprocess.run(
        [binary, case, str(launches), str(batches)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"the C floor, case {case}, failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
