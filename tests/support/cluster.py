"""Child processes sharing one disk cache: the compile-once-per-cluster tests
(tests/cache/test_cache_processes.py, tests/mlir/test_mlir_cluster.py,
tests/cluster/test_cluster_gpu.py).

Each test writes a ``child.py`` into its workspace; a child prints one
``LCS-RESULT <json>`` line, and waits for ``<workspace>/start`` (after
touching ``start.ready.<pid>``) when its spec names a start file, so that
:func:`release_together` starts them all at once.
"""

import json
import os
import subprocess
import sys
import time

import numba_cuda_lcs
from numba_cuda_lcs import cache_locks, cache_trust

#: The folder the package under test is imported from (children use it too).
PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(numba_cuda_lcs.__file__)))
TIMEOUT = 300


def cache_env(workspace, path_dirs=(), **extra):
    """The environment of a child: ``<workspace>/cache`` as NUMBA_CACHE_DIR,
    *path_dirs* and the package on PYTHONPATH, none of our settings from the
    parent (disable, lock bound, trust level), then *extra*."""
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(workspace / "cache")
    env["PYTHONPATH"] = os.pathsep.join(
        [str(d) for d in path_dirs]
        + [PACKAGE_PARENT]
        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    )
    for name in ("NUMBA_CUDA_LCS_DISABLE", cache_locks.TIMEOUT_ENV, cache_trust.TRUST_ENV):
        env.pop(name, None)
    env.update(extra)
    return env


def spawn(workspace, spec, env):
    """``python <workspace>/child.py <spec as JSON>``, output captured."""
    return subprocess.Popen(
        [sys.executable, str(workspace / "child.py"), json.dumps(spec)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def report(proc, timeout=TIMEOUT):
    """The child's ``LCS-RESULT`` (it must exit 0)."""
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, f"{out}\n{err}"
    lines = [line for line in out.splitlines() if line.startswith("LCS-RESULT ")]
    assert lines, f"{out}\n{err}"
    return json.loads(lines[-1][len("LCS-RESULT ") :])


def release_together(workspace, procs, timeout=TIMEOUT):
    """Start *procs* at once: when every one has imported and is waiting."""
    deadline = time.monotonic() + timeout
    while len(list(workspace.glob("start.ready.*"))) < len(procs):
        assert time.monotonic() < deadline, "children never got ready"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.02)
    (workspace / "start").touch()
