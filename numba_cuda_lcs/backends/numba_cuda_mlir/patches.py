"""Install and uninstall: the only code that assigns onto numba-cuda-mlir's
modules and classes.

Every patch is declared once in :data:`PATCHES` (owner, attribute, a
factory building the replacement from numba-cuda-mlir's original, why) and
applied through :class:`~numba_cuda_lcs.patching.PatchSet`, as is the one
change that is not an attribute (the launch-constant rewrite inserted first
in the vendored rewrite registry's ``before-inference`` list), so
:func:`uninstall` restores the exact previous state.

Instances: our replacement methods update the dispatchers they run on as
the originals do (``overloads``, ``_cache``); the only attribute of ours on a
dispatcher is ``_lcs`` (a ``__slots__`` record, :class:`state.KernelState`).

After :func:`uninstall`, no launch runs a kernel compiled for another
configuration: a kernel itself never holds configuration-dependent code
(see ``compile.py``), and configured launches obtained before keep routing
to their specializations.
"""

import contextlib
import threading

from ... import launcher as _launcher
from ...patching import Installation, PatchSet, PatchSpec
from . import compile as _compile
from . import configured_launch as _configured_launch
from . import constants as _constants
from . import launch_plans as _launch_plans
from . import manifest as _manifest
from .manifest import NAMES

#: (attribute of MLIRDispatcher, factory(original), why, adds)
DISPATCHER_PATCHES = (
    (
        "_compile_impl",
        _compile.make_compile_impl,
        "open a compile frame for the launch in progress; results that depend "
        "on the launch go to the specialization of their key, never to the "
        "kernel's own native launcher",
        False,
    ),
    (
        "_compile_public",
        _compile.make_compile_public,
        "eager compiles have no launch configuration (frame with none), except "
        "inside compiling_for(), which compile_ptx uses",
        False,
    ),
    (
        "_compile_device_callee",
        _compile.make_compile_device_callee,
        "device functions that read the launch get one variant per launch key",
        False,
    ),
    (
        "_compile_as_device_callee",
        _compile.make_compile_as_device_callee,
        "the kernel-side entry of such a device function follows its variant",
        False,
    ),
    (
        "enable_caching",
        _compile.make_enable_caching,
        "disk cache keyed per launch key for LC-S specializations, .lcs marker; "
        "plain entries keep numba-cuda-mlir's keys",
        False,
    ),
    (
        "_recompile_impl",
        _compile.make_recompile_impl,
        "recompile() also drops specializations and routes (they hold code of "
        "the kernel as it was)",
        False,
    ),
    (
        "_lcs",
        lambda _original: None,
        "per-kernel record (None until a kernel is first configured)",
        True,
    ),
    (
        "_compile",
        _launch_plans.make_compile,
        "the native launcher's compile callback also records what each native "
        "dispatcher compiled for which argument types (the C launch path)",
        False,
    ),
    (
        "_record_literal_arg_positions",
        _launch_plans.make_record_literal_arg_positions,
        "new literal argument positions (a new native dispatcher, overloads "
        "dropped) also make launch sites forget their launches",
        False,
    ),
    (
        "configure",
        _configured_launch.make_configure,
        "a cuda.core GraphBuilder as the stream launches on the stream it "
        "captures on, as numba-cuda accepts it (numba-cuda-mlir refuses it)",
        False,
    ),
    (
        "__getitem__",
        _configured_launch.make_getitem,
        "kernel[...] returns what numba-cuda-mlir's configure() would, found "
        "from the raw arguments while its configure cache still holds it",
        False,
    ),
    (
        "_lcs_configure_front",
        lambda _original: None,
        "that front cache: raw kernel[...] arguments -> (configure's key, launcher)",
        True,
    ),
    (
        "_lcs_native_compiles",
        lambda _original: None,
        "those records, per native dispatcher (launch_plans.py)",
        True,
    ),
)

REWRITE_WHY = (
    "LaunchConstantRewrite first in the vendored numba's before-inference "
    "rewrites: numba_cuda_lcs.launch constants become ir.Const before typing"
)


PATCHES = (
    PatchSpec(
        NAMES.descriptor,
        "_ArgMarshaller",
        _configured_launch.make_argmarshaller,
        "numba-cuda-mlir's configure() (unchanged: its cache, generations and "
        "errors) builds our ConfiguredLaunch, its _ArgMarshaller plus the marking "
        "API and routing to the specialization of the launch's key",
    ),
    *(
        PatchSpec(NAMES.MLIRDispatcher, name, factory, why, adds=adds)
        for name, factory, why, adds in DISPATCHER_PATCHES
    ),
    *(
        PatchSpec(
            NAMES.DriverContext,
            name,
            _launcher.invalidate_before,
            "launch sites forget what they remembered (CUfunction handles of "
            "unloaded modules; a new context may reuse an old handle)",
        )
        for name in ("reset", "unload_module")
    ),
)


_installation = Installation()


def is_installed():
    return _installation.is_installed()


def installed_patches():
    """One line per patch in place."""
    return _installation.describe()


def _apply(patches):
    _manifest.check_version()
    for spec in PATCHES:
        patches.apply(spec)
    # First, so that numba's own before-inference rewrites (constant
    # getitem, ...) see the constants.
    patches.insert(
        "rewrite_registry['before-inference']",
        NAMES.rewrite_registry.rewrites["before-inference"],
        _constants.LaunchConstantRewrite,
        REWRITE_WHY,
    )


_installed_before = False


def _forget_stock_launchers():
    """After a reinstall: numba-cuda-mlir's configure() caches the configured
    launchers it built while we were not installed (its own
    ``_ArgMarshaller``, which publishes nothing and routes nothing); clear
    those caches, so that the next ``kernel[...]`` builds ours.  Launchers
    the user kept from that time stay numba-cuda-mlir's (a compile they
    trigger has no configuration and says so)."""
    import gc

    for dispatcher in [o for o in gc.get_objects() if isinstance(o, NAMES.MLIRDispatcher)]:
        dispatcher._clear_configure_cache()


def install():
    """Apply every patch.  Returns False if already installed."""
    global _installed_before
    installed = _installation.install(_apply)
    if installed and _installed_before:
        _forget_stock_launchers()
    _installed_before = _installed_before or installed
    if installed:
        # numba-cuda-mlir's arrays are typed by their _numba_type_ at launch
        # sites; a refused launch raises the site class's _lcs_launch_error.
        _launcher.configure_sites(NAMES.DeviceNDArray, None, owner=_manifest.COMPILER)
        # numba-cuda-mlir reads NUMBA_CUDA_ARRAY_INTERFACE_SYNC at every
        # launch: so do plans, for arrays other than its own
        _launcher.configure_interface_sync(NAMES.cuda_config, NAMES.DeviceNDArrayBase)
    return installed


def uninstall():
    """Undo :func:`install`.  Returns False if it was not installed."""
    uninstalled = _installation.uninstall()
    if uninstalled:
        _launcher.configure_sites(None, None, owner=_manifest.COMPILER)
        _launcher.configure_interface_sync(None, None)
    return uninstalled


_cc_lock = threading.Lock()

CC_WHY = (
    "warm --cc: numba-cuda-mlir compiles (and keys cache entries) for this "
    "compute capability instead of asking the driver for the device's"
)


@contextlib.contextmanager
def compile_for_cc(cc):
    """While the block runs, numba-cuda-mlir compiles for compute capability
    *cc* ((major, minor)) in this whole process, GPU or not: its
    ``tools.get_gpu_compute_capability()`` returns the value cached in
    ``tools._cached_cc`` before asking the driver.  Restored afterwards."""
    with _cc_lock:
        patches = PatchSet()
        patches.replace(NAMES.tools, "_cached_cc", (int(cc[0]), int(cc[1])), CC_WHY)
        try:
            yield
        finally:
            patches.undo()
