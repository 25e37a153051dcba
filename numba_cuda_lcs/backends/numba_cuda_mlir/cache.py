"""Disk cache: numba-cuda-mlir's, with LC-S entries keyed per launch key.

The kernel itself uses :class:`LCSCache` with no launch key: its index keys
are numba-cuda-mlir's own (plain kernels hit and miss exactly as without the
package, and share entries with processes that do not use it).  A
specialization's cache adds ``("numba-cuda-lcs", <version>, <launch key>)``
to every index key and stores the launch key inside the entry, which a load
checks (two processes saving at once could leave an index entry pointing at
another key's data: such an entry is never used).  ``<index base>.lcs``
beside the index marks the kernel LC-S and records its fields (JSON, written
to a temporary file then ``os.replace``).

numba-cuda-mlir skips its disk cache for every kernel while a
whole-function planner is registered; numba-cuda-lcs registers none.
"""

import os
import warnings

from ... import cache_files, tls
from .manifest import NAMES

SAVED_KEY = "numba_cuda_lcs_saved_key"
_classes: dict = {}


def _impl_class():
    found = _classes.get("impl")
    if found is None:

        class LCSCacheImpl(NAMES.MLIRCacheImpl):
            """Stores the launch key inside each LC-S entry."""

            lcs_launch_key = None

            def reduce(self, cres):
                payload = super().reduce(cres)
                if self.lcs_launch_key is not None:
                    payload = dict(payload)
                    payload[SAVED_KEY] = self.lcs_launch_key
                return payload

            def rebuild(self, target_context, payload):
                payload = dict(payload)
                saved = payload.pop(SAVED_KEY, None)
                cres = super().rebuild(target_context, payload)
                cres.metadata[SAVED_KEY] = saved
                return cres

        found = _classes["impl"] = LCSCacheImpl
    return found


def _cache_class():
    found = _classes.get("cache")
    if found is None:
        found = _classes["cache"] = _make_cache_class()
    return found


def _make_cache_class():
    class LCSCacheBase(NAMES.MLIRCache):
        _impl_class = _impl_class()

        def __init__(self, py_func, targetoptions=None, launch_key=None, mask=0):
            super().__init__(py_func, targetoptions)
            self.lcs_launch_key = launch_key
            self.lcs_mask = mask
            self._impl.lcs_launch_key = launch_key
            self._lcs_unsaveable_warned = False

        @property
        def marker_path(self):
            return os.path.join(self._cache_path, f"{self._impl.filename_base}.lcs")

        def _index_key(self, sig, codegen):
            key = super()._index_key(sig, codegen)
            if self.lcs_launch_key is None:
                return key
            return key + (cache_files.index_extra(self.lcs_launch_key),)

        def load_overload(self, sig, target_context):
            try:
                cres = super().load_overload(sig, target_context)
            except Exception as exc:  # a corrupted index or data file
                warnings.warn(
                    f"numba-cuda-lcs: ignoring unreadable cache entry for "
                    f"{self._name} in {self._cache_path!r} ({exc!r}); recompiling",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return None
            if cres is None:
                return None
            if cres.metadata.pop(SAVED_KEY, None) != self.lcs_launch_key:
                return None  # saved for another key: never used
            return cres

        def save_overload(self, sig, data):
            # A compile that marked fields this cache's key does not hold
            # (the kernel itself: any) is saved by the specialization it
            # moves to, under that key.
            if tls.in_compile() and tls.compile_marks() & ~self.lcs_mask:
                return
            self._save_guarded(sig, data)

        def save_moved(self, compiled):
            """Save a result compiled elsewhere and moved here."""
            cres = getattr(compiled, "cres", compiled)
            self._save_guarded(cres.signature, cres)

        def _save_guarded(self, sig, data):
            try:
                try:
                    self._cache_file._load_index()
                except Exception:
                    self._cache_file.flush()  # unreadable index: start afresh
                super().save_overload(sig, data)
            except OSError as exc:
                warnings.warn(
                    f"numba-cuda-lcs: cannot write the disk cache for "
                    f"{self._name} in {self._cache_path!r} ({exc}); the kernel "
                    "stays compiled in memory",
                    RuntimeWarning,
                    stacklevel=3,
                )
            except Exception as exc:
                if self.lcs_launch_key is None:
                    raise  # plain kernels: numba-cuda-mlir's behaviour
                if not self._lcs_unsaveable_warned:
                    self._lcs_unsaveable_warned = True
                    warnings.warn(
                        f"numba-cuda-lcs: {self._name} cannot be disk-cached "
                        f"({exc}); its launch-config specializations stay "
                        "compiled in memory",
                        RuntimeWarning,
                        stacklevel=3,
                    )

        def read_marker(self):
            """The field mask the marker records; None without one."""
            return cache_files.read_marker(self.marker_path)

        def write_marker(self, mask):
            """Atomically write the marker; False when it cannot be written."""
            return cache_files.write_marker(
                self.marker_path, mask, self._impl.locator.ensure_cache_path
            )

    LCSCacheBase.__name__ = LCSCacheBase.__qualname__ = "LCSCache"
    return LCSCacheBase


class _LCSCacheMeta(type):
    """``isinstance(x, LCSCache)`` and ``LCSCache(...)`` work before the
    real class (a subclass of numba-cuda-mlir's) is built on first use."""

    def __instancecheck__(cls, obj):
        return isinstance(obj, _cache_class())

    def __call__(cls, *args, **kwargs):
        return _cache_class()(*args, **kwargs)


class LCSCache(metaclass=_LCSCacheMeta):
    """numba-cuda-mlir's MLIRCache, keyed per launch key for LC-S
    specializations (see the module docstring)."""
