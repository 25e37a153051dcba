"""What numba-cuda-lcs adds to a compiler's disk cache (compiler-neutral).

Both compilers cache the numba way: per function an index file (keys ->
data file names) and data files holding pickled payloads.  A backend's cache
class derives from :class:`LCSDiskCache` and from its compiler's cache class
(both use ``abc.ABCMeta``) and supplies the three abstract methods; everything
else is here, once:

- The *index extra*: LC-S entries add ``("numba-cuda-lcs", <version>,
  <launch key>)`` to the compiler's index key, so an entry is never reused
  for another configuration or by another version of this package.  Plain
  entries keep the compiler's own key, so processes without the package
  still share them.
- The *saved key*: an LC-S entry's payload also holds its launch key
  (:data:`SAVED_KEY`), and a load that finds another key (or none) is a
  miss.  The compilers' index files have no lock: two processes saving at
  once can leave an index entry pointing at the data saved for another key.
- The *marker*: ``<index base>.lcs`` beside the index records, as JSON, that
  the function is LC-S and which fields it depends on.  Written to a
  temporary file and renamed, so a reader never sees half of one.
- *Faults are misses*: an unreadable index or data file is a miss with a
  warning (and an unreadable index is started afresh before a save); a
  directory that cannot be written leaves the kernel compiled in memory
  with a warning; an LC-S kernel the compiler cannot serialize stays in
  memory (one warning per cache).  Plain kernels keep the compiler's
  behaviour for the last case.
- *Compile once across processes* (:mod:`numba_cuda_lcs.cache_locks`): the
  lock of an entry (:meth:`LCSDiskCache.lcs_lock_path`, claimed through
  :meth:`LCSDiskCache.lcs_waiter` by the backend around its miss, compile
  and save), and the index lock every save holds, so that concurrent saves
  of different entries all stay in the index.
- *A shared cache is code* (:mod:`numba_cuda_lcs.cache_trust`): a cache
  directory or entry that others can write is warned about once and neither
  loaded from, locked in nor saved to.
"""

import abc
import json
import os
import threading

from . import cache_locks, cache_trust, user_warnings
from . import keys as _keys
from ._version import __version__ as LCS_VERSION

#: Where an LC-S entry's payload holds the launch key it was saved for.
SAVED_KEY = "numba_cuda_lcs_saved_key"


def index_extra(launch_key):
    """What an LC-S entry adds to the index key (None for plain entries)."""
    if launch_key is None:
        return None
    return ("numba-cuda-lcs", LCS_VERSION, launch_key)


def with_saved_key(payload, launch_key):
    """*payload* (a dict) with the launch key it is saved for (LC-S only)."""
    if launch_key is None:
        return payload
    return dict(payload, **{SAVED_KEY: launch_key})


#: Where numba-cuda entries written by numba-cuda-lcs 0.1.0 held it.
LEGACY_SAVED_KEYS = ("_lcs_saved_key",)


def split_saved_key(payload):
    """(the payload without the saved key, the saved key or None); entries
    written by 0.1.0 (:data:`LEGACY_SAVED_KEYS`) read as well, so that the
    compiler never sees a field it does not know."""
    payload = dict(payload)
    saved = payload.pop(SAVED_KEY, None)
    for legacy in LEGACY_SAVED_KEYS:
        found = payload.pop(legacy, None)
        if saved is None:
            saved = found
    return payload, saved


def read_marker(path):
    """The field mask the marker at *path* records; None without a marker.
    A marker that cannot be read or parsed counts as all fields."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        return None
    except OSError:
        return _keys.ALL_FIELDS
    try:
        return _keys.fields_to_mask(json.loads(raw.decode("utf-8"))["fields"])
    except Exception:
        return _keys.ALL_FIELDS


def write_marker(path, mask, ensure_directory):
    """Atomically write the marker for *mask*; False when it cannot be
    written.  *ensure_directory()* creates the cache directory first."""
    record = {"numba_cuda_lcs": LCS_VERSION, "fields": list(_keys.mask_to_fields(mask))}
    return write_json(path, record, ensure_directory)


def write_json(path, record, ensure_directory):
    """Write *record* as JSON to *path* atomically (a temporary file renamed:
    a reader never sees half of it); False when it cannot be written."""
    payload = json.dumps(record).encode("utf-8")
    tmp = f"{path}.tmp.{os.getpid()}.{threading.get_ident()}"
    try:
        ensure_directory()
        with open(tmp, "wb") as f:
            f.write(payload)
        os.replace(tmp, path)
    except OSError:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
    return True


class LCSDiskCache(abc.ABC):
    """The LC-S layer of a compiler's cache class (a mixin listed before it).

    ``lcs_launch_key`` is the launch key of the entries loaded and saved now
    (None: plain entries, the compiler's own keys)."""

    lcs_launch_key = None
    lcs_unsaveable_warned = False

    # -- supplied by the backend ------------------------------------------------

    @abc.abstractmethod
    def lcs_location(self):
        """(function name, cache directory, index base name)."""

    @abc.abstractmethod
    def lcs_ensure_directory(self):
        """Create the cache directory if needed (OSError if it cannot)."""

    @abc.abstractmethod
    def lcs_reset_unreadable_index(self):
        """Read the index; start it afresh when it cannot be read."""

    # -- shared -------------------------------------------------------------------

    @property
    def marker_path(self):
        _name, directory, base = self.lcs_location()
        return os.path.join(directory, f"{base}.lcs")

    def read_marker(self):
        """The field mask the marker records; None without one."""
        return read_marker(self.marker_path)

    def write_marker(self, mask):
        """Atomically write the marker; False when it cannot be written."""
        return write_marker(self.marker_path, mask, self.lcs_ensure_directory)

    def lcs_trusted(self):
        """Whether this function's files in the cache directory may be
        loaded (warns once per directory when not; see ``cache_trust``)."""
        name, directory, base = self.lcs_location()
        return cache_trust.trusted(directory, f"{base}.", name)

    def lcs_lock_path(self, index_key):
        """The lock file of the entry whose full index key is *index_key*."""
        _name, directory, base = self.lcs_location()
        return cache_locks.entry_lock_path(directory, base, index_key)

    def lcs_waiter(self):
        """A :class:`~numba_cuda_lcs.cache_locks.Waiter` for one compile of
        this function (it never waits when locks are off or the directory is
        not trusted)."""
        name, _directory, _base = self.lcs_location()
        return cache_locks.Waiter(name, None if self.lcs_trusted() else 0)

    def lcs_index_key(self, compiler_key):
        """The compiler's index key, plus the index extra for LC-S entries."""
        extra = index_extra(self.lcs_launch_key)
        return compiler_key if extra is None else (*compiler_key, extra)

    def lcs_load(self, load, saved_key_of):
        """``load()`` (the compiler's load), or None when it fails or found
        an entry saved for another key (``saved_key_of(result)``)."""
        if not self.lcs_trusted():
            return None
        try:
            result = load()
        except Exception as exc:  # a corrupted index or data file
            name, directory, _base = self.lcs_location()
            user_warnings.warn(
                f"numba-cuda-lcs: ignoring unreadable cache entry for {name} in "
                f"{directory!r} ({exc!r}); recompiling"
            )
            return None
        if result is not None and saved_key_of(result) != self.lcs_launch_key:
            return None  # saved for another key: never used
        return result

    def lcs_save(self, save):
        """``save()`` (the compiler's save) with the faults above handled,
        under the index lock; nothing is saved in an untrusted directory."""
        name, directory, base = self.lcs_location()
        if not self.lcs_trusted():
            return
        try:
            self.lcs_ensure_directory()
            index_path = os.path.join(directory, f"{base}.nbi")
            with cache_locks.index_locked(index_path, name):
                self.lcs_reset_unreadable_index()
                save()
        except OSError as exc:
            user_warnings.warn(
                f"numba-cuda-lcs: cannot write the disk cache for {name} in "
                f"{directory!r} ({exc}); the kernel stays compiled in memory"
            )
        except Exception as exc:
            if self.lcs_launch_key is None:
                raise  # plain kernels: the compiler's behaviour, unchanged
            # The compiler cannot serialize this kernel (link files, captured
            # device arrays, ...): its specializations stay in memory.
            if not self.lcs_unsaveable_warned:
                self.lcs_unsaveable_warned = True
                user_warnings.warn(
                    f"numba-cuda-lcs: {name} cannot be disk-cached ({exc}); its "
                    "launch-config specializations stay compiled in memory"
                )


def warn_caching_disabled(kernel_name, cache):
    """The marker of *kernel_name* cannot be written, so another process
    could not know the kernel is LC-S: its backend stops caching it."""
    _name, directory, _base = cache.lcs_location()
    user_warnings.warn(
        f"numba-cuda-lcs: cannot write the launch-config marker for kernel "
        f"{kernel_name!r} in {directory!r}; disk caching is disabled for this "
        "kernel (it stays compiled in memory)."
    )
