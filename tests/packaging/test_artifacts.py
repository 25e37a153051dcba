"""The built artifacts: sdist -> wheel from the sdist, what each carries, and
that a wheel, an sdist and an editable install each activate the package at
start-up (``from numba import cuda`` alone).

Slow (builds and installs): runs when NUMBA_CUDA_LCS_ARTIFACT_TESTS=1, as
``.ci/run`` sets.  The fresh virtual environments get their dependencies from
this one, so nothing but the build backend is downloaded.
"""

import os
import subprocess
import sys
import sysconfig
import tarfile
import zipfile

import pytest

pytestmark = pytest.mark.skipif(
    os.environ.get("NUMBA_CUDA_LCS_ARTIFACT_TESTS") != "1",
    reason="builds and installs the package (slow): set NUMBA_CUDA_LCS_ARTIFACT_TESTS=1",
)

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # the checkout
PTH = "numba_cuda_lcs-autoload.pth"
ACTIVATES = (
    "import sys\n"
    "from numba import cuda\n"
    "assert 'numba_cuda_lcs' in sys.modules, 'not activated at start-up'\n"
    "import numba_cuda_lcs\n"
    "assert numba_cuda_lcs.is_active(), numba_cuda_lcs.inactive_reason()\n"
    "print(numba_cuda_lcs.__file__)\n"
)


def run(*cmd, cwd=None):
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900, cwd=cwd)
    assert proc.returncode == 0, f"{cmd}\n{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    """sdist, then a wheel built from that sdist (python -m build)."""
    out = tmp_path_factory.mktemp("dist")
    run(sys.executable, "-m", "build", "--outdir", str(out), ROOT)
    (sdist,) = out.glob("numba_cuda_lcs-*.tar.gz")
    (wheel,) = out.glob("numba_cuda_lcs-*.whl")
    return sdist, wheel


def fresh_venv(path):
    run(sys.executable, "-m", "venv", str(path))
    return str(path / "bin" / "python")


def link_dependencies(python):
    """Let the venv find this environment's packages (numba-cuda, ...).  Done
    after installing numba-cuda-lcs, so that the build of an sdist or an
    editable install does not see this environment's setuptools."""
    site = run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").strip()
    ours = sysconfig.get_paths()["purelib"]
    with open(os.path.join(site, "zz_numba_cuda_lcs_test_deps.pth"), "w") as f:
        f.write(f"import site; site.addsitedir({ours!r})\n")


def test_sdist_carries_what_its_wheel_and_tests_need(artifacts):
    sdist, _ = artifacts
    names = {n.split("/", 1)[1] for n in tarfile.open(sdist).getnames() if "/" in n}
    for needed in (
        PTH,
        "_numba_cuda_lcs_autoload.py",
        "LICENSE",
        "setup.py",
        "numba_cuda_lcs/_tls.c",
        "numba_cuda_lcs/_launcher_c/module.c",  # the C launcher's parts
        "numba_cuda_lcs/_launcher_c/sites.h",
        "numba_cuda_lcs/_launcher_c/arg_kinds.h",
        "tests/conftest.py",
        "tests/support/__init__.py",
        "tests/support/rewrites.py",
        "docs/launch-config.md",
    ):
        assert needed in names, needed


def test_wheel_has_the_hook_and_no_c_source(artifacts):
    _, wheel = artifacts
    names = zipfile.ZipFile(wheel).namelist()
    assert PTH in names and "_numba_cuda_lcs_autoload.py" in names
    assert "numba_cuda_lcs/py.typed" in names and "numba_cuda_lcs/_tls.pyi" in names
    assert not [n for n in names if n.endswith(".c")]
    # the argument kinds, which the pure-Python launcher reads at import
    assert "numba_cuda_lcs/_launcher_c/arg_kinds.h" in names
    assert any(n.startswith("numba_cuda_lcs/_tls.") and n.endswith(".so") for n in names)
    (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
    text = zipfile.ZipFile(wheel).read(metadata).decode()
    assert "License-Expression: BSD-2-Clause" in text
    assert "Provides-Extra: cu13" in text and "Provides-Extra: mlir" in text


@pytest.mark.parametrize("what", ["wheel", "sdist"])
def test_installed_artifact_activates_at_startup(artifacts, tmp_path, what):
    sdist, wheel = artifacts
    python = fresh_venv(tmp_path / "venv")
    run(python, "-m", "pip", "install", "-q", "--no-deps", str(wheel if what == "wheel" else sdist))
    link_dependencies(python)
    location = run(python, "-c", ACTIVATES, cwd=str(tmp_path)).strip()
    assert location.startswith(str(tmp_path / "venv")), location


def test_editable_install_activates_at_startup(tmp_path):
    python = fresh_venv(tmp_path / "venv")
    run(python, "-m", "pip", "install", "-q", "--no-deps", "-e", ROOT)
    link_dependencies(python)
    location = run(python, "-c", ACTIVATES, cwd=str(tmp_path)).strip()
    assert location == os.path.join(ROOT, "numba_cuda_lcs", "__init__.py")
    info = run(python, "-m", "numba_cuda_lcs", "info", cwd=str(tmp_path))
    assert "start-up hook: installed (" + str(tmp_path / "venv") in info
