"""Where the tests reach numba-cuda-lcs's private names (not a test).

    python tests/support/private_reaches.py [--list] [PATH ...]

prints the count (and with ``--list`` each place) of, in the test files:

* imports of a private module or name of the package
  (``from numba_cuda_lcs import _toolkit``, ``import numba_cuda_lcs._tls``);
* attributes ``x._name`` where ``x`` is a name bound by an import from the
  package, or assigned from one (``launcher._site_settings``,
  ``lcs_compile._obtain_kernel``, ``twin._FROM_PY`` after ``twin =
  launcher.IMPLEMENTATIONS["python"]``), and the same reached by a string
  (``setattr(argplan, "_ptds", ...)``);
* the package's private attributes on the compiler's objects (``._lcs*``:
  ``kernel._lcs``, ``launch._lcs_keys``), also as a string (``"_lcs"``);
* private names of the package in source strings run by child processes
  (``"from numba_cuda_lcs import _tls"``).

Dunder names are public; the compilers' own private names
(``kernel._launch_config_specializations``) are not the package's and are
not counted.
"""

import ast
import pathlib
import re
import sys

PACKAGE = "numba_cuda_lcs"
TESTS = pathlib.Path(__file__).resolve().parents[1]
IN_SOURCE = re.compile(
    rf"\b{PACKAGE}(?:\.\w+)*\._[a-z]\w*|from {PACKAGE}[\w.]* import [^\n]*\b_[a-z]\w*"
    r"|\._lcs\w*|(?<=[\"'])_lcs\w*(?=[\"'])"
)
OWN_ATTRIBUTE = re.compile(r"_lcs(_\w+)?$")


def private(name):
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _root(node):
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _unsubscript(node):
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node


def reaches(path):
    """[(line, what)] for one file."""
    tree = ast.parse(path.read_text(), str(path))
    found, bound = [], set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                parts = alias.name.split(".")
                if parts[0] == PACKAGE:
                    bound.add(alias.asname or parts[0])
                    if any(private(p) for p in parts):
                        found.append((node.lineno, f"import {alias.name}"))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            parts = node.module.split(".")
            if parts[0] != PACKAGE:
                continue
            for alias in node.names:
                bound.add(alias.asname or alias.name)
                if any(private(p) for p in parts) or private(alias.name):
                    found.append((node.lineno, f"from {node.module} import {alias.name}"))
    for node in ast.walk(tree):  # twin = launcher.IMPLEMENTATIONS["python"]
        if isinstance(node, ast.Assign) and _root(_unsubscript(node.value)) in bound:
            bound.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and private(node.attr):
            if _root(node.value) in bound or OWN_ATTRIBUTE.match(node.attr):
                found.append((node.lineno, ast.unparse(node)))
        elif isinstance(node, ast.Call) and len(node.args) >= 2:
            target, name = node.args[0], node.args[1]
            if (
                isinstance(name, ast.Constant)
                and isinstance(name.value, str)
                and private(name.value)
                and _root(target) in bound
            ):
                found.append((node.lineno, f"{ast.unparse(node.func)}(..., {name.value!r})"))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if OWN_ATTRIBUTE.match(node.value):
                found.append((node.lineno, repr(node.value)))
                continue
            for match in IN_SOURCE.finditer(node.value):
                found.append((node.lineno, f"in a string: {match.group(0)!r}"))
    return sorted(found)


def main(argv):
    listing = "--list" in argv
    paths = [pathlib.Path(a) for a in argv if a != "--list"] or sorted(TESTS.rglob("*.py"))
    total = 0
    for path in paths:
        if path.resolve() == pathlib.Path(__file__).resolve():
            continue  # its docstring names what it counts
        found = reaches(path)
        total += len(found)
        if listing:
            for line, what in found:
                print(f"{path}:{line}: {what}")
    print(f"{total} private reaches")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
