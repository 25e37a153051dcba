"""The disk cache across processes, on a real GPU.

Every scenario runs fresh Python processes that share one ``NUMBA_CACHE_DIR``
and import one kernel module, as separate runs of a program (or the ranks of
one job) do.  ``stamp_*`` kernels write the block size they were *compiled*
for (see ``support/rewrites.py``), so an output proves which compiled kernel
ran, whether it came from the disk or from the compiler; each child also
reports its cache hits and misses and the compilations its rewrite saw.
"""

import os
import subprocess
import time

import pytest

import numba_cuda_lcs

# The children launch through the launcher (C or twin; they get the twin under
# test): over both.
pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("twins")]

from support.processes import (  # noqa: E402
    CHILD_TIMEOUT,
    _command,
    _parse,
    block_key,
    files,
    marker,
    outputs,
    run_process,
    workspace,  # noqa: F401  (fixture)
)


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
            subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
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
    uncached = run_process(
        workspace, cache_dir, "stamp_linked_nocache", [(1, 32), (1, 64)], **linked
    )
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
