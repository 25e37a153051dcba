"""The identity of numba-cuda-mlir's registered whole-function planners.

A planner rewrites a kernel's IR before typing, so a disk-cache entry
compiled while it was registered is only valid while the same planners, in
the same order and with the same code, are registered.  numba-cuda-mlir
therefore skips its disk cache whenever any planner is registered; the
planner-aware cache (``planned_cache.py``) instead puts
:attr:`PlannerSet.fingerprint` into every key.

What a fingerprint covers (documented in docs/numba-cuda-mlir.md), per
planner in registration order:

* its qualified name, and every class in its MRO except numba-cuda-mlir's
  ``WholeFunctionPlanner`` (mixins included): their functions' compiled code
  (without file paths, so that the same code fingerprints alike on every
  node), default values, closure contents, and their data attributes;
* the values of the module globals that code refers to, followed into
  functions and classes of the planner's own package (or of modules that
  belong to no installed distribution) up to :data:`MAX_DEPTH` levels;
  other functions, classes and modules count by name and by their
  distribution's version;
* the source file of every module met on the way, and the installed
  distribution providing it with its version;
* the planner's ``lcs_cache_key`` (a string, or a callable returning one),
  if it defines one: for behaviour Python cannot see (files, the
  environment read at compile time, services).

A planner referring to a callable whose behaviour cannot be read (not
Python code, not a builtin, not picklable) and defining no
``lcs_cache_key`` cannot be fingerprinted: kernels compiled while it is
registered are not disk-cached (one warning per kernel).  Not covered:
data inside objects that cannot be pickled (their type counts), state
changed after a planner's first fingerprint in a process (computed once per
class), and code reached only through modules of other installed packages
beyond their version.
"""

import dataclasses
import functools
import hashlib
import importlib.metadata
import marshal
import pickle
import sys
import threading
import types
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


#: How deep the fingerprint follows functions and classes a planner's code
#: refers to (beyond, modules count by their source file and version).
MAX_DEPTH = 4

#: The planner hook: a class attribute (a string, or a callable returning
#: one) put into the fingerprint as given -- for behaviour the fingerprint
#: cannot see (files, the environment, services, other packages' state).
CACHE_KEY_HOOK = "lcs_cache_key"

_SIMPLE = (type(None), bool, int, float, complex, str, bytes)


class _Unidentified(Exception):
    """A planner refers to a callable whose behaviour cannot be fingerprinted."""


class _Fingerprint:
    """The digest of one planner class: what its behaviour depends on that
    Python can see -- code (without file paths, so that it is the same on
    every node), the values it refers to, module sources, versions."""

    def __init__(self, own_package, vouched=False):
        self.digest = hashlib.sha256()
        # With an lcs_cache_key the planner's author vouches for what the
        # fingerprint cannot read: unreadable callables count by type.
        self.vouched = vouched
        self.own_package = own_package
        self.seen = set()  # ids of code objects and classes already in
        self.modules = set()

    def update(self, *parts):
        for part in parts:
            self.digest.update(repr(part).encode() + b"\0")

    def planner(self, cls):
        self.update(qualified_name(cls))
        for klass in cls.__mro__:
            if klass is NAMES.WholeFunctionPlanner or klass is object:
                continue  # numba-cuda-mlir's own base (its version is in the key)
            self.klass(klass, 0)
        hook = getattr(cls, CACHE_KEY_HOOK, None)
        if hook is not None:
            self.update("hook", hook() if callable(hook) else hook)

    def klass(self, klass, depth):
        if id(klass) in self.seen:
            return
        self.seen.add(id(klass))
        self.update("class", qualified_name(klass))
        self.module(klass.__module__)
        for name in sorted(vars(klass)):
            if name.startswith("__") and name.endswith("__") and name != "__call__":
                continue  # __dict__, __weakref__, __module__, __doc__ ...
            self.update("attribute", name)
            self.value(vars(klass)[name], depth)

    def function(self, function, depth):
        code = function.__code__
        self.module(getattr(function, "__module__", None))
        if id(code) in self.seen:
            return
        self.seen.add(id(code))
        self.digest.update(marshal.dumps(_portable(code)))
        self.value(function.__defaults__, depth)
        self.value(function.__kwdefaults__, depth)
        for cell in function.__closure__ or ():
            try:
                self.value(cell.cell_contents, depth + 1)
            except ValueError:  # an empty cell
                self.update("empty cell")
        module_globals = function.__globals__
        for name in sorted(_referenced_names(code)):
            if name in module_globals:
                self.update("global", name)
                self.value(module_globals[name], depth + 1)

    def value(self, value, depth):
        if isinstance(value, _SIMPLE):
            self.update(value)
        elif isinstance(value, (tuple, list, set, frozenset)):
            items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
            self.update(type(value).__name__, len(items))
            for item in items:
                self.value(item, depth)
        elif isinstance(value, dict):
            self.update("dict", len(value))
            for key in sorted(value, key=repr):
                self.value(key, depth)
                self.value(value[key], depth)
        elif isinstance(value, (staticmethod, classmethod)):
            self.value(value.__func__, depth)
        elif isinstance(value, property):
            for accessor in (value.fget, value.fset, value.fdel):
                self.value(accessor, depth)
        elif isinstance(value, types.ModuleType):
            self.update("module", value.__name__)
            self.module(value.__name__)
        elif isinstance(value, types.FunctionType):
            if depth > MAX_DEPTH or not self.followed(value.__module__):
                self.update("function", value.__module__, value.__qualname__)
                self.module(value.__module__)
            else:
                self.function(value, depth)
        elif isinstance(value, type):
            if depth > MAX_DEPTH or not self.followed(value.__module__):
                self.update("type", qualified_name(value))
                self.module(value.__module__)
            else:
                self.klass(value, depth + 1)
        elif isinstance(value, functools.partial):
            self.value(value.func, depth)
            self.value(value.args, depth)
            self.value(value.keywords, depth)
        elif isinstance(value, (types.BuiltinFunctionType, types.MethodDescriptorType)):
            self.update("builtin", getattr(value, "__module__", None), value.__qualname__)
            self.module(getattr(value, "__module__", None))
        elif isinstance(value, types.MethodType):
            self.value(value.__func__, depth)
        else:
            try:
                self.digest.update(pickle.dumps(value, protocol=4))
            except Exception:
                if callable(value) and not self.vouched:
                    raise _Unidentified(f"{type(value).__qualname__} object") from None
                # Data the planner refers to whose state cannot be read: its
                # type counts (the lcs_cache_key hook covers the rest).
                self.update("opaque", qualified_name(type(value)))

    def followed(self, module_name):
        """Functions and classes of the planner's own package, or of a
        module that belongs to no installed distribution, are followed;
        others count by their module's version."""
        top = (module_name or "").partition(".")[0]
        return top == self.own_package or top not in _distributions_by_package()

    def module(self, module_name):
        if not module_name or module_name in self.modules:
            return
        self.modules.add(module_name)
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        if path and path.endswith(".py"):
            try:
                with open(path, "rb") as f:
                    self.digest.update(f.read())
            except OSError:
                pass
        top = module_name.partition(".")[0]
        for distribution in sorted(_distributions_by_package().get(top, ())):
            try:
                version = importlib.metadata.version(distribution)
            except importlib.metadata.PackageNotFoundError:
                continue
            self.update("distribution", distribution, version)


def _portable(code):
    """*code* without its file path (nested code too): the same planner
    installed in another directory, or on another node, fingerprints alike."""
    consts = tuple(_portable(c) if isinstance(c, types.CodeType) else c for c in code.co_consts)
    return code.replace(co_filename="", co_consts=consts)


def _referenced_names(code):
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _referenced_names(const)
    return names


def _compute(cls):
    """The fingerprint of *cls* (hex), or None when it refers to a callable
    whose behaviour cannot be read (not Python code, not a builtin, not
    picklable)."""
    fingerprint = _Fingerprint(
        cls.__module__.partition(".")[0], vouched=getattr(cls, CACHE_KEY_HOOK, None) is not None
    )
    try:
        fingerprint.planner(cls)
    except _Unidentified:
        return None
    except RecursionError:
        return None
    return fingerprint.digest.hexdigest()


@functools.cache
def _distributions_by_package():
    try:
        return importlib.metadata.packages_distributions()
    except Exception:  # a broken installed distribution must not break compiles
        return {}
