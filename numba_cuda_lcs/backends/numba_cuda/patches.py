"""Install and uninstall: the only code that assigns onto numba-cuda objects.

Every patch is declared once in :data:`PATCHES` (owner, name, a factory that
builds the replacement from numba-cuda's original, why); :func:`install`
applies them through a :class:`~numba_cuda_lcs.patching.PatchSet`, and
:func:`uninstall` undoes them in reverse order.
"""

from ... import launchconfig as _launchconfig
from ... import launcher as _launcher
from ... import marks
from ...patching import Installation, PatchSpec
from . import cache, compile, configured_launch, device_functions, manifest, specialize, typeof
from .constants import LaunchConstantRewrite
from .manifest import NAMES as nb
from .routing import hand_over_to_numba_cuda


def _use(replacement):
    """Factory for a replacement that does not wrap the original."""
    return lambda _original: replacement


_D = nb.CUDADispatcher
PATCHES = (
    PatchSpec(
        nb.nb_dispatcher,
        "_LaunchConfiguration",
        _use(configured_launch.LaunchConfiguration),
        "configure() builds this class: ours adds the marking API and per-thread args",
    ),
    PatchSpec(
        _D,
        "call",
        _use(configured_launch.call),
        "route each launch to the kernel compiled for its configuration, verify, launch",
    ),
    PatchSpec(
        _D,
        "compile",
        _use(compile.compile_kernel),
        "open a compile frame for the launch, tag the kernel with fields/key, key the disk cache",
    ),
    PatchSpec(
        _D,
        "specialize",
        _use(specialize.specialize),
        "kernels that need a launch configuration specialize lazily instead of failing",
    ),
    PatchSpec(
        _D,
        "mark_launch_config_sensitive",
        _use(compile.mark_launch_config_sensitive),
        "built-in marking API marks the compilation in progress (per thread)",
    ),
    PatchSpec(
        _D, "enable_caching", _use(cache.enable_caching), "per-configuration disk cache keys"
    ),
    PatchSpec(
        _D,
        "compile_device",
        device_functions.make_compile_device,
        "device functions that depend on the launch get one variant per launch key",
    ),
    PatchSpec(
        _D,
        "typeof_pyval",
        typeof.make_typeof_pyval,
        "remember each device array's numba type (the launch path's largest cost)",
    ),
    PatchSpec(
        _D,
        "_lcs",
        _use(None),
        "DispatcherState: routing, counters, settings (None: plain)",
        adds=True,
    ),
    PatchSpec(
        nb.Kernel, "_lcs", _use(None), "KernelTag: fields and key of an LC-S kernel", adds=True
    ),
    PatchSpec(
        nb.DriverContext,
        "reset",
        configured_launch.make_context_unload,
        "launch state prepared in a context is dropped when numba-cuda resets it",
    ),
    PatchSpec(
        nb.DriverContext,
        "unload_module",
        configured_launch.make_context_unload,
        "launch state prepared in a context is dropped when a module is unloaded",
    ),
    PatchSpec(
        nb.ForAll,
        "__call__",
        _use(specialize.forall_call),
        "forall on LC-S kernels compiles for its launch",
    ),
    PatchSpec(
        nb.nb_launchconfig,
        "current_launch_config",
        _use(_launchconfig.current_launch_config),
        "read our TLS",
    ),
    PatchSpec(
        nb.nb_launchconfig,
        "ensure_current_launch_config",
        _use(_launchconfig.ensure_current_launch_config),
        "read our TLS",
    ),
    PatchSpec(
        nb.nb_launchconfig,
        "capture_compile_config",
        _use(_launchconfig.capture_compile_config),
        "also see compilations of per-configuration specializations",
    ),
)
REWRITE_WHY = "launch constants (numba_cuda_lcs.launch) become ir.Const before typing"

_installation = Installation()


def is_installed():
    return _installation.is_installed()


def installed_patches():
    """One line per patch in place."""
    return _installation.describe()


def _apply(patches):
    manifest.check_version()
    for spec in PATCHES:
        patches.apply(spec)
    # First, so that numba-cuda's own before-inference rewrites (static
    # getitem, ...) see the constants.
    patches.insert(
        "rewrite_registry['before-inference']",
        nb.rewrite_registry.rewrites["before-inference"],
        LaunchConstantRewrite,
        REWRITE_WHY,
    )


def _after_install():
    # Configured launches cached before now are numba-cuda's own class.
    _D.configure.cache_clear()
    marks.add_builtin_reader(nb.builtin_current_config)
    # Launch sites type device arrays by their _numba_type_ (as numba-cuda's
    # typeof does) and raise numba-cuda's error for a refused launch.
    _launcher.configure_sites(nb.DeviceNDArray, nb.CUDAError)


def _after_uninstall():
    marks.remove_builtin_reader(nb.builtin_current_config)
    _D.configure.cache_clear()
    # Configured launches held by users now take numba-cuda's call.
    _launcher.configure_sites(None, None)


def install():
    """Apply every patch.  Returns False if already installed."""
    return _installation.install(_apply, after=_after_install)


def uninstall():
    """Undo :func:`install`.  Returns False if it was not installed.

    Kernels that were compiled per configuration are handed over to
    numba-cuda's own launch-config state first (``routing``), so no launch
    after this runs a kernel compiled for another configuration.
    """
    return _installation.uninstall(before=hand_over_to_numba_cuda, after=_after_uninstall)
