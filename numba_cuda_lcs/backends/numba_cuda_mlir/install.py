"""The only code that assigns onto numba-cuda-mlir's modules and classes.

Each patch is declared once in :data:`PATCHES` -- owner, attribute, a factory
building the replacement from the original, and why -- and applied through
:class:`numba_cuda_lcs.patching.PatchSet`, so :func:`uninstall` restores the
exact previous state.  One change is not an attribute: the launch-constant
rewrite is added to (and removed from) the vendored rewrite registry's
``before-inference`` list (:data:`REWRITE_WHY`).

Instances: our replacement methods update the dispatchers they run on as
the originals do (``overloads``, ``_cache``); the only attribute of ours on a
dispatcher is ``_lcs`` (a ``__slots__`` record, :class:`state.KernelState`).
"""

import threading

from . import compile as _compile
from . import constants as _constants
from . import manifest as _manifest
from . import routing as _routing
from ...patching import PatchSet


class PatchRecord:
    __slots__ = ("owner", "name", "factory", "why", "adds")

    def __init__(self, owner, name, factory, why, adds=False):
        self.owner = owner  # a name in manifest.NAMES
        self.name = name
        self.factory = factory  # original -> replacement
        self.why = why
        self.adds = adds  # a new attribute (ours) rather than a replacement


PATCHES = (
    PatchRecord(
        "MLIRDispatcher", "configure", _routing.make_configure,
        "kernel[...] returns our LaunchConfiguration (marking API, args, routing "
        "to the specialization of the launch's key); numba-cuda-mlir's "
        "configured launcher still launches",
    ),
    PatchRecord(
        "MLIRDispatcher", "_compile_impl", _compile.make_compile_impl,
        "open a compile frame for the launch in progress; results that depend "
        "on the launch go to the specialization of their key, never to the "
        "kernel's own native launcher",
    ),
    PatchRecord(
        "MLIRDispatcher", "_compile_public", _compile.make_compile_public,
        "eager compiles have no launch configuration (frame with none), except "
        "inside compiling_for(), which compile_ptx uses",
    ),
    PatchRecord(
        "MLIRDispatcher", "_compile_device_callee", _compile.make_compile_device_callee,
        "device functions that read the launch get one variant per launch key",
    ),
    PatchRecord(
        "MLIRDispatcher", "_compile_as_device_callee",
        _compile.make_compile_as_device_callee,
        "the kernel-side entry of such a device function follows its variant",
    ),
    PatchRecord(
        "MLIRDispatcher", "enable_caching", _compile.make_enable_caching,
        "disk cache keyed per launch key for LC-S specializations, .lcs marker; "
        "plain entries keep numba-cuda-mlir's keys",
    ),
    PatchRecord(
        "MLIRDispatcher", "_recompile_impl", _compile.make_recompile_impl,
        "recompile() also drops specializations and configured launches (they "
        "hold launchers of the replaced native dispatcher)",
    ),
    PatchRecord(
        "MLIRDispatcher", "_lcs", lambda original: None,
        "per-kernel record (None until a kernel is first configured)",
        adds=True,
    ),
)

REWRITE_WHY = (
    "adds rewrite_registry.before-inference (vendored numba): "
    "LaunchConstantRewrite, constants for numba_cuda_lcs.launch"
)

_installed = None
_lock = threading.Lock()


def is_installed():
    return _installed is not None


def install():
    """Apply every patch.  Returns False if already installed."""
    global _installed
    with _lock:
        if _installed is not None:
            return False
        names = _manifest.load()
        patches = PatchSet()
        rewrites = names.rewrite_registry.rewrites["before-inference"]
        rewrite = _constants.rewrite_class()
        try:
            for record in PATCHES:
                owner = getattr(names, record.owner)
                if record.adds:
                    patches.add(owner, record.name, record.factory(None), record.why)
                else:
                    original = getattr(owner, record.name)
                    patches.replace(owner, record.name, record.factory(original), record.why)
            if rewrite not in rewrites:
                rewrites.insert(0, rewrite)
        except BaseException:
            patches.undo()
            raise
        _installed = patches
        return True


def uninstall():
    """Undo :func:`install`.  Returns False if it was not installed."""
    global _installed
    with _lock:
        if _installed is None:
            return False
        _installed.undo()
        _installed = None
        rewrites = _manifest.NAMES.rewrite_registry.rewrites["before-inference"]
        rewrite = _constants.rewrite_class()
        while rewrite in rewrites:
            rewrites.remove(rewrite)
        return True


def installed_patches():
    if _installed is None:
        return []
    return [p.describe() for p in _installed] + [REWRITE_WHY]
