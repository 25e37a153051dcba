"""The C speedups and their pure-Python twins, as the tests choose them.

The package binds one implementation of its thread-local state (``tls``) and
one of its launcher (``launcher``) per process: the C extensions when built,
the twins (``_tls_py``, ``_launcher_py``) otherwise or under
``NUMBA_CUDA_LCS_PURE_PYTHON=1``.  Most tests run once, over that default.
Tests whose behaviour depends on the implementation request the ``twins``
fixture (conftest.py), which runs them over each twin asked for:

* ``NUMBA_CUDA_LCS_TWINS`` unset: both; the C one is skipped, with the import
  error, when the extensions are not built;
* ``NUMBA_CUDA_LCS_TWINS=c``, ``=python`` or ``=c,python``: those, and an
  error (pytest's usage error) when the C one is asked for and not built.
  Naming a single twin also binds it for the whole session, so the tests that
  run once, and their child processes, run over it too.

Child processes get the twin in effect in the parent (:func:`child_env`), so
a test that runs over the Python twin does not check the C one in its child.
"""

import importlib
import os

import pytest

from numba_cuda_lcs import launcher, tls

NAMES = ("c", "python")
VARIABLE = "NUMBA_CUDA_LCS_TWINS"
PURE_PYTHON = "NUMBA_CUDA_LCS_PURE_PYTHON"
EXTENSIONS = ("numba_cuda_lcs._tls", "numba_cuda_lcs._launcher")


def c_problem():
    """None when both C extensions are built, else why the C twin cannot run."""
    for name in EXTENSIONS:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            return f"the C extension {name} is not built: {exc}; pip install -e . builds it"
    return None


def requested(environ=None):
    """The twins named by NUMBA_CUDA_LCS_TWINS, or None (unset: both, as
    far as they are built).  A bad value is a usage error."""
    environ = os.environ if environ is None else environ
    value = environ.get(VARIABLE, "").strip()
    if not value:
        return None
    names = [name.strip() for name in value.split(",") if name.strip()]
    if not names or any(name not in NAMES for name in names):
        raise pytest.UsageError(f"{VARIABLE}={value!r}: expected c, python or c,python")
    return list(dict.fromkeys(names))


def params(environ=None, problem=None):
    """The ``twins`` fixture's params: each twin that runs, the C one marked
    skip (with *problem*) when it is not built and not asked for by name."""
    names = requested(environ)
    if names is None:
        c = pytest.param("c", marks=pytest.mark.skip(reason=problem)) if problem else "c"
        return [c, "python"]
    if "c" in names and problem:
        raise pytest.UsageError(f"{VARIABLE} asks for the C twin, but {problem}")
    return names


def session_default(environ=None):
    """The twin the whole session binds: the one NUMBA_CUDA_LCS_TWINS names
    alone, else None (the package's own default)."""
    names = requested(environ)
    return names[0] if names is not None and len(names) == 1 else None


def bind(name):
    """Bind twin *name* for TLS and launcher; returns what to pass to
    :func:`restore`."""
    return tls.use(name), launcher.use(name)


def restore(previous):
    tls.use(previous[0])
    launcher.use(previous[1])


def in_effect():
    """The twin bound now: "python" when both bound implementations are the
    twins, else "c" (a process that built only one extension binds it)."""
    return "python" if tls.IMPLEMENTATION == launcher.IMPLEMENTATION == "python" else "c"


def child_env(base=None, **extra):
    """Environment for a child process running the twin in effect here:
    ``NUMBA_CUDA_LCS_PURE_PYTHON=1`` for the Python twin, ``=0`` (the C
    extensions, where built) otherwise; then *extra* (``None`` removes a
    variable)."""
    env = dict(os.environ if base is None else base)
    env[PURE_PYTHON] = "1" if in_effect() == "python" else "0"
    for name, value in extra.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env
