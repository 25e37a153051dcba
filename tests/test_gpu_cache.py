"""The disk cache across processes, on a real GPU.

Every scenario runs fresh Python processes that share one ``NUMBA_CACHE_DIR``
and import one kernel module, as separate runs of a program (or the ranks of
one job) do.  ``stamp_*`` kernels write the block size they were *compiled*
for (see ``support/rewrites.py``), so an output proves which compiled kernel
ran, whether it came from the disk or from the compiler; each child also
reports its cache hits and misses and the compilations its rewrite saw.
"""

import json
import os
import subprocess
import sys
import time

import pytest

from conftest import requires_gpu

import numba_cuda_lcs

pytestmark = [pytest.mark.gpu, requires_gpu]

TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
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

CHILD = r'''
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
'''


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------


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
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(cache_dir)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("NUMBA_CUDA_LCS_DISABLE", None)
    if disabled:
        env["NUMBA_CUDA_LCS_DISABLE"] = "1"
    # The package the tests import, after whatever the environment puts first.
    paths = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths + [PACKAGE_PARENT])
    return env


def _command(workspace, cache_dir, kernel, launches, *, module="lcs_cached_kernels",
             out_len=1, start_file=None, disabled=False):
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
    return json.loads(lines[-1][len("LCS-RESULT "):])


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


def test_lcs_kernel_is_cached_per_block_size_across_processes(workspace):
    cache_dir = workspace / "cache"
    version = numba_cuda_lcs.__version__

    # A: compiles, writes index, data and the marker.
    a = run_process(workspace, cache_dir, "stamp_cached", [(1, 32)])
    assert a["active"] and a["error"] is None
    assert outputs(a) == [32]
    assert (a["hits"], a["misses"]) == (0, 1)
    assert a["compiled_blocks"] == [[32, 1, 1]]
    on_disk = files(cache_dir)
    assert len(on_disk["nbi"]) == 1 and len(on_disk["nbc"]) == 1
    assert on_disk["tmp"] == [] and on_disk["other"] == []
    base = os.path.basename(on_disk["nbi"][0])[: -len(".nbi")]
    assert base.startswith("lcs_cached_kernels.stamp_cached-")
    assert os.path.basename(on_disk["lcs"][0]) == base + ".lcs"
    assert os.path.basename(on_disk["nbc"][0]) == base + ".1.nbc"
    assert os.path.dirname(on_disk["nbi"][0]) == a["cache_path"]
    assert marker(cache_dir) == {"numba_cuda_lcs": version, "fields": ["blockdim"]}
    assert a["index_extras"] == [[version, block_key(32)]]

    # B: another block size compiles (its rewrite saw 64).
    b = run_process(workspace, cache_dir, "stamp_cached", [(1, 64)])
    assert outputs(b) == [64]
    assert (b["hits"], b["misses"]) == (0, 1)
    assert b["compiled_blocks"] == [[64, 1, 1]]
    assert sorted(b["index_extras"]) == sorted([[version, block_key(32)], [version, block_key(64)]])

    # C: 32 comes from the disk, compiling nothing; 128 compiles a specialization.
    c = run_process(workspace, cache_dir, "stamp_cached", [(1, 32), (1, 128), (1, 32)])
    assert c["error"] is None
    assert outputs(c) == [32, 128, 32]
    first, second, third = c["launches"]
    assert (first["hits"], first["misses"], first["compiled_blocks"]) == (1, 0, [])
    assert (second["hits"], second["misses"]) == (1, 1)
    assert second["compiled_blocks"] == [[128, 1, 1]]
    assert (third["hits"], third["misses"]) == (1, 1)

    # D: every block size seen so far loads, for any grid size.
    d = run_process(workspace, cache_dir, "stamp_cached", [(3, 64), (5, 128), (2, 32)])
    assert outputs(d) == [64, 128, 32]
    assert (d["hits"], d["misses"], d["compiled_blocks"]) == (3, 0, [])
    assert len(files(cache_dir)["nbc"]) == 3
    assert files(cache_dir)["tmp"] == []
    assert marker(cache_dir)["fields"] == ["blockdim"]


def test_concurrent_processes_share_one_cache_directory(workspace):
    cache_dir = workspace / "cache"
    start = workspace / "start"
    orders = [(32, 64, 96, 128), (128, 96, 64, 32), (64, 128, 32, 96), (96, 32, 128, 64)]
    procs = []
    for order in orders:
        argv, env = _command(
            workspace, cache_dir, "stamp_cached", [(1, b) for b in order], start_file=start
        )
        procs.append(
            subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        )
    time.sleep(2)  # let them import numba and reach the start line
    start.write_text("go")
    results = []
    try:
        for order, proc in zip(orders, procs):
            stdout, stderr = proc.communicate(timeout=CHILD_TIMEOUT)
            results.append((order, _parse(str(order), proc.returncode, stdout, stderr)))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    for order, result in results:
        assert result["error"] is None, (order, result["error"])
        assert outputs(result) == list(order), order
        assert result["hits"] + result["misses"] == 4
    on_disk = files(cache_dir)
    assert on_disk["tmp"] == []
    assert on_disk["other"] == []
    assert marker(cache_dir) == {
        "numba_cuda_lcs": numba_cuda_lcs.__version__,
        "fields": ["blockdim"],
    }

    # What they left behind serves a later run correctly, from the disk.
    later = run_process(workspace, cache_dir, "stamp_cached", [(1, b) for b in (32, 64, 96, 128)])
    assert outputs(later) == [32, 64, 96, 128]
    assert later["hits"] >= 1
    assert later["hits"] + later["misses"] == 4


def test_lcs_entry_whose_marker_was_deleted_is_recompiled_and_remarked(workspace):
    cache_dir = workspace / "cache"
    run_process(workspace, cache_dir, "stamp_cached", [(1, 32)])
    (marker_path,) = files(cache_dir)["lcs"]
    os.unlink(marker_path)

    again = run_process(workspace, cache_dir, "stamp_cached", [(1, 32)])
    assert outputs(again) == [32]
    assert (again["hits"], again["misses"]) == (0, 1)
    assert again["compiled_blocks"] == [[32, 1, 1]]
    assert marker(cache_dir)["fields"] == ["blockdim"]

    then = run_process(workspace, cache_dir, "stamp_cached", [(1, 32)])
    assert (then["hits"], then["misses"], then["compiled_blocks"]) == (1, 0, [])


# --------------------------------------------------------------------------
# A plain kernel: numba-cuda's behaviour, unchanged
# --------------------------------------------------------------------------


def test_plain_kernel_caches_exactly_as_numba_cuda_does(workspace):
    launches = [(1, 32), (2, 64)]
    counts = {}
    for disabled in (False, True):
        cache_dir = workspace / ("stock-cache" if disabled else "lcs-cache")
        runs = [
            run_process(workspace, cache_dir, "plain_cached", launches, disabled=disabled)
            for _ in range(2)
        ]
        for result in runs:
            assert result["active"] is (not disabled)
            assert result["error"] is None
            assert outputs(result) == [32, 64]
        counts[disabled] = [(r["hits"], r["misses"]) for r in runs]
        assert files(cache_dir)["lcs"] == []  # no marker either way
        assert runs[-1]["index_extras"] == [None]
    assert counts[False] == counts[True] == [(0, 1), (1, 0)]

    # The index keys are identical: each reads the other's entry.
    lcs_reads_stock = run_process(workspace, workspace / "stock-cache", "plain_cached", launches)
    stock_reads_lcs = run_process(
        workspace, workspace / "lcs-cache", "plain_cached", launches, disabled=True
    )
    for result in (lcs_reads_stock, stock_reads_lcs):
        assert (result["hits"], result["misses"]) == (1, 0)
        assert outputs(result) == [32, 64]


# --------------------------------------------------------------------------
# Link files: numba-cuda cannot cache kernels that have them
# --------------------------------------------------------------------------


def test_cached_lcs_kernels_with_link_files_work_in_memory(workspace):
    cache_dir = workspace / "cache"
    linked = dict(module="lcs_linked_kernels", out_len=2)

    # The link file works: uncached, the LC-S kernel runs and specializes.
    uncached = run_process(workspace, cache_dir, "stamp_linked_nocache", [(1, 32), (1, 64)], **linked)
    assert uncached["error"] is None
    assert [launch["out"] for launch in uncached["launches"]] == [[32, 42], [64, 42]]

    # numba-cuda refuses to disk-cache kernels with link files; a plain one
    # keeps failing exactly as in numba-cuda ...
    stock = run_process(workspace, cache_dir, "plain_linked", [(1, 32)], disabled=True, **linked)
    assert "Cannot pickle CUDACodeLibrary with linking files" in stock["error"]
    plain = run_process(workspace, cache_dir, "plain_linked", [(1, 32)], **linked)
    assert plain["active"] and plain["error"] == stock["error"]

    # ... while an LC-S one keeps working in memory, for every configuration.
    lcs = run_process(workspace, cache_dir, "stamp_linked", [(1, 32), (1, 64), (1, 32)], **linked)
    assert lcs["active"] and lcs["error"] is None
    assert [launch["out"] for launch in lcs["launches"]] == [[32, 42], [64, 42], [32, 42]]
    assert files(cache_dir)["nbc"] == []
    assert files(cache_dir)["tmp"] == []
