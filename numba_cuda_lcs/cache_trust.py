"""A shared cache is code: whose cache entries a process may load
(compiler-neutral).

Cache entries are pickles that a launch loads and runs.  Whoever can write
the cache directory or an entry can run code in every process that loads
from it.  Before loading from a cache directory or taking locks in it, the
disk-cache layer (:mod:`numba_cuda_lcs.disk_cache`) asks :func:`trusted`
about the directory and the function's files in it (index, data files,
marker, locks).  An untrusted one is warned about once (the path and the
fix) and not used: the kernel compiles in this process instead of loading,
and nothing is saved there.

:data:`TRUST_ENV` says what is trusted:

- ``owner`` (the default): paths owned by this user (or root) that users
  outside the owner's group cannot write (no ``o+w``);
- ``group``: also paths owned by other users, if their group is one of this
  user's groups and no one outside it can write them -- a cache shared by
  the members of a group (a group-owned, setgid, group-writable directory:
  see docs/running-at-scale.md);
- ``any``: everything (you vouch for whoever can write there).
"""

import os
import stat
import threading

from . import user_warnings

#: Environment variable: ``owner`` (default), ``group`` or ``any``.
TRUST_ENV = "NUMBA_CUDA_LCS_CACHE_TRUST"
LEVELS = ("owner", "group", "any")
DEFAULT = "owner"


def level():
    raw = os.environ.get(TRUST_ENV, "").strip().lower()
    if not raw:
        return DEFAULT
    if raw not in LEVELS:
        _warn_once(
            ("env", raw),
            f"numba-cuda-lcs: {TRUST_ENV}={raw!r} is not one of {', '.join(LEVELS)}; "
            f"using {DEFAULT!r}",
        )
        return DEFAULT
    return raw


def _my_groups():
    try:
        return {os.getegid(), *os.getgroups()}
    except OSError:
        return {os.getegid()}


def problem(path, st, trust, uid=None, groups=None):
    """Why *path* (with ``os.stat`` result *st*) is not trusted at level
    *trust*, or None."""
    uid = os.geteuid() if uid is None else uid
    kind = "directory" if stat.S_ISDIR(st.st_mode) else "file"
    if st.st_mode & stat.S_IWOTH:
        return (
            f"the cache {kind} {path!r} can be written by every user (mode "
            f"{stat.S_IMODE(st.st_mode):o}): anyone could put code there that this "
            f"process would run. Fix: chmod o-w {path!r}"
        )
    if st.st_uid in (uid, 0):
        return None
    if trust == "group":
        groups = _my_groups() if groups is None else groups
        if st.st_gid in groups:
            return None
        return (
            f"the cache {kind} {path!r} belongs to another user (uid {st.st_uid}) and to "
            f"group {st.st_gid}, which is not one of this user's groups. Fix: share the "
            "cache through a group-owned directory (chgrp GROUP DIR; chmod 2770 DIR)"
        )
    return (
        f"the cache {kind} {path!r} belongs to another user (uid {st.st_uid}), who "
        "could put code there that this process would run. Fix: use a cache directory "
        f"of your own (NUMBA_CACHE_DIR), or, for a cache shared by one group, set "
        f"{TRUST_ENV}=group (see docs/running-at-scale.md)"
    )


def untrusted(directory, prefix):
    """Why the cache *directory*, or one of its files whose name starts with
    *prefix*, is not trusted; None when they are (or do not exist yet)."""
    trust = level()
    if trust == "any":
        return None
    try:
        st = os.stat(directory)
    except OSError:
        return None  # nothing there yet: nothing to load
    found = problem(directory, st, trust)
    if found is not None:
        return found
    try:
        entries = list(os.scandir(directory))
    except OSError:
        return None
    for entry in entries:
        if not entry.name.startswith(prefix):
            continue
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError:
            continue
        found = problem(entry.path, st, trust)
        if found is not None:
            return found
    return None


def trusted(directory, prefix, kernel_name):
    """True when the cache *directory* and the files of one function in it
    (names starting with *prefix*) may be loaded; otherwise warns once per
    directory and returns False."""
    reason = untrusted(directory, prefix)
    if reason is None:
        return True
    _warn_once(
        ("untrusted", directory),
        f"numba-cuda-lcs: not loading {kernel_name} from the disk cache: {reason}. "
        f"Compiling in this process instead (set {TRUST_ENV}=any to load it anyway).",
    )
    return False


_warned: set = set()
_warned_lock = threading.Lock()


def _warn_once(key, message):
    with _warned_lock:
        if key in _warned:
            return
        _warned.add(key)
    user_warnings.warn(message)
