"""Child processes of the tests.

Every child runs the twin in effect in the test that starts it
(``support.twins.child_env``: ``NUMBA_CUDA_LCS_PURE_PYTHON=1`` under the
Python twin), so a test run over both twins checks both in its children too.

* :func:`run_python`: ``python ARGS...`` in a fresh process (``-c CODE``,
  ``-m numba_cuda_lcs ...``), from the directory holding the package under
  test, so that an unpacked sdist does not shadow the installed wheel;
* fresh processes sharing one disk cache, the helpers the cache and
  reliability tests use: each child imports a kernel module, launches it with
  the configurations it is given and reports what ran (see CHILD).
"""

import json
import os
import subprocess
import sys

import pytest

import numba_cuda_lcs

from .twins import child_env

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(numba_cuda_lcs.__file__)))
CHILD_TIMEOUT = 300  # seconds; a cold process compiles in a few

KERNEL_MODULE = """\
from numba import cuda


@cuda.jit(cache=True)
def stamp_cached(out):
    if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
        out[0] = 987654321  # the block size it was compiled for


@cuda.jit(cache=True)
def plain_cached(out):
    if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
        out[0] = cuda.blockDim.x
"""

LINKED_MODULE = """\
import os

from numba import cuda

CU = os.path.join(os.path.dirname(__file__), "add_one.cu")
add_one = cuda.declare_device("lcs_test_add_one", "int64(int64)")


def stamp_linked_impl(out):  # stamp_*: the rewrite applies
    if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
        out[0] = 987654321
        out[1] = add_one(41)


def plain_linked_impl(out):
    if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
        out[0] = cuda.blockDim.x
        out[1] = add_one(41)


stamp_linked = cuda.jit(cache=True, link=[CU])(stamp_linked_impl)
stamp_linked_nocache = cuda.jit(link=[CU])(stamp_linked_impl)
plain_linked = cuda.jit(cache=True, link=[CU])(plain_linked_impl)
"""

ADD_ONE_CU = """\
extern "C" __device__ int lcs_test_add_one(long long *ret, long long x)
{
    *ret = x + 1;
    return 0;
}
"""

CHILD = r"""
import importlib, json, os, sys, time

spec = json.loads(sys.argv[1])
sys.path[:0] = [spec["tests_dir"], spec["module_dir"]]

import numba_cuda_lcs

active = numba_cuda_lcs.is_active()
rewrites = None
if active:
    from support import rewrites  # registers the stamp_* rewrite

import numpy as np
from numba import cuda

kernel = getattr(importlib.import_module(spec["module"]), spec["kernel"])

if spec.get("start_file"):
    deadline = time.monotonic() + 120
    while not os.path.exists(spec["start_file"]):
        if time.monotonic() > deadline:
            sys.exit("the start file never appeared")
        time.sleep(0.002)


def dispatchers():
    yield kernel
    yield from getattr(kernel, "_launch_config_specializations", {}).values()


def counts():
    hits = sum(sum(d.stats.cache_hits.values()) for d in dispatchers())
    misses = sum(sum(d.stats.cache_misses.values()) for d in dispatchers())
    return hits, misses


def compiled_blocks():
    if rewrites is None:
        return []
    return [list(entry[2]) for entry in rewrites.compiles("stamp")]


launches, error = [], None
for grid, block in spec["launches"]:
    out = cuda.to_device(np.zeros(spec.get("out_len", 1), dtype=np.int64))
    try:
        kernel[grid, block](out)
        cuda.synchronize()
    except Exception as exc:
        error = f"{type(exc).__name__}: {exc}"
        break
    hits, misses = counts()
    launches.append(
        {
            "out": out.copy_to_host().tolist(),
            "hits": hits,
            "misses": misses,
            "compiled_blocks": compiled_blocks(),
        }
    )

cache = kernel._cache
index = {}
if hasattr(cache, "_cache_file"):
    try:
        index = cache._cache_file._load_index()
    except Exception as exc:
        index = {"unreadable": repr(exc)}
extras = []
for key in index:
    last = key[-1] if isinstance(key, tuple) else None
    ours = isinstance(last, tuple) and last[:1] == ("numba-cuda-lcs",)
    extras.append(list(last[1:]) if ours else None)

hits, misses = counts()
print("LCS-RESULT " + json.dumps({
    "active": active,
    "launches": launches,
    "error": error,
    "hits": hits,
    "misses": misses,
    "compiled_blocks": compiled_blocks(),
    "cache_path": getattr(cache, "cache_path", None),
    "index_extras": extras,
}, default=list))
"""


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


def run_python(*args, env=None, check=True, timeout=300, cwd=PACKAGE_PARENT, **options):
    """``python *args`` in a child process running the twin in effect; *env*:
    variables to set (None: removed).  *check*: the child must exit 0."""
    full_env = child_env()
    for name, value in (env or {}).items():
        if value is None:
            full_env.pop(name, None)
        else:
            full_env[name] = value
    proc = subprocess.run(
        [sys.executable, *args],
        env=full_env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **options,
    )
    if check:
        assert proc.returncode == 0, f"{args[:2]} exited {proc.returncode}\n{proc.stderr[-3000:]}"
    return proc


def lcs_result(proc):
    """The JSON a child printed on its ``LCS-RESULT `` line (the last one)."""
    lines = [x for x in proc.stdout.splitlines() if x.startswith("LCS-RESULT ")]
    assert lines, f"no LCS-RESULT line\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}"
    return json.loads(lines[-1][len("LCS-RESULT ") :])


@pytest.fixture
def workspace(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "lcs_cached_kernels.py").write_text(KERNEL_MODULE)
    (src / "lcs_linked_kernels.py").write_text(LINKED_MODULE)
    (src / "add_one.cu").write_text(ADD_ONE_CU)
    (tmp_path / "child.py").write_text(CHILD)
    return tmp_path


def _child_env(cache_dir, disabled):
    env = child_env()
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("NUMBA_CUDA_LCS_DISABLE", None)
    if disabled:
        env["NUMBA_CUDA_LCS_DISABLE"] = "1"
    # The package the tests import, after whatever the environment puts first.
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths + [PACKAGE_PARENT])
    return env


def _command(
    workspace,
    cache_dir,
    kernel,
    launches,
    *,
    module="lcs_cached_kernels",
    out_len=1,
    start_file=None,
    disabled=False,
):
    spec = {
        "tests_dir": TESTS_DIR,
        "module_dir": str(workspace / "src"),
        "module": module,
        "kernel": kernel,
        "launches": [list(launch) for launch in launches],
        "out_len": out_len,
        "start_file": None if start_file is None else str(start_file),
    }
    return (
        [sys.executable, str(workspace / "child.py"), json.dumps(spec)],
        _child_env(cache_dir, disabled),
    )


def _parse(proc_name, returncode, stdout, stderr):
    assert returncode == 0, f"{proc_name} exited {returncode}\n{stdout}\n{stderr}"
    lines = [line for line in stdout.splitlines() if line.startswith("LCS-RESULT ")]
    assert lines, f"{proc_name} printed no result\n{stdout}\n{stderr}"
    return json.loads(lines[-1][len("LCS-RESULT ") :])


def run_process(workspace, cache_dir, kernel, launches, **options):
    """One fresh process launching *kernel* once per (grid, block)."""
    argv, env = _command(workspace, cache_dir, kernel, launches, **options)
    proc = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=CHILD_TIMEOUT)
    return _parse(kernel, proc.returncode, proc.stdout, proc.stderr)


def files(cache_dir):
    """{suffix kind: [names]} of everything in the cache directory."""
    found = {"nbi": [], "nbc": [], "lcs": [], "tmp": [], "other": []}
    for root, _dirs, names in os.walk(cache_dir):
        for name in names:
            if ".tmp" in name:
                kind = "tmp"
            else:
                kind = name.rsplit(".", 1)[-1]
                kind = kind if kind in found else "other"
            found[kind].append(os.path.join(root, name))
    return found


def marker(cache_dir):
    markers = files(cache_dir)["lcs"]
    assert len(markers) == 1, markers
    with open(markers[0], "rb") as f:
        return json.loads(f.read().decode("utf-8"))


def block_key(block):
    return [2, [block, 1, 1]]  # BLOCKDIM mask, blockdim, as JSON has it


def outputs(result):
    return [launch["out"][0] for launch in result["launches"]]


# --------------------------------------------------------------------------
# An LC-S kernel, run after run
# --------------------------------------------------------------------------
