"""The marking API shared by every launch-configuration object.

``kernel[grid, block]`` returns a configured launch (see a backend's ``configured_launch``)
that mixes this class in; :func:`numba_cuda_lcs.launchconfig.compiling_for`
returns a :class:`CompileOnlyLaunchConfig` for compile-only paths such as
``numba.cuda.compile_ptx``.  Marks are kept per compilation in thread-local
storage, never on the configuration object: the same object is shared by
every thread that launches with that configuration.
"""

from collections.abc import Iterable
from typing import Any

from . import keys as _keys
from . import marks, tls
from .errors import LaunchConfigUnavailableError


class LazyLaunchKeys:
    """Non-data descriptor: computes ``launch_keys`` on first access and
    stores it in the instance, so later reads are a plain instance-dict hit
    and launches of plain kernels never compute it."""

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        found = _keys.launch_keys(obj.griddim, obj.blockdim, obj.sharedmem)
        obj.__dict__["_lcs_keys"] = found
        return found


class LaunchConfigMarking:
    """Marking methods.  Subclasses provide ``griddim``, ``blockdim`` and
    ``sharedmem``."""

    _lcs_keys = LazyLaunchKeys()
    griddim: tuple[int, int, int]
    blockdim: tuple[int, int, int]
    sharedmem: int

    def mark_kernel_as_launch_config_sensitive(
        self, fields: str | Iterable[str] | None = None
    ) -> None:
        """Mark the kernel being compiled for this configuration as
        launch-config sensitive.

        *fields* selects what the compiled code depends on: any subset of
        ``"griddim"``, ``"blockdim"``, ``"sharedmem"`` (default: all three).
        Several marks during one compilation take the union.
        """
        mask = _keys.fields_to_mask(fields)
        marks.mark(self, mask, "mark_kernel_as_launch_config_sensitive")

    def get_kernel_launch_config_sensitive(self) -> bool | None:
        """None until something marked the compilation in progress for this
        configuration, then True."""
        if tls.current_config() is self:
            marked = tls.compile_marks()
        else:
            marked = marks.early_marks(self)
        return True if marked else None

    def get_kernel_launch_config_fields(self) -> tuple[str, ...]:
        """The field names marked so far by the compilation in progress for
        this configuration (empty when none)."""
        if tls.current_config() is self:
            return _keys.mask_to_fields(tls.compile_marks())
        return ()

    def is_kernel_launch_config_sensitive(self) -> bool:
        """During a compilation for this configuration: whether it has been
        marked.  Otherwise: whether the kernel launched with this
        configuration is known to be launch-config sensitive."""
        if tls.current_config() is self:
            return bool(tls.compile_marks())
        return self._launched_kernel_is_sensitive()

    def _launched_kernel_is_sensitive(self) -> bool:
        return False

    # numba-cuda 0.30's compiler asks the published configuration this
    # question to fill ``metadata["launch_config_sensitive"]``.
    def _is_kernel_launch_config_sensitive(self) -> bool:
        return self.get_kernel_launch_config_sensitive() is True


class CompileOnlyLaunchConfig(LaunchConfigMarking):
    """A launch configuration for compilations no launch triggers
    (``numba.cuda.compile_ptx`` and friends); see ``compiling_for``."""

    dispatcher: Any = None
    stream: Any = 0
    args: tuple[Any, ...] | None = None
    marked_fields: tuple[str, ...] = ()

    def __init__(self, griddim: Any, blockdim: Any, sharedmem: int = 0) -> None:
        self.griddim = _keys.normalize_dim(griddim, "griddim")
        self.blockdim = _keys.normalize_dim(blockdim, "blockdim")
        self.sharedmem = _keys.normalize_sharedmem(sharedmem)
        self.pre_launch_callbacks: list[Any] = []

    def mark_kernel_as_launch_config_sensitive(
        self, fields: str | Iterable[str] | None = None
    ) -> None:
        """Mark the compilation running inside this configuration's
        ``compiling_for`` block (see
        :meth:`LaunchConfigMarking.mark_kernel_as_launch_config_sensitive`).

        Outside that block -- before it, after it, or while another
        configuration is compiling inside it -- raises
        :class:`~numba_cuda_lcs.errors.LaunchConfigUnavailableError` naming
        the fix.
        """
        mask = _keys.fields_to_mask(fields)
        if tls.current_config() is not self:
            raise LaunchConfigUnavailableError(
                "No launch config set for this thread: "
                f"mark_kernel_as_launch_config_sensitive() on {self!r} is only valid "
                "inside its `with numba_cuda_lcs.compiling_for(griddim, blockdim) as cfg:` "
                "block, from a hook running during the compile the block wraps (for "
                "example numba.cuda.compile_ptx(kernel, sig, cc=(9, 0))). Mark inside "
                "the block, or launch the kernel (kernel[grid, block](...)) so that its "
                "configured launch is the one compiling."
            )
        tls.add_marks(mask)

    def __repr__(self) -> str:
        return (
            f"CompileOnlyLaunchConfig(griddim={self.griddim}, "
            f"blockdim={self.blockdim}, sharedmem={self.sharedmem})"
        )
