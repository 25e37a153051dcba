"""The stand-in CUDA driver (``fake_libcuda.c``) for tests without a GPU.

:func:`build` compiles it into a directory as ``libcuda.so.1``;
:func:`child_env` is the environment of a child process that loads it
instead of the real driver (``LD_LIBRARY_PATH``), imports this checkout
and runs the twin in effect here.  What the stand-in records and what a
test may change through the environment: the C file's header comment.
"""

import os
import shutil
import subprocess

import pytest

from . import twins

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(REPO_ROOT, "tests", "support", "fake_libcuda.c")

#: The context the stand-in calls current, and the one it names for a
#: pointer under $LCS_FAKE_CUDA_OTHER_CONTEXT.
CURRENT_CONTEXT = 0x1000
OTHER_CONTEXT = 0x1001


def build(directory):
    """Build the stand-in as ``<directory>/libcuda.so.1``; skips without a
    C compiler, fails when the build does."""
    if not os.path.exists("/proc/self"):  # LD_LIBRARY_PATH: Linux only
        pytest.skip("the stand-in CUDA driver is loaded through LD_LIBRARY_PATH (Linux)")
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("needs a C compiler (cc) to build the stand-in CUDA driver")
    library = os.path.join(str(directory), "libcuda.so.1")
    built = subprocess.run(
        [compiler, "-shared", "-fPIC", "-o", library, SOURCE],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if built.returncode != 0:
        pytest.fail(f"building the stand-in CUDA driver failed:\n{built.stderr}")
    return str(directory)


def child_env(directory, **extra):
    """A child's environment: the stand-in in *directory* (see :func:`build`)
    first on the library path, this checkout importable, the twin in
    effect here; then *extra*."""
    env = twins.child_env(**extra)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(directory), env.get("LD_LIBRARY_PATH")) if p
    )
    env["PYTHONPATH"] = os.pathsep.join(p for p in (REPO_ROOT, env.get("PYTHONPATH")) if p)
    return env
