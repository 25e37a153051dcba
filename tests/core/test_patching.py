import types

import pytest

from numba_cuda_lcs.patching import PatchSet, defining_owner


class Base:
    def method(self):
        return "base"


class Child(Base):
    def other(self):
        return "child"


def test_defining_owner_walks_the_mro():
    assert defining_owner(Child, "method") is Base
    assert defining_owner(Child, "other") is Child
    assert defining_owner(Child, "missing") is None


def test_replace_inherited_attribute_and_undo():
    patches = PatchSet()
    patches.replace(Child, "method", lambda self: "patched", "test")
    assert Child().method() == "patched"
    assert Base().method() == "base"
    patches.undo()
    assert "method" not in vars(Child)
    assert Child().method() == "base"


def test_replace_own_attribute_restores_original():
    original = Child.__dict__["other"]
    patches = PatchSet()
    patch = patches.replace(Child, "other", lambda self: "x", "why")
    assert not patch.added and "replaces" in patch.describe()
    patches.undo()
    assert Child.__dict__["other"] is original


def test_module_attributes_and_added_attributes():
    module = types.ModuleType("m")
    module.value = 1
    patches = PatchSet()
    patches.replace(module, "value", 2, "why")
    patch = patches.add(module, "extra", 3, "new")
    assert patch.added and "adds" in patch.describe()
    assert (module.value, module.extra) == (2, 3)
    patches.undo()
    assert module.value == 1 and not hasattr(module, "extra")
    assert len(patches) == 0


def test_missing_attribute_and_duplicate_add_are_refused():
    patches = PatchSet()
    with pytest.raises(AttributeError, match="does not exist"):
        patches.replace(Child, "nope", 1, "why")
    with pytest.raises(AttributeError, match="already defines"):
        patches.add(Child, "other", 1, "why")
    assert len(patches) == 0


def test_undo_is_lifo():
    module = types.ModuleType("m")
    module.value = "original"
    patches = PatchSet()
    patches.replace(module, "value", "first", "1")
    patches.replace(module, "value", "second", "2")
    patches.undo()
    assert module.value == "original"


def test_installation_applies_once_undoes_on_failure_and_uninstalls():
    from numba_cuda_lcs.patching import Installation

    module = types.ModuleType("m")
    module.value = "original"
    installation = Installation()

    def failing(patches):
        patches.replace(module, "value", "half-done", "why")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        installation.install(failing)
    assert module.value == "original" and not installation.is_installed()

    calls = []
    apply = lambda patches: patches.replace(module, "value", "patched", "why")  # noqa: E731
    assert installation.install(apply, after=lambda: calls.append("after")) is True
    assert installation.install(apply) is False  # already in place
    assert module.value == "patched" and calls == ["after"]
    assert installation.describe() == ["replaces m.value: why"]
    assert installation.uninstall(before=lambda: calls.append("before")) is True
    assert installation.uninstall() is False
    assert module.value == "original" and calls == ["after", "before"]
