"""The package's layering, checked on its source (AST), no GPU needed:

- core modules (everything outside ``numba_cuda_lcs/backends/``) import no
  compiler's private modules;
- inside a backend, only ``manifest.py`` imports its compiler, so every
  internal the backend reads is listed there;
- only a backend's ``patches.py`` assigns onto compiler modules or classes
  (no ``setattr``/``delattr``, no ``PatchSet`` anywhere else).
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[2] / "numba_cuda_lcs"
COMPILERS = ("numba", "numba_cuda", "numba_cuda_mlir")
# Public API a core module may use: the demo writes a rewrite as users do
# (numba-cuda documents Rewrite/register_rewrite and the IR for that).
PUBLIC = {
    "numba",
    "numba.cuda",
    "numba.cuda.types",
    "numba.cuda.core.ir",
    "numba.cuda.core.rewrites",
    "numba_cuda_mlir",
    "numba_cuda_mlir.cuda",
}


def modules():
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def imported(tree):
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # from numba.cuda.core import ir: the module imported is .ir
            submodules = [f"{node.module}.{alias.name}" for alias in node.names]
            if all(name in PUBLIC for name in submodules):
                yield from ((node, name) for name in submodules)
            else:
                yield node, node.module


def is_compiler(name):
    return name.split(".")[0] in COMPILERS


def rel(path):
    return path.relative_to(PACKAGE.parent).as_posix()


def test_the_package_has_core_and_backend_modules():
    names = {rel(p) for p in modules()}
    assert "numba_cuda_lcs/backends/numba_cuda/manifest.py" in names
    assert "numba_cuda_lcs/backends/numba_cuda/patches.py" in names
    assert "numba_cuda_lcs/launchconfig.py" in names


@pytest.mark.parametrize("path", [p for p in modules() if "backends" not in p.parts], ids=rel)
def test_core_modules_import_no_compiler_internals(path):
    tree = ast.parse(path.read_text(), str(path))
    private = [name for _node, name in imported(tree) if is_compiler(name) and name not in PUBLIC]
    assert not private, f"{rel(path)} imports compiler internals: {private}"


@pytest.mark.parametrize(
    "path", [p for p in modules() if "backends" in p.parts and p.name != "manifest.py"], ids=rel
)
def test_only_the_manifest_imports_the_compiler(path):
    tree = ast.parse(path.read_text(), str(path))
    found = [name for _node, name in imported(tree) if is_compiler(name)]
    assert not found, f"{rel(path)} imports {found}; read them through manifest.py"


def _module_aliases(tree):
    """Names bound to imported modules (``from . import manifest as nb``)."""
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            aliases.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name[:1].islower() and not alias.name.startswith("_"):
                    aliases.add(alias.asname or alias.name)
    return aliases


def _base_name(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


@pytest.mark.parametrize("path", [p for p in modules() if p.name != "patches.py"], ids=rel)
def test_only_patches_modules_assign_onto_compiler_objects(path):
    tree = ast.parse(path.read_text(), str(path))
    modules_here = _module_aliases(tree) - {"self"}
    offences = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and path.name != "patching.py"
        ):
            if node.func.id in ("setattr", "delattr"):
                offences.append(f"line {node.lineno}: {node.func.id}()")
        if isinstance(node, ast.Name) and node.id == "PatchSet" and path.name != "patching.py":
            offences.append(f"line {node.lineno}: PatchSet")
        targets = []
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            # An attribute of an imported module, or of a class found there:
            # nb.CUDADispatcher.call = ..., nb_dispatcher.x = ...
            if isinstance(target, ast.Attribute) and _base_name(target) in modules_here:
                offences.append(f"line {target.lineno}: {ast.unparse(target)} = ...")
    assert not offences, f"{rel(path)} assigns onto foreign objects: {offences}"
