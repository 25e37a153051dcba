"""The identity of numba-cuda-mlir's registered whole-function planners.

A planner rewrites a kernel's IR before typing, so a disk-cache entry
compiled while it was registered is only valid while the same planners, in
the same order and with the same code, are registered.  numba-cuda-mlir
therefore skips its disk cache whenever any planner is registered; the
planner-aware cache (``planned_cache.py``) instead puts
:attr:`PlannerSet.fingerprint` into every key.

What a fingerprint covers (documented in docs/numba-cuda-mlir.md):

* each planner's qualified name (module and class), in registration order;
* the code of every function defined on the planner class and its bases up
  to numba-cuda-mlir's ``WholeFunctionPlanner`` (methods, static and class
  methods, property accessors): their compiled code objects;
* the source file of the module defining it (so helpers in that module
  count), when it can be read;
* the name and version of the installed distribution providing that module,
  when there is one (so helpers elsewhere in a released package count).

A planner with a method that is not Python code (a builtin, a C extension
type's method) cannot be fingerprinted: kernels compiled while it is
registered are not disk-cached (one warning per kernel).
"""

import dataclasses
import functools
import hashlib
import importlib.metadata
import marshal
import sys
import threading
import weakref

from .manifest import NAMES


@dataclasses.dataclass(frozen=True)
class PlannerSet:
    """The planners registered now.  ``fingerprint`` is None when one of them
    (``unidentified``) cannot be fingerprinted."""

    names: tuple[str, ...]
    fingerprint: str | None
    unidentified: str | None = None


def registered():
    """The :class:`PlannerSet` registered now, or None when there is none."""
    registry = NAMES.planner_registry
    with registry._lock:
        planners = tuple(registry._planners)
    if not planners:
        return None
    names = tuple(qualified_name(cls) for cls in planners)
    digest = hashlib.sha256()
    for name, cls in zip(names, planners, strict=True):
        one = planner_fingerprint(cls)
        if one is None:
            return PlannerSet(names, None, name)
        digest.update(name.encode() + b"\0" + one.encode() + b"\0")
    return PlannerSet(names, digest.hexdigest())


def qualified_name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


_fingerprints: "weakref.WeakKeyDictionary[type, str | None]" = weakref.WeakKeyDictionary()
_fingerprints_lock = threading.Lock()


def planner_fingerprint(cls):
    """The fingerprint of one planner class (hex), None if it has code that
    is not Python.  Computed once per class and process."""
    with _fingerprints_lock:
        if cls in _fingerprints:
            return _fingerprints[cls]
    found = _compute(cls)
    with _fingerprints_lock:
        _fingerprints[cls] = found
    return found


def _functions_of(value):
    """The plain functions behind a class attribute (empty for data)."""
    if isinstance(value, (staticmethod, classmethod)):
        return [value.__func__]
    if isinstance(value, property):
        return [f for f in (value.fget, value.fset, value.fdel) if f is not None]
    if callable(value) and not isinstance(value, type):
        return [value]
    return []


def _compute(cls):
    digest = hashlib.sha256(qualified_name(cls).encode())
    for klass in cls.__mro__:
        if klass is NAMES.WholeFunctionPlanner or klass is object:
            break
        for name in sorted(vars(klass)):
            for function in _functions_of(vars(klass)[name]):
                code = getattr(function, "__code__", None)
                if code is None:
                    return None  # a builtin or extension method
                try:
                    digest.update(name.encode() + b"\0" + marshal.dumps(code))
                except ValueError:
                    return None
    module = sys.modules.get(cls.__module__)
    path = getattr(module, "__file__", None)
    if path:
        try:
            with open(path, "rb") as f:
                digest.update(f.read())
        except OSError:
            pass
    top = cls.__module__.partition(".")[0]
    for distribution in sorted(_distributions_by_package().get(top, ())):
        try:
            version = importlib.metadata.version(distribution)
        except importlib.metadata.PackageNotFoundError:
            continue
        digest.update(f"{distribution}=={version}".encode())
    return digest.hexdigest()


@functools.cache
def _distributions_by_package():
    try:
        return importlib.metadata.packages_distributions()
    except Exception:  # a broken installed distribution must not break compiles
        return {}
