"""Device functions that depend on the launch configuration.

A device function whose compilation marked fields (it reads
``numba_cuda_lcs.launch`` constants, or a hook marked it) gets one compiled
variant per launch key of those fields.  Before a calling kernel's typing and
lowering use it (both under the compiler lock), ``overloads[args]`` is
pointed at the variant for the launch being compiled, and the device
function's fields are added to the kernel's marks.
"""

from ... import tls
from ...errors import LaunchConfigUnavailableError
from .manifest import NAMES as nb
from .records import state_of


def make_compile_device(original):
    """Build the replacement for ``CUDADispatcher.compile_device`` from
    numba-cuda's own (which compiles one overload per argument types)."""

    def compile_device(self, args, return_type=None):
        config = tls.current_config()
        state = self._lcs
        variants = state.device_variants if state is not None else None
        with nb.compiler_lock:
            if variants is not None and args in variants.masks:
                mask = variants.masks[args]
                if config is None:
                    raise LaunchConfigUnavailableError(
                        f"No launch config set for this thread: device function "
                        f"{self.__name__!r} depends on the launch configuration "
                        "and can only be compiled for a kernel launch"
                    )
                variant = variants.compiled.get((args, config._lcs_keys[mask]))
                if variant is not None:
                    self.overloads[args] = variant
                    tls.add_marks(mask)
                    return variant
                self.overloads.pop(args, None)  # compile a variant for this launch
            token = tls.begin_compile(config)
            try:
                cres = original(self, args, return_type)
                marked = tls.compile_marks()
            finally:
                tls.end_compile(token)
            if marked:
                if variants is None:
                    variants = state_of(self).device_variants = DeviceVariants()
                mask = variants.masks[args] = variants.masks.get(args, 0) | marked
                variants.compiled[(args, config._lcs_keys[mask])] = cres
                tls.add_marks(mask)
            return cres

    return compile_device


class DeviceVariants:
    """The variants of one device function (``DispatcherState.device_variants``)."""

    __slots__ = ("masks", "compiled")

    def __init__(self):
        self.masks = {}  # argument types -> fields its compilation marked
        self.compiled = {}  # (argument types, launch key) -> compile result
