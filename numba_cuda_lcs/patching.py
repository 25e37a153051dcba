"""Undoable attribute patching, in the spirit of ``wrapt.patches``.

Every replacement records the object whose ``__dict__`` really defines the
attribute (walking the MRO for classes), the original value (or that there was
none), and why it is replaced.  ``PatchSet.undo()`` restores everything in
reverse order, so a patched library can be returned to its exact prior state.

Pure logic: nothing here names numba-cuda.
"""

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
        owner = getattr(self.target, "__qualname__", None) or getattr(
            self.target, "__name__", repr(self.target)
        )
        verb = "adds" if self.added else "replaces"
        return f"{verb} {owner}.{self.name}: {self.why}"


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
            raise AttributeError(
                f"cannot patch {target!r}.{name}: it does not exist"
            )
        original = vars(target).get(name, _MISSING)
        setattr(target, name, replacement)
        patch = Patch(target, name, original, replacement, why)
        self._patches.append(patch)
        return patch

    def add(self, target, name, value, why):
        """Add a new attribute; it must not exist on *target* yet."""
        if name in vars(target):
            raise AttributeError(f"{target!r} already defines {name}")
        return self.replace(target, name, value, why, must_exist=False)

    def undo(self):
        """Restore every patched attribute, newest first."""
        while self._patches:
            patch = self._patches.pop()
            if patch.original is _MISSING:
                try:
                    delattr(patch.target, patch.name)
                except AttributeError:
                    pass
            else:
                setattr(patch.target, patch.name, patch.original)
