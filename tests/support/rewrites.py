"""Rewrites the tests register, matched by kernel-name prefix.

* ``stamp_*``: replaces sentinel constants with the launch configuration
  (``BLOCK_X`` -> ``blockdim[0]``, ``GRID_X`` -> ``griddim[0]``,
  ``SHMEM`` -> ``sharedmem``) and marks exactly the fields it used.  A kernel
  that writes a sentinel to its output therefore *stamps* the configuration it
  was compiled for into the output, so a kernel compiled for another
  configuration is detected, not assumed away.
* ``lcslog_*``: logs the configuration and marks every field (our API).
* ``builtin_*``: logs and marks through numba-cuda's built-in API, the way
  cuda.coop does (``from numba.cuda.launchconfig import
  ensure_current_launch_config`` and ``cfg.dispatcher.mark_launch_config_sensitive()``).
* ``tolerant_*``: reads the configuration with ``current_launch_config()``
  and marks only when one is present.

Registered once per process (numba has no way to unregister a rewrite).
"""

import threading

from numba.cuda.core import ir
from numba.cuda.core.rewrites import Rewrite, register_rewrite, rewrite_registry

import numba_cuda_lcs
from numba_cuda_lcs import launchconfig


def _imported_before_activation():
    """numba-cuda's own ensure_current_launch_config, as code that imported it
    before numba-cuda-lcs was activated holds it (cuda.coop's pattern): taken
    while the package is off.  Imported before any kernel is routed."""
    from numba.cuda import launchconfig as builtin

    if not numba_cuda_lcs.is_active():
        return builtin.ensure_current_launch_config
    numba_cuda_lcs.deactivate()
    try:
        return builtin.ensure_current_launch_config
    finally:
        numba_cuda_lcs.activate()


builtin_ensure = _imported_before_activation()

BLOCK_X = 987654321
GRID_X = 987654322
SHMEM = 987654323

LOG = []
_LOG_LOCK = threading.Lock()


def log(kind, cfg):
    with _LOG_LOCK:
        LOG.append((kind, cfg.griddim, cfg.blockdim, cfg.sharedmem))


def compiles(kind=None, name_filter=None):
    with _LOG_LOCK:
        return [e for e in LOG if kind is None or e[0] == kind]


_SENTINELS = {
    BLOCK_X: ("blockdim", lambda cfg: cfg.blockdim[0]),
    GRID_X: ("griddim", lambda cfg: cfg.griddim[0]),
    SHMEM: ("sharedmem", lambda cfg: cfg.sharedmem),
}


class _OncePerCompile(Rewrite):
    prefix = None

    def __init__(self, state=None):
        super().__init__(state)
        self._done = False
        self._block = None

    def match(self, func_ir, block, typemap, calltypes):
        if self._done or not func_ir.func_id.func_name.startswith(self.prefix):
            return False
        self._block = block
        return True


_FLAG = "_numba_cuda_lcs_test_rewrites"

if not getattr(rewrite_registry, _FLAG, False):
    setattr(rewrite_registry, _FLAG, True)

    @register_rewrite("before-inference")
    class StampLaunchConfig(Rewrite):
        def match(self, func_ir, block, typemap, calltypes):
            if not func_ir.func_id.func_name.startswith("stamp_"):
                return False
            self._hits = [
                stmt
                for stmt in block.body
                if isinstance(stmt, ir.Assign)
                and isinstance(stmt.value, ir.Const)
                and stmt.value.value in _SENTINELS
            ]
            self._block = block
            return bool(self._hits)

        def apply(self):
            cfg = launchconfig.ensure_current_launch_config()
            fields = set()
            for stmt in self._hits:
                field, value_of = _SENTINELS[stmt.value.value]
                fields.add(field)
                stmt.value = ir.Const(value_of(cfg), stmt.value.loc)
            cfg.mark_kernel_as_launch_config_sensitive(fields=sorted(fields))
            log("stamp", cfg)
            return self._block

    @register_rewrite("after-inference")
    class LogAndMarkAll(_OncePerCompile):
        prefix = "lcslog_"

        def apply(self):
            cfg = launchconfig.ensure_current_launch_config()
            log("lcslog", cfg)
            cfg.mark_kernel_as_launch_config_sensitive()
            self._done = True
            return self._block

    @register_rewrite("after-inference")
    class BuiltinApiMark(_OncePerCompile):
        prefix = "builtin_"

        def apply(self):
            cfg = builtin_ensure()
            log("builtin", cfg)
            cfg.dispatcher.mark_launch_config_sensitive()
            self._done = True
            return self._block

    @register_rewrite("after-inference")
    class TolerantMark(_OncePerCompile):
        prefix = "tolerant_"

        def apply(self):
            cfg = launchconfig.current_launch_config()
            if cfg is not None:
                log("tolerant", cfg)
                cfg.mark_kernel_as_launch_config_sensitive()
            self._done = True
            return self._block
