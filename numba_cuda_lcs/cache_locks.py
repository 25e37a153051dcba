"""Compile once across processes: lock files beside a disk cache's index
(compiler-neutral).

Processes that share a cache directory (one machine, or a shared file system
across machines) and miss the same entry -- same kernel, signature, launch
key, compiler and version: the compiler's index key -- compile it once.  The
first takes the entry's lock; the others wait for it to go, then load what it
saved.  What a backend does with this module (where in its load-miss,
compile, save sequence it claims and releases) is in its ``cache.py`` /
``compile.py``; the protocol is here:

- **A lock** is a file ``<index base>.<digest of the index key>.lock`` beside
  the index, created atomically: its content (JSON: host, boot id, PID
  namespace, pid, process start time, creation time, a random token) is
  written to a temporary file first and ``os.link``-ed to the lock's name,
  which fails if the name exists (the NFS-safe way; ``O_CREAT|O_EXCL`` where
  the file system has no hard links).  A reader never sees half a lock.
- **Waiting**: a process that finds the lock held polls it (``os.stat``,
  5 ms growing to 100 ms) until it is gone, then loads the entry; if the entry
  is still missing (the holder failed), it claims the lock itself.
- **Takeover**: a lock whose holder is gone -- same host (host name, boot id
  and PID namespace) and its pid no longer runs, or runs a process started
  at another time (a reused pid) -- or that is older than the bound, is
  removed (renamed aside, checked to be the one judged stale, then unlinked)
  and claimed again.  A killed holder never blocks the others.
- **The bound** (:data:`TIMEOUT_ENV`, seconds, default
  :data:`DEFAULT_TIMEOUT`): no process waits longer than this in total for
  one entry; then it compiles itself (with one warning naming the holder and
  the variable).  A slow holder costs the others at most the bound, never a
  hang, and there is no deadlock: a compile holds the compiler's in-process
  lock while it waits, so the wait is bounded, and a process never waits for
  a lock it holds itself.  ``0`` turns locking off.
- **The index** of a function is read, changed and rewritten by every save;
  two processes saving at once can lose one of the entries.  Saves take the
  index lock (``<index>.lock``, same protocol, bound :data:`INDEX_TIMEOUT`),
  so concurrent saves of different entries all stay.

What can go wrong costs time, never a wrong entry: entries are written to a
temporary file and renamed by the compilers' caches, a load checks the launch
key saved inside an LC-S entry, and two processes that both end up compiling
(a takeover race, a holder past the bound) save the same code.  A directory
where no lock can be created (read-only) means no locking: loads work as
before and compiles stay in memory.
"""

import contextlib
import hashlib
import json
import os
import socket
import threading
import time
import uuid

from . import user_warnings

#: Environment variable: the bound in seconds (float; 0 turns locks off).
TIMEOUT_ENV = "NUMBA_CUDA_LCS_CACHE_LOCK_TIMEOUT"
#: The bound when the variable is unset: one compile should never take longer.
DEFAULT_TIMEOUT = 300.0
#: The bound for the index lock (held for one index rewrite).
INDEX_TIMEOUT = 30.0

LOCK_SUFFIX = ".lock"
FIRST_POLL = 0.005
MAX_POLL = 0.1


def timeout():
    """The bound in seconds (:data:`TIMEOUT_ENV`, else
    :data:`DEFAULT_TIMEOUT`); 0 when locking is off.  An unparsable or
    negative value warns once and uses the default."""
    raw = os.environ.get(TIMEOUT_ENV, "").strip()
    if not raw:
        return DEFAULT_TIMEOUT
    try:
        value = float(raw)
        if value < 0 or value != value:
            raise ValueError(raw)
    except ValueError:
        _warn_once(
            ("env", raw),
            f"numba-cuda-lcs: {TIMEOUT_ENV}={raw!r} is not a number of seconds "
            f"(0 turns cache locks off); using {DEFAULT_TIMEOUT:g}",
        )
        return DEFAULT_TIMEOUT
    return value


def enabled():
    return timeout() > 0


def entry_lock_path(directory, base, index_key):
    """The lock of the entry *index_key* (the compiler's full index key, our
    launch key included) of the function whose index base is *base*."""
    digest = hashlib.sha256(repr(index_key).encode("utf-8")).hexdigest()[:24]
    return os.path.join(directory, f"{base}.{digest}{LOCK_SUFFIX}")


def index_lock_path(index_path):
    return index_path + LOCK_SUFFIX


# -- who holds a lock ---------------------------------------------------------------


def _read_text(path):
    try:
        with open(path, encoding="ascii", errors="replace") as f:
            return f.read().strip()
    except OSError:
        return ""


def _start_time(pid):
    """When *pid* started (clock ticks since boot, Linux), or None."""
    raw = _read_text(f"/proc/{pid}/stat")
    if not raw:
        return None
    try:  # the command name (field 2) may hold spaces and parentheses
        return int(raw[raw.rindex(")") + 2 :].split()[19])
    except (ValueError, IndexError):
        return None


def _pid_namespace():
    try:
        return os.stat("/proc/self/ns/pid").st_ino
    except OSError:
        return None


_BOOT_ID = _read_text("/proc/sys/kernel/random/boot_id") or None


def _me():
    """This process, as a lock names its holder."""
    pid = os.getpid()
    return {
        "host": socket.gethostname(),
        "boot_id": _BOOT_ID,
        "pid_ns": _pid_namespace(),
        "pid": pid,
        "start": _start_time(pid),
    }


def _same_host(holder, me):
    return (
        holder.get("host") == me["host"]
        and holder.get("boot_id") == me["boot_id"]
        and holder.get("pid_ns") == me["pid_ns"]
    )


def _pid_running(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    except OSError:
        return True
    return True


def stale_reason(holder, bound, now=None):
    """Why the lock whose content is *holder* may be taken over, or None.

    *holder* is None for a lock whose content cannot be read (being written
    by O_EXCL, or damaged): stale once older than the bound, judged by
    ``holder_mtime`` the caller adds."""
    now = time.time() if now is None else now
    created = holder.get("created") if holder else None
    if not isinstance(created, (int, float)):
        created = holder.get("mtime", now) if holder else now
    if bound > 0 and now - created > bound:
        return f"older than {bound:g} s"
    if not holder or "pid" not in holder:
        return None
    me = _me()
    if not _same_host(holder, me):
        return None  # cannot tell: only the bound applies
    pid = holder.get("pid")
    if not isinstance(pid, int):
        return "names no process"
    if not _pid_running(pid):
        return f"its holder (pid {pid}) has exited"
    start = holder.get("start")
    if start is not None and _start_time(pid) not in (None, start):
        return f"its holder's pid {pid} now runs another process"
    return None


def held_by_this_process(holder):
    return bool(holder) and holder.get("pid") == os.getpid() and _same_host(holder, _me())


def describe_holder(holder):
    if not holder:
        return "another process"
    return f"pid {holder.get('pid')} on {holder.get('host')}"


# -- one lock file ------------------------------------------------------------------


class Lock:
    """A lock file this process created (release it once)."""

    __slots__ = ("path", "token", "_released")

    def __init__(self, path, token):
        self.path = path
        self.token = token
        self._released = False

    def release(self):
        """Remove the lock if it is still ours (it may have been taken over
        past the bound: then it is someone else's now)."""
        if self._released:
            return
        self._released = True
        holder = read(self.path)
        if holder is not None and holder.get("token") == self.token:
            try:
                os.unlink(self.path)
            except OSError:
                pass

    def __repr__(self):
        return f"<Lock {self.path!r}>"


def read(path):
    """The lock's content (a dict; ``{}`` when unreadable or half written,
    with ``mtime``), or None when there is no lock."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
        mtime = os.stat(path).st_mtime
    except FileNotFoundError:
        return None
    except OSError:
        return {}
    try:
        holder = json.loads(raw.decode("utf-8"))
        if not isinstance(holder, dict):
            raise ValueError(holder)
    except ValueError:
        return {"mtime": mtime}
    holder["mtime"] = mtime
    return holder


def try_create(path, what=""):
    """Create the lock at *path*: a :class:`Lock`, None when it exists.
    OSError when it cannot be created (read-only directory, ...)."""
    token = uuid.uuid4().hex
    content = dict(_me(), created=time.time(), token=token, what=what)
    payload = json.dumps(content).encode("utf-8")
    tmp = f"{path}.{token[:12]}.tmp"
    with open(tmp, "wb") as f:
        f.write(payload)
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            return None
        except OSError:
            # No hard links here (some network and FUSE file systems).
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return None
            with os.fdopen(fd, "wb") as f:
                f.write(payload)
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass
    return Lock(path, token)


def break_stale(path, holder):
    """Remove the lock at *path* judged stale from *holder* (its content
    then), unless it changed meanwhile.  True when it is gone."""
    aside = f"{path}.{uuid.uuid4().hex[:12]}.stale"
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return True
    except OSError:
        return False
    moved = read(aside)
    same = moved is not None and moved.get("token") == (holder or {}).get("token")
    if not same and moved and moved.get("token"):
        # A fresh lock was claimed between our read and the rename: put it
        # back (fails if yet another one exists: then two processes compile
        # the same entry, which costs time, never correctness).
        try:
            os.link(aside, path)
        except OSError:
            pass
    try:
        os.unlink(aside)
    except OSError:
        pass
    return same or not moved or not moved.get("token")


# -- claiming an entry --------------------------------------------------------------

#: What :meth:`Waiter.claim` found.
HELD = "held"  # we hold the lock: load once more, else compile, save, release
RELEASED = "released"  # another process held it and let go: load again
UNLOCKED = "unlocked"  # compile without the lock (off, read-only, past the bound)


class Claim:
    __slots__ = ("outcome", "lock")

    def __init__(self, outcome, lock=None):
        self.outcome = outcome
        self.lock = lock


class Waiter:
    """Claims locks for one compile, within one bound for all of its waits.

    ``what`` names the entry in the warning given when the bound is reached.
    *sleep* and *clock* are for tests."""

    def __init__(self, what, bound=None, *, sleep=time.sleep, clock=time.monotonic):
        self.what = what
        self.bound = timeout() if bound is None else bound
        self._sleep = sleep
        self._clock = clock
        self._deadline = None

    def claim(self, path):
        """Take the lock at *path*, or wait while another process holds it."""
        if self.bound <= 0:
            return Claim(UNLOCKED)
        if self._deadline is None:
            self._deadline = self._clock() + self.bound
        waited = False
        delay = FIRST_POLL
        while True:
            try:
                lock = try_create(path, self.what)
            except OSError:
                return Claim(UNLOCKED)  # cannot create locks here
            if lock is not None:
                return Claim(HELD, lock)
            holder = read(path)
            if holder is None:
                if waited:
                    return Claim(RELEASED)
                continue  # released between our attempt and the read
            if held_by_this_process(holder):
                # Ours: another thread's compile, or a compile this one is
                # inside of.  Never wait for ourselves.
                return Claim(UNLOCKED)
            reason = stale_reason(holder, self.bound)
            if reason is not None:
                if reason.startswith("older"):
                    _warn_once(
                        ("stale", path, holder.get("token")),
                        f"numba-cuda-lcs: the lock of {self.what} held by "
                        f"{describe_holder(holder)} is {reason}; taking it over and "
                        f"compiling here (lock {path}). Set {TIMEOUT_ENV} to a larger "
                        "number of seconds if its compiles take longer.",
                    )
                break_stale(path, holder)
                continue
            now = self._clock()
            if now >= self._deadline:
                _warn_once(
                    ("bound", path),
                    f"numba-cuda-lcs: waited {self.bound:g} s for {describe_holder(holder)} "
                    f"compiling {self.what} (lock {path}); compiling here instead. Set "
                    f"{TIMEOUT_ENV} to a larger number of seconds if its compiles take "
                    "longer.",
                )
                return Claim(UNLOCKED)
            waited = True
            self._sleep(min(delay, self._deadline - now))
            delay = min(delay * 1.5, MAX_POLL)
            if not os.path.lexists(path):
                return Claim(RELEASED)


@contextlib.contextmanager
def index_locked(index_path, what):
    """Hold the index lock of *index_path* around a save (bounded by
    :data:`INDEX_TIMEOUT`; without it when locks are off or cannot be
    created)."""
    lock = None
    if enabled():
        waiter = Waiter(f"the index of {what}", min(INDEX_TIMEOUT, timeout()))
        path = index_lock_path(index_path)
        while True:
            claim = waiter.claim(path)
            if claim.outcome == RELEASED:
                continue
            lock = claim.lock
            break
    try:
        yield
    finally:
        if lock is not None:
            lock.release()


# -- once-only warnings -------------------------------------------------------------

_warned: set = set()
_warned_lock = threading.Lock()


def _warn_once(key, message):
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    user_warnings.warn(message)
