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


# ---------------------------------------------------------------------------
# The import graph: no circle, core below backends and activation, the
# start-up hook a leaf.  Every import counts, at module level or inside a
# function (an import dodged into a function is still a circle).
# ---------------------------------------------------------------------------

HOOK = PACKAGE.parent / "_numba_cuda_lcs_autoload.py"
HOOK_MODULE = "_numba_cuda_lcs_autoload"
# The layer above the core: it activates the package and may import anything.
TOP = {
    "numba_cuda_lcs",
    "numba_cuda_lcs.__main__",
    "numba_cuda_lcs.activation",
    "numba_cuda_lcs.demo",
}


def module_name(path):
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_relative(importer, node):
    package = importer.split(".")
    is_package = (PACKAGE.parent / importer.replace(".", "/") / "__init__.py").exists()
    base = package if is_package else package[:-1]
    if node.level > 1:
        base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def our_imports(path):
    """The package modules (and the hook) *path* imports, anywhere in it."""
    importer = HOOK_MODULE if path == HOOK else module_name(path)
    known = {module_name(p) for p in modules()} | {HOOK_MODULE}
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _resolve_relative(importer, node) if node.level else node.module or ""
            # from . import keys -> the submodule (an extension module when
            # not a .py file: not ours to check); from .keys import x -> .keys
            if node.module is None:
                names = [f"{base}.{a.name}" for a in node.names]
            else:
                names = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names
                ]
        else:
            continue
        found.update(name for name in names if name in known and name != importer)
    return found


def import_graph():
    return {
        (HOOK_MODULE if p == HOOK else module_name(p)): our_imports(p) for p in [*modules(), HOOK]
    }


def test_the_import_graph_has_no_circle():
    graph = import_graph()
    done, on_path = set(), []

    def visit(name):
        if name in on_path:
            circle = on_path[on_path.index(name) :] + [name]
            pytest.fail("import circle: " + " -> ".join(circle))
        if name in done:
            return
        on_path.append(name)
        for target in sorted(graph.get(name, ())):
            visit(target)
        on_path.pop()
        done.add(name)

    for name in sorted(graph):
        visit(name)


def test_the_start_up_hook_is_a_leaf():
    assert import_graph()[HOOK_MODULE] == set()


@pytest.mark.parametrize(
    "path",
    [p for p in modules() if "backends" not in p.parts and module_name(p) not in TOP],
    ids=rel,
)
def test_core_never_imports_backends_activation_or_the_hook(path):
    above = {
        name
        for name in our_imports(path)
        if name.startswith("numba_cuda_lcs.backends") or name in TOP or name == HOOK_MODULE
    }
    assert not above, f"{rel(path)} (core) imports {sorted(above)}"


@pytest.mark.parametrize("path", [p for p in modules() if "backends" in p.parts], ids=rel)
def test_backends_never_import_activation_or_the_hook(path):
    above = {name for name in our_imports(path) if name in TOP or name == HOOK_MODULE}
    assert not above, f"{rel(path)} imports {sorted(above)}"


def test_the_graph_sees_function_level_imports(tmp_path):
    # The checks above would pass vacuously if imports inside functions were
    # missed: the activation layer imports backends only by name, but it
    # does import the registry and the hook.
    graph = import_graph()
    assert "numba_cuda_lcs.registry" in graph["numba_cuda_lcs.activation"]
    assert HOOK_MODULE in graph["numba_cuda_lcs.activation"]
    assert "numba_cuda_lcs.registry" in graph["numba_cuda_lcs.inspection"]
