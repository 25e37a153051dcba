"""The disk cache: numba-cuda's, keyed per launch configuration for LC-S kernels.

What the package adds to a compiler's cache is compiler-neutral
(:mod:`numba_cuda_lcs.disk_cache`: the index extra, the saved key, the
``.lcs`` marker, faults as misses); this module binds it to numba-cuda's
``CUDACache``.  Entries of plain kernels keep numba-cuda's format and index
key, so stock processes sharing the directory still load them.  One cache
object serves every launch key of a kernel: :meth:`LCSCache.load_for` and
:meth:`LCSCache.save_for` set the key around one call (under numba-cuda's
compiler lock).  Across processes, ``compile._obtain_kernel`` claims the
entry's lock (:meth:`LCSCache.lock_path_for`) between a miss and the save.
"""

from ... import disk_cache
from .manifest import NAMES as nb
from .records import KernelTag


class LCSCacheImpl(nb.CUDACacheImpl):
    """Stores the launch key inside each LC-S entry's data."""

    lcs_launch_key = None  # set by LCSCache around each load and save

    def reduce(self, kernel):
        return disk_cache.with_saved_key(super().reduce(kernel), self.lcs_launch_key)

    def rebuild(self, target_context, payload):
        payload, saved_key = disk_cache.split_saved_key(payload)
        kernel = super().rebuild(target_context, payload)
        kernel._lcs = KernelTag(saved_key=saved_key)
        return kernel


class LCSCache(disk_cache.LCSDiskCache, nb.CUDACache):
    """numba-cuda's CUDA cache, keyed per launch configuration for LC-S
    kernels (see :mod:`numba_cuda_lcs.disk_cache`)."""

    _impl_class = LCSCacheImpl

    # -- what numba_cuda_lcs.disk_cache needs from numba-cuda's cache ------------

    def lcs_location(self):
        return self._name, self._cache_path, self._impl.filename_base

    def lcs_ensure_directory(self):
        self._impl.locator.ensure_cache_path()

    def lcs_reset_unreadable_index(self):
        try:
            self._cache_file._load_index()
        except Exception:
            self._cache_file.flush()  # truncated or corrupted: start afresh

    def _index_key(self, sig, codegen):
        return self.lcs_index_key(super()._index_key(sig, codegen))

    # -- per launch key ---------------------------------------------------------------

    def _keyed(self, launch_key):
        self.lcs_launch_key = self._impl.lcs_launch_key = launch_key

    def load_for(self, sig, target_context, launch_key):
        """The entry of *sig* saved for *launch_key* (None: plain), or None."""
        self._keyed(launch_key)
        try:
            return self.lcs_load(
                lambda: self.load_overload(sig, target_context),
                lambda kernel: kernel._lcs.saved_key,
            )
        finally:
            self._keyed(None)

    def lock_path_for(self, sig, codegen, launch_key):
        """The lock file of the entry of *sig* for *launch_key* (None:
        plain): keyed by the full index key, as a load would look it up."""
        self._keyed(launch_key)
        try:
            return self.lcs_lock_path(self._index_key(sig, codegen))
        finally:
            self._keyed(None)

    def save_for(self, sig, kernel, launch_key):
        """Save *kernel* for *launch_key* (None: plain)."""
        self._keyed(launch_key)
        try:
            self.lcs_save(lambda: self.save_overload(sig, kernel))
        finally:
            self._keyed(None)


def enable_caching(self):
    """Replacement for ``CUDADispatcher.enable_caching``."""
    self._cache = LCSCache(self.py_func)
