"""Undoable attribute patching, in the spirit of ``wrapt.patches``.

A patch is declared once, as a :class:`PatchSpec` -- the owner, the
attribute, a factory that builds the replacement from the original, and why
-- and applied by :meth:`PatchSet.apply`.  Every replacement records the
object whose ``__dict__`` really defines the attribute (walking the MRO for
classes), the original value (or that there was none), and why it is
replaced.  ``PatchSet.undo()`` restores everything in
reverse order, so a patched library can be returned to its exact prior state.

Pure logic: nothing here names numba-cuda.
"""

import threading

_MISSING = object()


def defining_owner(target, name):
    """Return the object whose ``__dict__`` defines *name* for *target*.

    For a class this walks the MRO; for anything else (a module, an instance)
    it is the object itself when it defines the name.  Returns None when no
    owner defines it.
    """
    if isinstance(target, type):
        for klass in target.__mro__:
            if name in vars(klass):
                return klass
        return None
    return target if name in vars(target) else None


class PatchSpec:
    """A patch, declared once: ``owner.name = factory(original)``.

    ``original`` is the value found on *owner* (through its MRO for a class);
    with ``adds=True`` the attribute must not exist yet and the factory gets
    None.
    """

    __slots__ = ("owner", "name", "factory", "why", "adds")

    def __init__(self, owner, name, factory, why, *, adds=False):
        self.owner = owner
        self.name = name
        self.factory = factory
        self.why = why
        self.adds = adds


def _label(target):
    return getattr(target, "__qualname__", None) or getattr(target, "__name__", repr(target))


class Patch:
    """One replaced (or added) attribute."""

    __slots__ = ("target", "name", "original", "replacement", "why")

    def __init__(self, target, name, original, replacement, why):
        self.target = target
        self.name = name
        self.original = original
        self.replacement = replacement
        self.why = why

    @property
    def added(self):
        """True when the attribute did not exist on *target* itself before."""
        return self.original is _MISSING

    def describe(self):
        verb = "adds" if self.added else "replaces"
        return f"{verb} {_label(self.target)}.{self.name}: {self.why}"

    def undo(self):
        if self.original is _MISSING:
            try:
                delattr(self.target, self.name)
            except AttributeError:
                pass
        else:
            setattr(self.target, self.name, self.original)


class Insertion:
    """One item inserted into a list owned by another library (a registry)."""

    __slots__ = ("label", "sequence", "item", "why")

    def __init__(self, label, sequence, item, why):
        self.label = label
        self.sequence = sequence
        self.item = item
        self.why = why

    def describe(self):
        name = getattr(self.item, "__name__", repr(self.item))
        return f"adds {name} to {self.label}: {self.why}"

    def undo(self):
        if self.item in self.sequence:
            self.sequence.remove(self.item)


class PatchSet:
    """An ordered, undoable set of patches."""

    def __init__(self):
        self._patches = []

    def __iter__(self):
        return iter(list(self._patches))

    def __len__(self):
        return len(self._patches)

    def replace(self, target, name, replacement, why, *, must_exist=True):
        """Set ``target.name = replacement``, remembering the original.

        With *must_exist* the attribute must already be reachable on *target*
        (for classes: somewhere in the MRO), which catches a library whose
        layout changed under us.  The replacement is always installed on
        *target* itself; the value found in *target*'s own ``__dict__`` (or
        its absence) is what ``undo()`` restores.
        """
        if must_exist and defining_owner(target, name) is None:
            raise AttributeError(f"cannot patch {target!r}.{name}: it does not exist")
        original = vars(target).get(name, _MISSING)
        setattr(target, name, replacement)
        patch = Patch(target, name, original, replacement, why)
        self._patches.append(patch)
        return patch

    def apply(self, spec):
        """Apply a :class:`PatchSpec`."""
        if spec.adds:
            return self.add(spec.owner, spec.name, spec.factory(None), spec.why)
        if defining_owner(spec.owner, spec.name) is None:
            raise AttributeError(f"cannot patch {spec.owner!r}.{spec.name}: it does not exist")
        original = getattr(spec.owner, spec.name)
        if isinstance(spec.owner, type):
            # The raw class attribute (a function, not a bound method).
            original = vars(defining_owner(spec.owner, spec.name))[spec.name]
        return self.replace(spec.owner, spec.name, spec.factory(original), spec.why)

    def insert(self, label, sequence, item, why, index=0):
        """Insert *item* into *sequence* (a list another library owns)."""
        sequence.insert(index, item)
        insertion = Insertion(label, sequence, item, why)
        self._patches.append(insertion)
        return insertion

    def add(self, target, name, value, why):
        """Add a new attribute; it must not exist on *target* yet."""
        if name in vars(target):
            raise AttributeError(f"{target!r} already defines {name}")
        return self.replace(target, name, value, why, must_exist=False)

    def undo(self):
        """Restore every patched attribute, newest first."""
        while self._patches:
            self._patches.pop().undo()


class Installation:
    """Whether one backend's patches are in place, made and undone under a
    lock: ``install(apply)`` runs ``apply(patches)`` on a fresh
    :class:`PatchSet` (undoing what it did if it raises), ``uninstall()``
    undoes it.  *after* / *before* callbacks run under the same lock."""

    def __init__(self):
        self.patches = None  # the PatchSet in place, or None
        self._lock = threading.Lock()

    def is_installed(self):
        return self.patches is not None

    def describe(self):
        """One line per patch in place."""
        return [] if self.patches is None else [patch.describe() for patch in self.patches]

    def install(self, apply, after=None):
        """Apply the patches; False if they already are."""
        with self._lock:
            if self.patches is not None:
                return False
            patches = PatchSet()
            try:
                apply(patches)
            except BaseException:
                patches.undo()
                raise
            self.patches = patches
            if after is not None:
                after()
            return True

    def uninstall(self, before=None, after=None):
        """Undo the patches; False if none are in place."""
        with self._lock:
            if self.patches is None:
                return False
            if before is not None:
                before()
            self.patches.undo()
            self.patches = None
            if after is not None:
                after()
            return True
