"""Compile once across processes: the lock protocol of
``numba_cuda_lcs.cache_locks``, on CPU, with real processes.

Each child runs the protocol a backend runs around a cache miss -- load,
else claim the entry's lock; held: load once more, else "compile" (sleep),
save (temporary file + rename), release; released: load again; unlocked:
compile anyway -- with a file standing for the cache entry.  What each
child did is printed as JSON and the compiles are logged to one file.
"""

import errno
import json
import os
import signal
import subprocess
import sys
import time
import warnings

import pytest

from numba_cuda_lcs import cache_locks

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(cache_locks.__file__)))

CHILD = r"""
import errno, json, os, sys, time

spec = json.loads(sys.argv[1])
if spec.get("erofs"):
    def refuse(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")
    os.link = refuse
    real_open = os.open
    def no_create(path, flags, *args, **kwargs):
        if flags & os.O_CREAT:
            refuse()
        return real_open(path, flags, *args, **kwargs)
    os.open = no_create

import warnings
warnings.simplefilter("always")
from numba_cuda_lcs import cache_locks

entry, lock_path = spec["entry"], spec["lock"]
if spec.get("start_file"):
    while not os.path.exists(spec["start_file"]):
        time.sleep(0.002)


def load():
    try:
        with open(entry) as f:
            return f.read()
    except FileNotFoundError:
        return None


def compile_and_save():
    if spec.get("announce"):
        open(spec["announce"], "w").close()
    time.sleep(spec.get("compile_seconds", 0.2))
    if spec.get("hold_until"):  # the other child is about to claim: hold a while longer
        deadline = time.monotonic() + 120  # the other child died: stop waiting
        while not os.path.exists(spec["hold_until"]) and time.monotonic() < deadline:
            time.sleep(0.002)
        time.sleep(spec.get("hold_after", 0.0))
    tmp = f"{entry}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(f"compiled by {os.getpid()}")
    os.replace(tmp, entry)
    with open(spec["log"], "a") as f:
        f.write(f"{os.getpid()}\n")


started = time.monotonic()
waiter = cache_locks.Waiter("test entry", spec.get("bound"))
if spec.get("arrive"):
    open(spec["arrive"], "w").close()
outcome, result, claims = "loaded", load(), []
while result is None:
    claim = waiter.claim(lock_path)
    claims.append(claim.outcome)
    if claim.outcome == cache_locks.HELD:
        result = load()
        if result is None:
            compile_and_save()
            outcome = "compiled"
            result = load()
        claim.lock.release()
    elif claim.outcome == cache_locks.RELEASED:
        result = load()
    else:
        compile_and_save()
        outcome = "compiled-unlocked"
        result = load()
print(json.dumps({
    "pid": os.getpid(), "outcome": outcome, "seconds": time.monotonic() - started,
    "claims": claims,
}))
"""


@pytest.fixture(autouse=True)
def _fresh_warnings():
    cache_locks._warned.clear()
    yield
    cache_locks._warned.clear()


@pytest.fixture
def workspace(tmp_path):
    (tmp_path / "child.py").write_text(CHILD)
    cache = tmp_path / "cache"
    cache.mkdir()
    return tmp_path


def _env(**extra):
    env = dict(os.environ)
    env["NUMBA_CUDA_LCS_DISABLE"] = "1"  # the protocol only: no compiler
    env["PYTHONPATH"] = os.pathsep.join(
        [PACKAGE_PARENT, *[p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]]
    )
    env.pop(cache_locks.TIMEOUT_ENV, None)
    env.update(extra)
    return env


def spawn(workspace, cache=None, **spec):
    cache = cache or workspace / "cache"
    spec.setdefault("entry", str(cache / "kern.1.nbc"))
    spec.setdefault("lock", str(cache / "kern.0123.lock"))
    spec.setdefault("log", str(workspace / "compiles.log"))
    return subprocess.Popen(
        [sys.executable, str(workspace / "child.py"), json.dumps(spec)],
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def result(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    report["stderr"] = err
    return report


def compiles(workspace):
    log = workspace / "compiles.log"
    return log.read_text().split() if log.exists() else []


def wait_for(path, timeout=30):
    deadline = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.01)


def lock_files(directory):
    return [n for n in os.listdir(directory) if ".lock" in n or n.endswith((".tmp", ".stale"))]


# ---------------------------------------------------------------------------
# Processes
# ---------------------------------------------------------------------------


def test_processes_started_together_compile_the_entry_once(workspace):
    start = workspace / "start"
    procs = [
        spawn(workspace, start_file=str(start), compile_seconds=0.5, bound=60) for _ in range(6)
    ]
    time.sleep(0.5)  # all of them waiting at the start line
    start.touch()
    reports = [result(p) for p in procs]
    assert len(compiles(workspace)) == 1
    assert sorted(r["outcome"] for r in reports) == ["compiled"] + ["loaded"] * 5
    assert lock_files(workspace / "cache") == []


def test_a_killed_holder_never_blocks_the_others(workspace):
    announce = workspace / "holding"
    holder = spawn(workspace, announce=str(announce), compile_seconds=600, bound=600)
    wait_for(announce)
    holder.send_signal(signal.SIGKILL)  # killed mid-compile, its lock left behind
    holder.wait(10)
    assert any(n.endswith(".lock") for n in os.listdir(workspace / "cache"))
    waiter = result(spawn(workspace, compile_seconds=0.1, bound=600))
    # Same host, pid gone: taken over at once, far from the 600 s bound.
    assert waiter["outcome"] == "compiled"
    assert waiter["seconds"] < 30
    assert compiles(workspace) == [str(waiter["pid"])]
    assert lock_files(workspace / "cache") == []


def test_a_slow_holder_makes_the_others_compile_after_the_bound(workspace):
    announce = workspace / "holding"
    holder = spawn(workspace, announce=str(announce), compile_seconds=600, bound=600)
    try:
        wait_for(announce)
        held_since = time.monotonic()  # the holder took the lock just before
        waiter = result(spawn(workspace, compile_seconds=0.1, bound=1.5))
        waited = time.monotonic() - held_since
    finally:
        holder.kill()
        holder.wait(10)
    # The holder's lock became older than the bound: taken over, with a
    # warning naming the holder and the variable -- not before (measured
    # from the lock, as a waiter slow to start may arrive late).
    assert waiter["outcome"] == "compiled"
    assert 1.0 <= waited and waiter["seconds"] < 30
    assert "taking it over" in waiter["stderr"] and cache_locks.TIMEOUT_ENV in waiter["stderr"]
    assert compiles(workspace) == [str(waiter["pid"])]


def test_a_slow_holder_with_a_fresh_lock_is_waited_for_then_loaded(workspace):
    # The holder compiles until the waiter (a fresh Python process, slow to
    # start on a loaded machine) has arrived, then a while longer, so the
    # waiter finds the lock held.
    announce, arrived = workspace / "holding", workspace / "arrived"
    holder = spawn(
        workspace,
        announce=str(announce),
        compile_seconds=0.1,
        hold_until=str(arrived),
        hold_after=1.0,
        bound=60,
    )
    try:
        wait_for(announce)
        waiter = result(spawn(workspace, arrive=str(arrived), bound=60))
        held = result(holder)
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
    assert held["outcome"] == "compiled"
    assert waiter["outcome"] == "loaded"
    assert cache_locks.RELEASED in waiter["claims"]
    assert waiter["seconds"] >= 0.3
    assert len(compiles(workspace)) == 1


def test_two_cache_directories_do_not_wait_for_each_other(workspace):
    other = workspace / "other-cache"
    other.mkdir()
    announce = workspace / "holding"
    holder = spawn(workspace, announce=str(announce), compile_seconds=600, bound=600)
    try:
        wait_for(announce)
        elsewhere = result(spawn(workspace, cache=other, compile_seconds=0.1, bound=600))
    finally:
        holder.kill()
        holder.wait(10)
    assert elsewhere["outcome"] == "compiled"
    assert elsewhere["claims"] == [cache_locks.HELD]
    assert elsewhere["seconds"] < 30


def test_a_read_only_cache_directory_loads_and_compiles_without_locks(workspace):
    cache = workspace / "cache"
    # Nothing cached: compile without a lock at once (no lock can be made).
    report = result(spawn(workspace, erofs=True, bound=600))
    assert report["outcome"] == "compiled-unlocked"
    assert report["claims"] == [cache_locks.UNLOCKED]
    assert lock_files(cache) == []
    # Cached: loaded, no lock tried.
    report = result(spawn(workspace, erofs=True, bound=600))
    assert report["outcome"] == "loaded" and report["claims"] == []


def test_a_really_read_only_directory(workspace):
    cache = workspace / "cache"
    os.chmod(cache, 0o555)
    try:
        try:
            (cache / "probe").touch()
        except OSError:
            pass
        else:
            (cache / "probe").unlink()
            pytest.skip("chmod 0o555 does not stop this user writing (root)")
        log = workspace / "compiles.log"
        report = result(spawn(workspace, entry=str(workspace / "entry"), log=str(log)))
        assert report["claims"] == [cache_locks.UNLOCKED]
    finally:
        os.chmod(cache, 0o755)


def test_locks_off_with_zero(workspace, monkeypatch):
    monkeypatch.setenv(cache_locks.TIMEOUT_ENV, "0")
    assert not cache_locks.enabled()
    claim = cache_locks.Waiter("x").claim(str(workspace / "cache" / "a.lock"))
    assert claim.outcome == cache_locks.UNLOCKED
    assert lock_files(workspace / "cache") == []


# ---------------------------------------------------------------------------
# The lock file
# ---------------------------------------------------------------------------


def test_a_lock_is_created_once_and_names_its_holder(tmp_path):
    path = str(tmp_path / "e.lock")
    lock = cache_locks.try_create(path, "kern")
    assert lock is not None
    assert cache_locks.try_create(path, "kern") is None  # exists: not ours
    holder = cache_locks.read(path)
    assert holder["pid"] == os.getpid()
    assert holder["host"] and holder["token"] == lock.token
    assert isinstance(holder["created"], float)
    if sys.platform.startswith("linux"):
        assert isinstance(holder["start"], int)
    assert cache_locks.held_by_this_process(holder)
    assert os.listdir(tmp_path) == ["e.lock"]  # the temporary is gone
    lock.release()
    assert os.listdir(tmp_path) == []
    lock.release()  # once only


def test_release_leaves_a_lock_taken_over_meanwhile(tmp_path):
    path = str(tmp_path / "e.lock")
    mine = cache_locks.try_create(path)
    os.unlink(path)
    theirs = cache_locks.try_create(path)
    mine.release()
    assert cache_locks.read(path)["token"] == theirs.token


def test_a_process_never_waits_for_its_own_lock(tmp_path):
    path = str(tmp_path / "e.lock")
    lock = cache_locks.try_create(path)
    started = time.monotonic()
    claim = cache_locks.Waiter("x", 600).claim(path)
    assert claim.outcome == cache_locks.UNLOCKED
    assert time.monotonic() - started < 1
    lock.release()


def _holder(**fields):
    return {**cache_locks._me(), "created": time.time(), "token": "t", **fields}


def test_stale_when_the_pid_runs_another_process():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    assert "exited" in cache_locks.stale_reason(_holder(pid=dead.pid), 600)
    alive = _holder(pid=os.getppid(), start=cache_locks._start_time(os.getppid()))
    assert cache_locks.stale_reason(alive, 600) is None
    if sys.platform.startswith("linux"):
        reused = _holder(pid=os.getppid(), start=1)
        assert "another process" in cache_locks.stale_reason(reused, 600)


def test_another_hosts_lock_is_only_stale_past_the_bound():
    other = _holder(host="elsewhere.example", pid=1)
    assert cache_locks.stale_reason(other, 600) is None
    other["created"] -= 601
    assert "older than" in cache_locks.stale_reason(other, 600)


def test_a_half_written_lock_is_waited_for_until_the_bound(tmp_path):
    path = tmp_path / "e.lock"
    path.write_bytes(b"")
    holder = cache_locks.read(str(path))
    assert cache_locks.stale_reason(holder, 600) is None
    old = time.time() - 700
    os.utime(path, (old, old))
    assert "older than" in cache_locks.stale_reason(cache_locks.read(str(path)), 600)


def test_break_stale_puts_back_a_lock_claimed_meanwhile(tmp_path):
    path = str(tmp_path / "e.lock")
    fresh = cache_locks.try_create(path)
    judged = {"token": "the-stale-one"}
    assert cache_locks.break_stale(path, judged) is False
    assert cache_locks.read(path)["token"] == fresh.token
    assert sorted(os.listdir(tmp_path)) == ["e.lock"]


def test_the_bound_comes_from_the_environment(monkeypatch):
    monkeypatch.setenv(cache_locks.TIMEOUT_ENV, "12.5")
    assert cache_locks.timeout() == 12.5
    monkeypatch.setenv(cache_locks.TIMEOUT_ENV, "soon")
    with pytest.warns(RuntimeWarning, match=cache_locks.TIMEOUT_ENV):
        assert cache_locks.timeout() == cache_locks.DEFAULT_TIMEOUT
    monkeypatch.delenv(cache_locks.TIMEOUT_ENV)
    assert cache_locks.timeout() == cache_locks.DEFAULT_TIMEOUT


def test_waiting_backs_off_and_gives_up_at_the_bound_with_one_warning(tmp_path):
    path = str(tmp_path / "e.lock")
    with open(path, "w") as f:
        json.dump(_holder(host="elsewhere.example", pid=1, token="x"), f)
    now = [0.0]
    sleeps = []

    def sleep(seconds):
        sleeps.append(seconds)
        now[0] += seconds

    waiter = cache_locks.Waiter("kern (float32[::1])", 2.0, sleep=sleep, clock=lambda: now[0])
    with pytest.warns(RuntimeWarning, match="waited 2 s for pid 1 on elsewhere.example") as rec:
        assert waiter.claim(path).outcome == cache_locks.UNLOCKED
    assert cache_locks.TIMEOUT_ENV in str(rec[0].message)
    assert sleeps[0] == cache_locks.FIRST_POLL
    assert max(sleeps) <= cache_locks.MAX_POLL
    assert sleeps == sorted(sleeps) or sleeps[-1] < sleeps[-2]  # the last one is cut
    assert sum(sleeps) == pytest.approx(2.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # once per lock
        assert cache_locks.Waiter("k", 0.5, sleep=sleep, clock=lambda: now[0]).claim(
            path
        ).outcome == (cache_locks.UNLOCKED)


def test_lock_errors_other_than_exists_mean_no_locking(tmp_path, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError(errno.EACCES, "Permission denied")

    monkeypatch.setattr(os, "link", refuse)
    monkeypatch.setattr(os, "open", refuse)
    claim = cache_locks.Waiter("x", 60).claim(str(tmp_path / "e.lock"))
    assert claim.outcome == cache_locks.UNLOCKED
