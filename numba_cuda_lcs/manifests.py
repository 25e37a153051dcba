"""Manifests: how a backend lists every compiler internal it uses (compiler-neutral).

Each backend's ``manifest.py`` declares a table of :class:`Internal` entries
(module, attribute, the name the backend uses, why) and of
:class:`InstanceAttribute` entries (attributes of the compiler's objects that
exist only on instances, so no import can check them), and calls
:func:`load` when the backend is imported -- at activation, after the
compiler's trigger module.  :func:`load` checks the compiler's version
first, then imports every entry, and refuses a compiler whose layout changed
with one :class:`~numba_cuda_lcs.errors.UnsupportedCompilerError` naming
every missing name and the fix; so an upgrade fails at activation, not
halfway through a launch.  ``python -m numba_cuda_lcs info`` prints
:func:`describe` of each active backend.
"""

import dataclasses
import importlib
import importlib.util
import types

from ._version import __version__ as LCS_VERSION
from .errors import UnsupportedCompilerError


@dataclasses.dataclass(frozen=True)
class Internal:
    """A compiler name a backend imports or patches.

    ``attribute`` may be dotted (``"CUDADispatcher.call"``: a method it
    replaces or calls) or None (the module itself).  ``local`` is the name
    under which the backend reads it (None: checked and described only).
    ``public`` is True for the compiler's documented API.  ``deferred``
    entries live in a module that cannot be imported while the compiler
    itself is still importing (activation runs then): loading checks that
    the module exists, and the name is resolved on first use."""

    module: str
    attribute: str | None
    local: str | None
    why: str
    public: bool = False
    deferred: bool = False

    @property
    def qualified_name(self):
        return self.module if self.attribute is None else f"{self.module}.{self.attribute}"

    def resolve(self):
        """The object, or AttributeError/ImportError."""
        found = importlib.import_module(self.module)
        for part in (self.attribute or "").split(".") if self.attribute else ():
            found = getattr(found, part)
        return found


@dataclasses.dataclass(frozen=True)
class InstanceAttribute:
    """An attribute of a compiler object that only its instances have."""

    owner: str  # the class, as users know it
    attribute: str
    why: str


@dataclasses.dataclass(frozen=True)
class CompilerRelease:
    """Which releases of a compiler a backend supports."""

    compiler: str  # the name users know
    distribution: str  # what pip installs; its __version__ module
    version_module: str  # the module whose __version__ is the release
    series: tuple[int, int]  # (major, minor) supported
    requirement: str  # what to install, for the error

    def fix(self):
        return (
            f"Install '{self.requirement}', or set NUMBA_CUDA_LCS_DISABLE=1 to "
            f"leave {self.compiler} untouched."
        )

    def installed_version(self):
        return str(importlib.import_module(self.version_module).__version__)

    def check(self, version=None):
        """Raise :class:`UnsupportedCompilerError` unless *version* (default:
        the installed one) is a supported release."""
        version = self.installed_version() if version is None else version
        if parse_version(version)[:2] != self.series:
            major, minor = self.series
            raise UnsupportedCompilerError(
                f"numba-cuda-lcs {LCS_VERSION} supports {self.compiler} "
                f"{major}.{minor}.x, but {self.compiler} {version} is installed. "
                f"{self.fix()}"
            )


def parse_version(text):
    """``"0.30.4rc1"`` -> ``(0, 30, 4)``."""
    parts = []
    for piece in str(text).split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        if not digits:
            break
        parts.append(int(digits))
    return tuple(parts)


def load(release, table):
    """Check *release*'s version, then resolve every :class:`Internal` of
    *table*; a namespace of the ``local`` names."""
    release.check()
    found_names = {}
    deferred = {}
    missing = []
    for entry in table:
        if not isinstance(entry, Internal):
            continue
        if entry.deferred:
            if importlib.util.find_spec(entry.module) is None:
                missing.append(entry.qualified_name)
            elif entry.local is not None:
                deferred[entry.local] = entry
            continue
        try:
            found = entry.resolve()
        except (ImportError, AttributeError):
            missing.append(entry.qualified_name)
            continue
        if entry.local is not None:
            found_names[entry.local] = found
    if missing:
        raise UnsupportedCompilerError(_missing_text(release, missing))
    return Names(release, deferred, **found_names)


def _missing_text(release, missing):
    return (
        f"numba-cuda-lcs {LCS_VERSION} cannot use this {release.compiler} "
        f"{release.installed_version()}: missing {', '.join(missing)}. {release.fix()}"
    )


class Names(types.SimpleNamespace):
    """A manifest's names; deferred entries resolve on first use."""

    def __init__(self, release, deferred, **found):
        super().__init__(**found)
        self.__dict__["_deferred"] = (release, deferred)

    def __getattr__(self, name):
        found = self.__dict__.get("_deferred")
        if found is None:  # a copy, or not initialized: only plain names
            raise AttributeError(name)
        release, deferred = found
        entry = deferred.get(name)
        if entry is None:
            raise AttributeError(name)
        try:
            found = entry.resolve()
        except (ImportError, AttributeError):
            raise UnsupportedCompilerError(_missing_text(release, [entry.qualified_name])) from None
        self.__dict__[name] = found
        return found


def describe(table):
    """One line per entry: ``name (private): why``."""
    lines = []
    for entry in table:
        if isinstance(entry, Internal):
            tag = "" if entry.public else " (private)"
            lines.append(f"{entry.qualified_name}{tag}: {entry.why}")
        else:
            lines.append(f"{entry.owner}.{entry.attribute} (instance attribute): {entry.why}")
    return lines
