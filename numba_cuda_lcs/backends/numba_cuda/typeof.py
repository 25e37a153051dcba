"""Argument typing: the numba type of each numba device array, remembered.

numba-cuda's C dispatcher resolves a launch's overload from its arguments'
numba types; for a ``DeviceNDArray`` it calls back into Python
(``CUDADispatcher.typeof_pyval`` -> ``typeof`` -> ``_numba_type_``), which
rebuilds an ``Array`` type from the array's dtype, strides and flags: about
1 us per array per launch on an H200, the largest cost left on the launch
path.  A device array's dtype, shape and strides never change, so its type is
remembered per array object (by identity, checked through a weak reference,
so a recycled ``id`` is never mistaken for the array that had it).
"""

import threading
import weakref

from .manifest import NAMES as nb

# Bounded: arrays created per launch would otherwise fill it.  Dead entries
# go first when it is full.
MAX_REMEMBERED = 4096


def make_typeof_pyval(original):
    """Build the replacement for ``CUDADispatcher.typeof_pyval`` from
    numba-cuda's own, which types everything else (and every array once)."""
    remembered = {}  # id(array) -> (weakref to it, its numba type)
    lock = threading.Lock()
    device_array = nb.DeviceNDArray

    def typeof_pyval(self, val):
        if type(val) is not device_array:
            return original(self, val)
        found = remembered.get(id(val))
        if found is not None and found[0]() is val:
            return found[1]
        ty = original(self, val)
        try:
            ref = weakref.ref(val)
        except TypeError:  # not weakly referenceable: do not remember
            return ty
        with lock:
            if len(remembered) >= MAX_REMEMBERED:
                dead = [key for key, (r, _t) in remembered.items() if r() is None]
                for key in dead or list(remembered)[: MAX_REMEMBERED // 2]:
                    del remembered[key]
            remembered[id(val)] = (ref, ty)
        return ty

    typeof_pyval.remembered = remembered  # for tests and inspection
    return typeof_pyval
