"""The disk cache: numba-cuda's, keyed per launch configuration for LC-S kernels.

Entries of plain kernels keep numba-cuda's format and index key, so stock
processes sharing the directory still load them.  Entries of LC-S kernels add
``("numba-cuda-lcs", <version>, <launch key>)`` to the index key and store the
key in the entry itself (numba-cuda's index has no lock: a load checks it got
the entry saved for its key).  A JSON ``<index base>.lcs`` marker beside the
index records the fields (docs/launch-config.md, "Disk cache").
"""

import os
import warnings

from ... import cache_files
from .manifest import NAMES as nb
from .records import KernelTag


class LCSCacheImpl(nb.CUDACacheImpl):
    """Stores the launch key inside each LC-S entry's data, so a load can
    check it got the entry saved for the key it asked for.  Plain entries keep
    numba-cuda's format, so stock processes sharing the directory can still
    load them."""

    lcs_launch_key = None  # set by LCSCache around each load and save

    def reduce(self, kernel):
        state = super().reduce(kernel)
        if self.lcs_launch_key is not None:
            state = dict(state, _lcs_saved_key=self.lcs_launch_key)
        return state

    def rebuild(self, target_context, payload):
        payload = dict(payload)
        saved_key = payload.pop("_lcs_saved_key", None)
        kernel = super().rebuild(target_context, payload)
        kernel._lcs = KernelTag(saved_key=saved_key)
        return kernel


class LCSCache(nb.CUDACache):
    """numba-cuda's CUDA cache, keyed per launch configuration for LC-S
    kernels.

    Entries of plain kernels use numba-cuda's index key unchanged.  Entries of
    LC-S kernels add ``("numba-cuda-lcs", <version>, <launch key>)``, so they
    are never reused for another configuration or by another version of this
    package.  ``<index base>.lcs`` beside the index marks the function as
    LC-S and records the fields (JSON; written to a temporary file, then
    ``os.replace``).
    """

    _impl_class = LCSCacheImpl
    _index_extra = None
    _unsaveable_warned = False

    @property
    def marker_path(self):
        return os.path.join(self._cache_path, f"{self._impl.filename_base}.lcs")

    def _index_key(self, sig, codegen):
        key = super()._index_key(sig, codegen)
        extra = self._index_extra
        return key if extra is None else key + (extra,)

    def load_for(self, sig, target_context, launch_key):
        self._index_extra = cache_files.index_extra(launch_key)
        self._impl.lcs_launch_key = launch_key
        try:
            kernel = self.load_overload(sig, target_context)
        except Exception as exc:  # a corrupted index or data file
            warnings.warn(
                f"numba-cuda-lcs: ignoring unreadable cache entry for "
                f"{self._name} in {self._cache_path!r} ({exc!r}); recompiling",
                RuntimeWarning,
                stacklevel=2,
            )
            return None
        finally:
            self._index_extra = None
            self._impl.lcs_launch_key = None
        if kernel is not None and kernel._lcs.saved_key != launch_key:
            # numba-cuda's index and data files have no lock: two processes
            # saving at once can leave an index entry pointing at the data
            # written for another key.  Never use it; recompile instead.
            return None
        return kernel

    def save_for(self, sig, kernel, launch_key):
        self._index_extra = cache_files.index_extra(launch_key)
        self._impl.lcs_launch_key = launch_key
        try:
            try:
                self._cache_file._load_index()
            except Exception:
                # Truncated or corrupted index: start it afresh rather than
                # fail the launch (the entries it held are unreadable anyway).
                self._cache_file.flush()
            self.save_overload(sig, kernel)
        except OSError as exc:
            warnings.warn(
                f"numba-cuda-lcs: cannot write the disk cache for "
                f"{self._name} in {self._cache_path!r} ({exc}); the kernel "
                "stays compiled in memory",
                RuntimeWarning,
                stacklevel=2,
            )
        except Exception as exc:
            if launch_key is None:
                raise  # plain kernels: numba-cuda's behaviour, unchanged
            # numba-cuda cannot serialize this kernel (link files, captured
            # device arrays, ...).  An LC-S kernel stays compiled in memory.
            if not self._unsaveable_warned:
                self._unsaveable_warned = True
                warnings.warn(
                    f"numba-cuda-lcs: {self._name} cannot be disk-cached "
                    f"({exc}); its launch-config specializations stay "
                    "compiled in memory",
                    RuntimeWarning,
                    stacklevel=2,
                )
        finally:
            self._index_extra = None
            self._impl.lcs_launch_key = None

    def read_marker(self):
        """The field mask the marker records; None without a marker
        (numba-cuda's own empty marker counts as all fields)."""
        return cache_files.read_marker(self.marker_path)

    def write_marker(self, mask):
        """Atomically write the marker; False when it cannot be written."""
        return cache_files.write_marker(
            self.marker_path, mask, self._impl.locator.ensure_cache_path
        )


def enable_caching(self):
    """Replacement for ``CUDADispatcher.enable_caching``."""
    self._cache = LCSCache(self.py_func)
