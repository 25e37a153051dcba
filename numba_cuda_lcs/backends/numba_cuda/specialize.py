"""``specialize()`` and ``forall()`` for kernels that need a configuration.

numba-cuda compiles ``kernel.specialize(*args)`` eagerly, with no launch in
progress.  A kernel whose compilation asks for the launch configuration is
specialized lazily instead: the returned dispatcher compiles its one
signature per configuration when launched (and ``forall`` works on it).
"""

from ... import tls
from ...errors import LaunchConfigUnavailableError
from .manifest import NAMES as nb
from .records import Routing, state_of
from .routing import resolve, routed_roots

# An LC-S forall with no block size compiles once for the largest block to
# ask the driver for the best block size for that code.
_PROBE_BLOCK = 1024


def specialize(self, *args):
    """Replacement for ``CUDADispatcher.specialize`` (follows numba-cuda
    0.30.4's, which compiles eagerly and disables further compiles)."""
    cc = nb.get_current_device().compute_capability
    argtypes = tuple(self.typeof_pyval(a) for a in args)
    if self._specialized:
        raise RuntimeError("Dispatcher already specialized")
    found = self.specializations.get((cc, argtypes))
    if found:
        return found
    specialization = nb.CUDADispatcher(self.py_func, targetoptions=self.targetoptions)
    try:
        specialization.compile(argtypes)
    except LaunchConfigUnavailableError:
        state_of(specialization).routing = Routing(deferred_sigs=(argtypes,))
        routed_roots.add(specialization)
        specialization._can_compile = False
    else:
        specialization.disable_compile()
    specialization._specialized = True
    self.specializations[cc, argtypes] = specialization
    return specialization


def forall_call(self, *args):
    """Replacement for ``ForAll.__call__`` (follows numba-cuda 0.30.4's):
    LC-S kernels compile for the launch forall makes."""
    if self.ntasks == 0:
        return None
    dispatcher = self.dispatcher
    specialized = dispatcher if dispatcher.specialized else dispatcher.specialize(*args)
    state = specialized._lcs
    routing = state.routing if state is not None else None
    if routing is None or routing.deferred_sigs is None:
        blockdim = self._compute_thread_per_block(specialized)
    else:
        blockdim = self.thread_per_block or _occupancy_block_size(self, specialized, args)
    griddim = (self.ntasks + blockdim - 1) // blockdim
    return specialized[griddim, blockdim, self.stream, self.sharedmem](*args)


def _occupancy_block_size(forall, specialized, args):
    """Block size for an LC-S forall with no explicit block size: compile for
    the largest block, ask the driver for the best block size for that code;
    the launch then compiles for the block size it picked (once)."""
    grid = max(1, (forall.ntasks + _PROBE_BLOCK - 1) // _PROBE_BLOCK)
    probe = specialized[grid, _PROBE_BLOCK, forall.stream, forall.sharedmem]
    prev = tls.swap_args(args)
    try:
        kernel = resolve(specialized, args, probe)
    finally:
        tls.swap_args(prev)
    _, blockdim = nb.get_context().get_max_potential_block_size(
        func=kernel._codelibrary.get_cufunc(),
        b2d_func=0,
        memsize=forall.sharedmem,
        blocksizelimit=_PROBE_BLOCK,
    )
    return blockdim
