"""Reliability on a GPU: threads, processes, faults, bad input, pickling.

Every kernel here stamps the configuration it was *compiled* for into its
output (``stamp_*``, see ``support/rewrites.py``), so a launch that ran a
kernel compiled for another configuration is detected on that launch.
Figures (launches, configurations, processes, faults) are in the test names
and printed; LAUNCH-CONFIG-TODO.md records the last run.
"""

import gc
import os
import pickle
import random
import subprocess
import sys
import threading
import time
import tracemalloc

import numpy as np
import pytest
from support import rewrites
from support.twins import child_env

# Threads, processes and faults around launches through the launcher and
# launch sites (C or twin; children get the twin under test): over both.
pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("twins", "quiet_warnings")]

TESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # tests/

from numba import cuda  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import (
    inspection,  # noqa: E402
    tls,  # noqa: E402
)


def _kernels():
    """Three LC-S kernels with different field sensitivities."""

    @cuda.jit
    def stamp_rel_block(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 0
            out[1] = 987654321
            out[2] = 0

    @cuda.jit
    def stamp_rel_grid_block(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 987654322
            out[1] = 987654321
            out[2] = 0

    @cuda.jit
    def stamp_rel_all(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 987654322
            out[1] = 987654321
            out[2] = 987654323

    # kernel, which of (grid, block, sharedmem) it stamps
    return [
        (stamp_rel_block, (False, True, False)),
        (stamp_rel_grid_block, (True, True, False)),
        (stamp_rel_all, (True, True, True)),
    ]


CONFIGS_16 = [(g, b, s) for g in (1, 2) for b in (32, 64, 96, 128) for s in (0, 16)]


def expected(stamps, config):
    return [value if used else 0 for value, used in zip(config, stamps)]


def test_8_threads_x_10000_launches_over_16_configurations_run_no_wrong_kernel():
    kernels = _kernels()
    threads_n, launches_n = 8, 10_000
    wrong, errors = [], []
    barrier = threading.Barrier(threads_n)

    def worker(seed):
        rng = random.Random(seed)
        out = cuda.to_device(np.zeros(3, dtype=np.int64))
        try:
            barrier.wait(timeout=60)
            for _ in range(launches_n):
                kernel, stamps = kernels[rng.randrange(3)]
                grid, block, shmem = CONFIGS_16[rng.randrange(16)]
                kernel[grid, block, 0, shmem](out)
                got = out.copy_to_host().tolist()
                if got != expected(stamps, (grid, block, shmem)):
                    wrong.append((kernel.__name__, (grid, block, shmem), got))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)  # bounded: a deadlock fails here
    elapsed = time.perf_counter() - started
    assert not any(t.is_alive() for t in threads), "deadlock: threads still running"
    assert errors == []
    assert wrong == []
    # Each configuration compiled once per kernel: 4 block sizes, 8
    # (grid, block) pairs, 16 full configurations.
    compiles = [inspection.compile_counters(k)["compiles"] for k, _ in kernels]
    assert compiles == [4, 8, 16]
    print(
        f"\n{threads_n} threads x {launches_n} launches, 16 configurations, 3 kernels: "
        f"0 wrong, compiles {compiles}, {elapsed:.1f} s"
    )


def test_no_tls_or_memory_growth_over_100000_launches():
    kernel, _stamps = _kernels()[1]
    out = cuda.to_device(np.zeros(3, dtype=np.int64))
    configs = [kernel[g, b] for g in (1, 2) for b in (32, 64)]
    for configured in configs:  # compile and warm up
        configured(out)
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    for i in range(100_000):
        configs[i % 4](out)
    cuda.synchronize()
    gc.collect()
    after, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    growth = after - before
    print(f"\n100000 launches over 4 configurations: traced Python memory {growth:+d} bytes")
    assert growth < 256 * 1024
    assert tls.current_args() is None and tls.current_config() is None
    assert not tls.in_compile()
    assert inspection.compile_counters(kernel)["compiles"] == 4


# --------------------------------------------------------------------------
# Faults
# --------------------------------------------------------------------------


class _Boom(Exception):
    pass


def test_a_hook_that_raises_mid_compilation_leaves_nothing_behind():
    @cuda.jit
    def stamp_flaky(out):
        out[0] = 987654321

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    stamp_flaky[1, 32](out)
    original = rewrites.log
    fail = {"on": True}

    def flaky(kind, cfg):
        if fail["on"] and cfg.blockdim[0] == 64:
            raise _Boom("hook failed")
        original(kind, cfg)

    rewrites.log = flaky
    try:
        with pytest.raises(_Boom):
            stamp_flaky[1, 64](out)
        assert numba_cuda_lcs.current_launch_config() is None
        assert tls.current_args() is None and not tls.in_compile()
        assert stamp_flaky[1, 64].args is None
        # No kernel was registered for 64; 32 still works.
        assert all(
            compiled._lcs.key[1] != (64, 1, 1)
            for d in [stamp_flaky, *stamp_flaky._launch_config_specializations.values()]
            for compiled in d.overloads.values()
        )
        stamp_flaky[1, 32](out)
        assert int(out.copy_to_host()[0]) == 32
        fail["on"] = False
        stamp_flaky[1, 64](out)  # the next launch works
        assert int(out.copy_to_host()[0]) == 64
    finally:
        rewrites.log = original


def test_a_callback_that_raises_mid_launch_leaves_nothing_behind():
    @cuda.jit
    def stamp_cb(out):
        out[0] = 987654321

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    configured = stamp_cb[1, 32]
    configured.pre_launch_callbacks.append(lambda k, c: (_ for _ in ()).throw(_Boom()))
    with pytest.raises(_Boom):
        configured(out)
    assert tls.current_args() is None and not tls.in_compile()
    configured.pre_launch_callbacks.clear()
    configured(out)
    assert int(out.copy_to_host()[0]) == 32


# --------------------------------------------------------------------------
# Processes and the disk cache under faults (helpers from support/processes.py)
# --------------------------------------------------------------------------

from support.processes import (  # noqa: E402
    CHILD_TIMEOUT,
    _command,
    _parse,
    files,
    marker,
    outputs,
    run_process,
    workspace,  # noqa: F401  (fixture)
)


def _run_parallel(workspace, cache_dir, launch_lists):
    procs = []
    for launches in launch_lists:
        argv, env = _command(workspace, cache_dir, "stamp_cached", launches)
        procs.append(
            subprocess.Popen(
                argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            )
        )
    results = []
    try:
        for i, proc in enumerate(procs):
            stdout, stderr = proc.communicate(timeout=CHILD_TIMEOUT)
            results.append(_parse(f"process {i}", proc.returncode, stdout, stderr))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    return results


def test_4_processes_x_3_runs_random_configurations_share_a_cache(workspace):  # noqa: F811
    cache_dir = workspace / "cache"
    rng = random.Random(7)
    blocks = [32, 64, 96, 128, 160, 192]
    misses_per_run = []
    for _run in range(3):
        launch_lists = [
            [(rng.randrange(1, 5), rng.choice(blocks)) for _ in range(6)] for _ in range(4)
        ]
        results = _run_parallel(workspace, cache_dir, launch_lists)
        for launches, result in zip(launch_lists, results):
            assert result["error"] is None
            assert outputs(result) == [block for _grid, block in launches]  # 0 wrong kernels
        assert files(cache_dir)["tmp"] == [] and files(cache_dir)["other"] == []
        assert marker(cache_dir)["fields"] == ["blockdim"]
        misses_per_run.append(sum(r["misses"] for r in results))
    # The last run found every block size on disk.
    final = run_process(workspace, cache_dir, "stamp_cached", [(3, b) for b in blocks])
    assert outputs(final) == blocks
    assert final["misses"] == 0 and final["compiled_blocks"] == []
    print(f"\n4 processes x 3 runs: misses per run {misses_per_run}, then 0")


def test_truncated_index_and_marker_fall_back_to_recompiling(workspace):  # noqa: F811
    cache_dir = workspace / "cache"
    run_process(workspace, cache_dir, "stamp_cached", [(1, 32), (1, 64)])
    for kind in ("nbi", "lcs"):
        for path in files(cache_dir)[kind]:
            with open(path, "r+b") as f:
                f.truncate(max(0, os.path.getsize(path) // 2))
    result = run_process(workspace, cache_dir, "stamp_cached", [(1, 32), (1, 64)])
    assert result["error"] is None and outputs(result) == [32, 64]
    assert result["misses"] == 2  # recompiled, nothing wrong loaded
    again = run_process(workspace, cache_dir, "stamp_cached", [(1, 32), (1, 64)])
    assert outputs(again) == [32, 64] and again["misses"] == 0


def test_cache_directory_removed_or_replaced_by_a_file_while_running(workspace):  # noqa: F811
    cache_dir = workspace / "cache"
    code = r"""
import json, os, shutil, sys, warnings
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import numba_cuda_lcs
from support import rewrites
import numpy as np
from numba import cuda
import lcs_cached_kernels as m
out = cuda.to_device(np.zeros(1, dtype=np.int64))
seen = []
m.stamp_cached[1, 32](out); seen.append(int(out.copy_to_host()[0]))
path = m.stamp_cached._cache.cache_path
shutil.rmtree(path)                      # removed while running
m.stamp_cached[1, 64](out); seen.append(int(out.copy_to_host()[0]))
shutil.rmtree(path)
with open(path, "w") as f:               # now unwritable: a file in its place
    f.write("x")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    m.stamp_cached[1, 96](out); seen.append(int(out.copy_to_host()[0]))
    m.stamp_cached[1, 128](out); seen.append(int(out.copy_to_host()[0]))
messages = [str(w.message) for w in caught if "numba-cuda-lcs" in str(w.message)]
print("RESULT " + json.dumps({"seen": seen, "messages": messages}))
"""
    argv, env = _command(workspace, cache_dir, "stamp_cached", [])
    proc = subprocess.run(
        [sys.executable, "-c", code, TESTS_DIR, str(workspace / "src")],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    import json

    result = json.loads(proc.stdout.split("RESULT ", 1)[1])
    assert result["seen"] == [32, 64, 96, 128]  # no crash, no wrong kernel
    # At most one warning (numba-cuda's locator may fall back to another
    # writable directory instead), and it names the kernel.
    assert len(result["messages"]) <= 1
    assert all("stamp_cached" in m for m in result["messages"])


def test_process_killed_between_index_and_data_leaves_a_usable_cache(workspace):  # noqa: F811
    cache_dir = workspace / "cache"
    code = r"""
import os, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import numba_cuda_lcs
from support import rewrites
import numpy as np
from numba import cuda
from numba.cuda.core import caching
real = caching.IndexDataCacheFile._save_data
def die(self, name, data):
    os._exit(9)  # killed after the index names the entry, before its data
caching.IndexDataCacheFile._save_data = die
import lcs_cached_kernels as m
m.stamp_cached[1, 32](cuda.to_device(np.zeros(1, dtype=np.int64)))
"""
    argv, env = _command(workspace, cache_dir, "stamp_cached", [])
    proc = subprocess.run(
        [sys.executable, "-c", code, TESTS_DIR, str(workspace / "src")],
        env=env,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert proc.returncode == 9
    assert files(cache_dir)["lcs"], "the marker is written before the entry"
    result = run_process(workspace, cache_dir, "stamp_cached", [(1, 32), (1, 64), (1, 32)])
    assert result["error"] is None and outputs(result) == [32, 64, 32]


# --------------------------------------------------------------------------
# Bad input and pickling
# --------------------------------------------------------------------------


def test_pickling_a_configured_launch_with_callbacks_is_refused():
    kernel, _ = _kernels()[0]
    configured = kernel[1, 32]
    configured.pre_launch_callbacks.append(lambda k, c: None)
    with pytest.raises(pickle.PicklingError, match="pre-launch callbacks"):
        pickle.dumps(configured)
    configured.pre_launch_callbacks.clear()
    clone = pickle.loads(pickle.dumps(configured))
    assert (clone.griddim, clone.blockdim) == (configured.griddim, configured.blockdim)
    assert type(clone) is type(configured)


PICKLED_KERNEL_CHILD = r"""
import pickle, sys
sys.path[:0] = [sys.argv[1]]
import numba_cuda_lcs
from support import rewrites
import numpy as np
from numba import cuda
kernel = pickle.loads(bytes.fromhex(sys.stdin.read()))
out = cuda.to_device(np.zeros(1, dtype=np.int64))
seen = []
for block in (64, 128, 64):
    kernel[1, block](out)
    seen.append(int(out.copy_to_host()[0]))
print("SEEN", seen)
"""


def test_a_kernel_pickled_to_another_process_compiles_for_its_configurations():
    @cuda.jit
    def stamp_pickled(out):
        out[0] = 987654321

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    stamp_pickled[1, 32](out)
    payload = pickle.dumps(stamp_pickled).hex()
    proc = subprocess.run(
        [sys.executable, "-c", PICKLED_KERNEL_CHILD, TESTS_DIR],
        env=child_env(),
        input=payload,
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT,
    )
    assert proc.returncode == 0, proc.stderr
    assert "SEEN [64, 128, 64]" in proc.stdout
