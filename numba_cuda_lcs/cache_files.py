"""What numba-cuda-lcs adds to a compiler's disk cache (compiler-neutral).

- The *index extra*: LC-S entries add ``("numba-cuda-lcs", <version>,
  <launch key>)`` to the compiler's index key, so an entry is never reused
  for another configuration or by another version of this package.
- The *marker*: ``<index base>.lcs`` beside the index records, as JSON, that
  the function is LC-S and which fields it depends on.  Written to a
  temporary file and renamed, so a reader never sees half of one.
"""

import json
import os
import threading

from . import keys as _keys
from ._version import __version__ as LCS_VERSION


def index_extra(launch_key):
    """What an LC-S entry adds to the index key (None for plain entries)."""
    if launch_key is None:
        return None
    return ("numba-cuda-lcs", LCS_VERSION, launch_key)


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
    payload = json.dumps(
        {"numba_cuda_lcs": LCS_VERSION, "fields": list(_keys.mask_to_fields(mask))}
    ).encode("utf-8")
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
