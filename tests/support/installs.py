"""Which library a test module needs that this install lacks, and the
command that brings it.

A bare install (``pip install numba-cuda-lcs`` / ``pip install -e .`` with no
compiler extra, plus the ``test`` extra) has no numpy, no numba-cuda and no
CUDA libraries.  Test modules that import one of them cannot be collected
there; :func:`make_module` (called from ``conftest.pytest_pycollect_makemodule``)
turns that import error into a skip of the whole module whose reason names
the missing library and the extra that brings it.  Any other import error
still fails the collection.
"""

from __future__ import annotations

import importlib.util
import re

import pytest

#: Top-level module -> (what to call it, the extra that installs it).
EXTRAS = {
    "numpy": ("numpy", "cu13"),
    "numba": ("numba-cuda", "cu13"),
    "numba_cuda": ("numba-cuda", "cu13"),
    "cuda": ("cuda-bindings / cuda-core", "cu13"),
    "numba_cuda_mlir": ("numba-cuda-mlir", "mlir"),
    "filecheck": ("filecheck", "test"),
    "hypothesis": ("hypothesis", "test"),
}

#: The modules whose absence makes a module skip rather than fail.
CHECKED = ("numpy", "numba", "cuda")


def installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def reason_for(module: str) -> str | None:
    """The skip reason for a test module that needs top-level *module*, or
    None when *module* is installed or not one the extras bring."""
    top = module.split(".")[0]
    if top not in EXTRAS or installed(top):
        return None
    what, extra = EXTRAS[top]
    hint = "cu13,test" if extra == "cu13" else f"cu13,{extra},test"
    return (
        f"needs {what} (module {top!r} is not installed; the bare install has no "
        f'compiler): python -m pip install -e ".[{hint}]" (or ".[cu12,test]" for '
        "an NVIDIA driver older than 580)"
    )


def _missing_module(exc: BaseException | None) -> str | None:
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, ModuleNotFoundError) and exc.name:
            return exc.name
        found = re.search(r"No module named '([\w.]+)'", str(exc))
        if found:
            return found.group(1)
        exc = exc.__cause__ or exc.__context__
    return None


class SkipWhenMissing(pytest.Module):
    """A test module that is skipped, with the reason, when importing it
    fails for a library a compiler extra brings."""

    def collect(self):  # type: ignore[no-untyped-def]
        try:
            self.obj  # noqa: B018  (imports the test module)
        except self.CollectError as exc:
            module = _missing_module(exc)
            reason = reason_for(module) if module else None
            if reason is not None:
                pytest.skip(f"{self.path.name} {reason}", allow_module_level=True)
            raise
        return super().collect()


def make_module(module_path, parent):  # type: ignore[no-untyped-def]
    """A :class:`SkipWhenMissing` collector where a checked library is
    missing; None (pytest's own collector) where everything is installed."""
    if all(installed(name) for name in CHECKED):
        return None
    return SkipWhenMissing.from_parent(parent, path=module_path)


#: Marks for tests that need numba-cuda (or numpy) but import it inside the
#: test or in a subprocess (so the module itself collects on a bare install).
requires_numba_cuda = pytest.mark.skipif(
    not installed("numba_cuda"), reason=reason_for("numba") or "numba-cuda is installed"
)
requires_numpy = pytest.mark.skipif(
    not installed("numpy"), reason=reason_for("numpy") or "numpy is installed"
)
