"""The backend contract: what a compiler's backend module provides.

A backend is a subpackage of :mod:`numba_cuda_lcs.backends` whose module
satisfies :class:`Backend` (``tests/contract`` checks both backends against
it, and runs the same behaviour tests through the public API on each).  It
supplies only what differs between compilers; what they share is in the
compiler-neutral core:

- :mod:`numba_cuda_lcs.specializations` -- the limit rule, eviction, the
  routing bound and the eviction warning;
- :mod:`numba_cuda_lcs.disk_cache` -- the LC-S layer of the disk cache
  (index extra, saved key, ``.lcs`` marker, faults as misses);
- :mod:`numba_cuda_lcs.inspection` -- the row and counter records;
- :mod:`numba_cuda_lcs.manifests` -- the manifest table, version check and
  loading;
- :func:`numba_cuda_lcs.launchconfig.compile_frame` -- the compile frame;
- :mod:`numba_cuda_lcs.marks`, :mod:`numba_cuda_lcs.keys`,
  :mod:`numba_cuda_lcs.tls`, :mod:`numba_cuda_lcs.constant_rewrite`,
  :mod:`numba_cuda_lcs.patching` -- marking, keys, the thread-local frame,
  launch constants, undoable patches.

A backend module is imported by :mod:`numba_cuda_lcs.activation` (by name)
only after its compiler's trigger module has been imported; importing it
loads and checks its manifest.
"""

from contextlib import AbstractContextManager
from typing import Any, Protocol, runtime_checkable

from .inspection import CompileCounters, SpecializationRow


@runtime_checkable
class Backend(Protocol):
    """What every backend module provides."""

    #: The compiler's name, as users know it (and as the start-up hook's
    #: ``TRIGGERS`` names it).
    COMPILER: str

    def check_version(self, version: str | None = None) -> None:
        """Raise :class:`~numba_cuda_lcs.errors.UnsupportedCompilerError`
        (naming the supported versions and the fix) unless *version* (default:
        the installed compiler's) is supported."""

    def install(self) -> bool:
        """Apply every patch (False if already installed)."""

    def uninstall(self) -> bool:
        """Undo every patch, leaving no kernel launchable with a configuration
        it was not compiled for (False if not installed)."""

    def is_installed(self) -> bool: ...

    def installed_patches(self) -> list[str]:
        """One line per patch in place: ``"replaces Owner.name: why"``."""

    def describe_internals(self) -> list[str]:
        """One line per compiler internal the backend uses (its manifest)."""

    def owns(self, kernel: Any) -> bool:
        """True for a kernel (dispatcher) of this compiler."""

    def kernel_rows(self, kernel: Any) -> list[SpecializationRow]:
        """One row per compiled kernel of *kernel* and its specializations,
        the kernel's own first."""

    def counters(self, kernel: Any) -> CompileCounters: ...

    def set_max_specializations(self, kernel: Any, limit: int | None) -> None:
        """Limit *kernel*'s live specializations (None: the default)."""

    def set_launch_bounds_from_block(self, kernel: Any, enabled: bool = True) -> None:
        """Compile *kernel* with launch bounds = the block's thread count."""

    # -- warming the disk cache (numba_cuda_lcs.warm) ----------------------------

    def has_disk_cache(self, kernel: Any) -> bool:
        """True when *kernel* was declared with ``cache=True``."""

    def parse_signature(self, text: Any) -> tuple[Any, ...]:
        """The argument types of a signature (text as ``@cuda.jit`` takes
        it, or a tuple of types); :class:`~numba_cuda_lcs.errors.WarmError`
        naming the fix when it cannot be read."""

    def compile_target(self, cc: tuple[int, int] | None) -> AbstractContextManager[Any]:
        """While open, compiles are for compute capability *cc* (None: the
        current device's); raises ``WarmError`` saying why when the compiler
        cannot compile for it here (numba-cuda: no GPU of that compute
        capability)."""

    def compile_for_launch(
        self,
        kernel: Any,
        argtypes: tuple[Any, ...],
        griddim: tuple[int, ...],
        blockdim: tuple[int, ...],
        sharedmem: int,
    ) -> Any:
        """Compile, or load from the disk cache, what ``kernel[griddim,
        blockdim, 0, sharedmem]`` would run for arguments of *argtypes*,
        routed as a launch, without launching."""
