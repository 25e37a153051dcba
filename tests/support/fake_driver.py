"""The stand-in CUDA driver (``fake_libcuda.c``) for tests without a GPU.

:func:`build` compiles it into a directory as ``libcuda.so.1``;
:func:`child_env` is the environment of a child process that loads it
instead of the real driver (``LD_LIBRARY_PATH``), imports this checkout
and runs the twin in effect here.  What the stand-in records and what a
test may change through the environment: the C file's header comment.
"""

import json
import os
import shutil
import subprocess
import sys

import pytest

from . import twins

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SOURCE = os.path.join(REPO_ROOT, "tests", "support", "fake_libcuda.c")

#: The context the stand-in calls current, and the one it names for a
#: pointer under $LCS_FAKE_CUDA_OTHER_CONTEXT.
CURRENT_CONTEXT = 0x1000
OTHER_CONTEXT = 0x1001


#: Signs of an installed NVIDIA driver.
DRIVER_SIGNS = ("/proc/driver/nvidia/version", "/dev/nvidiactl")


def installed_driver():
    """What shows this machine has an NVIDIA driver (a path), or None."""
    for sign in DRIVER_SIGNS:
        if os.path.exists(sign):
            return sign
    return shutil.which("nvidia-smi")


def build(directory):
    """Build the stand-in as ``<directory>/libcuda.so.1``; skips without a
    C compiler and on machines with a real driver, fails when the build
    does."""
    if not os.path.exists("/proc/self"):  # LD_LIBRARY_PATH: Linux only
        pytest.skip("the stand-in CUDA driver is loaded through LD_LIBRARY_PATH (Linux)")
    driver = installed_driver()
    if driver is not None:
        # Libraries that open the driver by its full path load the real one
        # beside the stand-in, and the process mixes their handles (it
        # crashed so on an H200, 2026-12-04): the stand-in is for machines
        # without a driver (CI); the GPU tests check the same things here.
        pytest.skip(
            f"this machine has a CUDA driver ({driver}): the stand-in runs where "
            "there is none; the GPU tests cover this here"
        )
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
    first on the library path, the numba_cuda_lcs this process imported
    (an installed one has its C extensions built) and this support package
    importable, the twin in effect here; then *extra*."""
    import numba_cuda_lcs

    env = twins.child_env(**extra)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(directory), env.get("LD_LIBRARY_PATH")) if p
    )
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(numba_cuda_lcs.__file__)))
    tests = os.path.join(REPO_ROOT, "tests")
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_parent, tests, env.get("PYTHONPATH")) if p
    )
    env[DIRECTORY_VARIABLE] = str(directory)
    return env


#: Where a child finds the directory of the stand-in it should have loaded.
DIRECTORY_VARIABLE = "LCS_FAKE_CUDA_DIR"


def run_child(script, directory, timeout, **extra):
    """Run test file *script* as a child over the stand-in built in
    *directory* (``script <directory>/results.json``), with its launches
    logged to ``launch.log`` and ``streams.log`` there (the C file's header),
    the twin in effect here and *extra* in its environment; returns the JSON
    it wrote.  Fails with the child's output when it fails; skips when the
    machine's driver was loaded instead (the child reports
    :func:`foreign_drivers` under ``"foreign_drivers"``)."""
    directory = str(directory)
    out = os.path.join(directory, "results.json")
    env = child_env(
        build(directory),
        LCS_FAKE_CUDA_LOG=os.path.join(directory, "launch.log"),
        LCS_FAKE_CUDA_STREAM_LOG=os.path.join(directory, "streams.log"),
        **extra,
    )
    done = subprocess.run(
        [sys.executable, os.path.abspath(script), out],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        pytest.fail(f"the child process failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    with open(out) as f:
        results = json.load(f)
    skip_when_foreign(results)
    return results


def foreign_drivers():
    """In a child started with :func:`child_env`: the CUDA drivers mapped
    into this process other than the stand-in -- on a machine with a GPU,
    a library that finds the driver by its full path loads the real one,
    and what the child measured is not the stand-in's."""
    fake = os.path.realpath(os.path.join(os.environ[DIRECTORY_VARIABLE], "libcuda.so.1"))
    with open("/proc/self/maps") as f:
        mapped = {line.split()[-1] for line in f if "libcuda.so" in line}
    return sorted(path for path in mapped if os.path.realpath(path) != fake)


def interface(ptr, stream=None):
    """A ``__cuda_array_interface__`` the children's stand-in arrays give:
    four float32 at device pointer *ptr*, naming *stream*."""
    return {
        "version": 3,
        "data": (ptr, False),
        "shape": (4,),
        "strides": None,
        "typestr": "<f4",
        "stream": stream,
    }


def write_results(out_path, results):
    """In a child: write *results* for :func:`run_child`, with the drivers
    other than the stand-in it loaded (:func:`foreign_drivers`)."""
    results["foreign_drivers"] = foreign_drivers()
    with open(out_path, "w") as f:
        json.dump(results, f)


def skip_when_foreign(results):
    """In the parent: skip when the child reported another driver loaded."""
    if results.get("foreign_drivers"):
        pytest.skip(
            "the machine's CUDA driver was loaded instead of the stand-in "
            f"({', '.join(results['foreign_drivers'])}): the GPU tests check this here"
        )
