"""Activation, the integration seam and undoing it (no GPU needed).

Activating binds the launch sites to the twin in effect (``configure_sites``
hands the C sites the Python twin's fast path while it is bound), and a
process activating at start-up binds the twin its environment selects: those
tests request ``twins`` (their children run the twin under test).  The rest
does not touch the C speedups: once.
"""

import os
import subprocess
import sys
from importlib import metadata

import pytest
from support.processes import run_python

import numba_cuda_lcs
from numba_cuda_lcs.backends import numba_cuda as backend
from numba_cuda_lcs.backends.numba_cuda import configured_launch, manifest, patches
from numba_cuda_lcs.backends.numba_cuda.constants import LaunchConstantRewrite

OURS = "numba_cuda_lcs.backends.numba_cuda.configured_launch"


def _what(value):
    if callable(value) and hasattr(value, "__qualname__"):
        return (value.__module__, value.__qualname__)
    return value


def _snapshot():
    from numba.cuda.core.rewrites import rewrite_registry

    # Replacements built by a factory are new objects on each install: compare
    # them by what they are.
    snapshot = {
        (id(spec.owner), spec.name): _what(vars(spec.owner).get(spec.name, "<missing>"))
        for spec in patches.PATCHES
    }
    snapshot["before-inference rewrites"] = tuple(rewrite_registry.rewrites["before-inference"])
    return snapshot


@pytest.fixture
def deactivated():
    numba_cuda_lcs.deactivate()
    try:
        yield
    finally:
        numba_cuda_lcs.activate()


def test_package_is_active_after_import():
    assert numba_cuda_lcs.is_active()
    from numba.cuda import dispatcher

    assert dispatcher._LaunchConfiguration is configured_launch.LaunchConfiguration
    assert dispatcher.CUDADispatcher.call is configured_launch.call


def test_every_patch_is_declared_once_and_described():
    described = backend.installed_patches()
    assert len(described) == len(patches.PATCHES) + 1  # + the rewrite
    names = [(id(spec.owner), spec.name) for spec in patches.PATCHES]
    assert len(set(names)) == len(names)
    for spec in patches.PATCHES:
        assert any(f".{spec.name}: {spec.why}" in line for line in described), spec.name
    assert any("LaunchConstantRewrite" in line for line in described)


def test_uninstall_restores_numba_cuda_exactly(twins):
    from numba.cuda import dispatcher

    active = _snapshot()
    numba_cuda_lcs.deactivate()
    try:
        stock = _snapshot()
        assert not numba_cuda_lcs.is_active()
        assert dispatcher._LaunchConfiguration is manifest.NAMES.StockLaunchConfiguration
        # What activation added to numba-cuda's classes (our records) is gone.
        added = [(id(spec.owner), spec.name) for spec in patches.PATCHES if spec.adds]
        assert added and all(stock[name] == "<missing>" for name in added)
        assert LaunchConstantRewrite not in stock["before-inference rewrites"]
        assert stock != active
        # Deactivating twice is harmless.
        assert numba_cuda_lcs.deactivate() is False
    finally:
        numba_cuda_lcs.activate()
    assert _snapshot() == active
    # Activating twice is harmless too.
    assert patches.install() is False


def test_stock_launch_configuration_while_deactivated(deactivated):
    from numba import cuda
    from numba.cuda import dispatcher

    @cuda.jit
    def kernel(x):
        x[0] = 1

    configured = kernel[1, 32]
    assert type(configured) is dispatcher._LaunchConfiguration
    assert not hasattr(configured, "mark_kernel_as_launch_config_sensitive")


def test_configured_launch_is_ours_and_exposes_the_api():
    from numba import cuda

    @cuda.jit
    def kernel(x):
        x[0] = 1

    configured = kernel[(2, 3), 64]
    assert isinstance(configured, configured_launch.LaunchConfiguration)
    assert configured.dispatcher is kernel
    assert configured.griddim == (2, 3, 1) and configured.blockdim == (64, 1, 1)
    assert configured.sharedmem == 0
    assert configured.pre_launch_callbacks == []
    assert configured.args is None
    assert kernel[(2, 3), 64] is configured  # cached like numba-cuda's
    assert kernel.configure((2, 3), 64) is configured
    with_stream = kernel[1, 32, 0, 128]
    assert with_stream.sharedmem == 128
    assert configured.get_kernel_launch_config_sensitive() is None
    assert configured.is_kernel_launch_config_sensitive() is False


def test_version_check():
    manifest.check_version("0.30.4")
    manifest.check_version("0.30.10rc1")
    for bad in ("0.29.0", "0.31.0", "1.0.0"):
        with pytest.raises(numba_cuda_lcs.UnsupportedNumbaCudaError) as info:
            manifest.check_version(bad)
        assert "numba-cuda>=0.30.4,<0.31" in str(info.value)
        assert "NUMBA_CUDA_LCS_DISABLE=1" in str(info.value)


def test_install_refuses_an_unsupported_numba_cuda(deactivated, monkeypatch):
    monkeypatch.setattr(sys.modules["numba_cuda"], "__version__", "0.31.0")
    with pytest.raises(numba_cuda_lcs.UnsupportedNumbaCudaError):
        patches.install()
    assert not patches.is_installed()


# What an activated child bound: its TLS and launcher implementations.
BOUND = (
    "from numba_cuda_lcs import launcher, tls\nprint(tls.IMPLEMENTATION, launcher.IMPLEMENTATION)\n"
)


def _run(code, **env):
    return run_python("-c", code, env=env).stdout.strip()


def test_disable_environment_variable_leaves_numba_cuda_untouched():
    code = (
        "import numba_cuda_lcs\n"
        "from numba.cuda import dispatcher\n"
        "print(numba_cuda_lcs.is_active(), dispatcher._LaunchConfiguration.__module__)"
    )
    assert _run(code, NUMBA_CUDA_LCS_DISABLE="1") == "False numba.cuda.dispatcher"
    assert _run(code, NUMBA_CUDA_LCS_DISABLE="0") == f"True {OURS}"
    assert _run(code, NUMBA_CUDA_LCS_DISABLE="").startswith("True")


def test_entry_point_is_registered():
    eps = metadata.entry_points(group="numba_cuda_extensions")
    found = [ep for ep in eps if ep.name == "init" and ep.value.startswith("numba_cuda_lcs")]
    assert found, "numba_cuda_extensions entry point 'init' is not installed"
    init = found[0].load()
    numba_cuda_lcs.deactivate()
    try:
        init()  # what numba-cuda calls: activates the package
        assert numba_cuda_lcs.is_active()
    finally:
        numba_cuda_lcs.activate()


def test_plain_numba_cuda_code_activates_through_the_entry_point(twins):
    # No import of numba_cuda_lcs: creating a kernel runs numba-cuda's
    # extension entry points, and kernels created before that are covered.
    code = (
        "import sys\n"
        "from numba import cuda\n"
        "@cuda.jit\n"
        "def before(x):\n"
        "    x[0] = 1\n"
        "from numba.cuda.core import entrypoints\n"
        "entrypoints.init_all()\n"
        "print('numba_cuda_lcs' in sys.modules, type(before[1, 32]).__module__)\n" + BOUND
    )
    assert _run(code).splitlines() == [f"True {OURS}", f"{twins} {twins}"]


def test_autoload_hook_activates_plain_programs_without_importing_numba_at_startup(twins):
    code = (
        "import sys\n"
        "import _numba_cuda_lcs_autoload as autoload\n"
        "autoload.install_hook()\n"
        "print('numba' in sys.modules, 'numba_cuda_lcs' in sys.modules)\n"
        "from numba import cuda\n"
        "@cuda.jit\n"
        "def k(x):\n"
        "    x[0] = 1\n"
        "print(type(k[1, 32]).__module__)\n" + BOUND
    )
    assert _run(code).splitlines() == ["False False", OURS, f"{twins} {twins}"]


def test_autoload_hook_respects_the_disable_variable():
    code = (
        "import _numba_cuda_lcs_autoload as autoload\n"
        "print(autoload.install_hook())\n"
        "from numba.cuda import dispatcher\n"
        "print(dispatcher._LaunchConfiguration.__module__)\n"
    )
    assert _run(code, NUMBA_CUDA_LCS_DISABLE="1").splitlines() == ["False", "numba.cuda.dispatcher"]


def test_explicit_import_does_not_trip_the_autoload_hook():
    code = (
        "import warnings\n"
        "warnings.simplefilter('error')\n"
        "import _numba_cuda_lcs_autoload as autoload\n"
        "autoload.install_hook()\n"
        "import numba_cuda_lcs\n"
        "print(numba_cuda_lcs.is_active())\n"
    )
    assert _run(code) == "True"


def test_wheel_installs_the_autoload_pth(tmp_path):
    import zipfile

    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    for isolation in (["--no-build-isolation"], []):  # offline first, then from PyPI
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "-q",
                "--no-deps",
                *isolation,
                "-w",
                str(tmp_path),
                root,
            ],
            capture_output=True,
            text=True,
            timeout=600,
        )
        if proc.returncode == 0:
            break
    if proc.returncode != 0:
        pytest.skip(f"cannot build a wheel here: {proc.stderr[-300:]}")
    (wheel,) = tmp_path.glob("numba_cuda_lcs-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "numba_cuda_lcs-autoload.pth" in names
    assert "_numba_cuda_lcs_autoload.py" in names
    pth = zipfile.ZipFile(wheel).read("numba_cuda_lcs-autoload.pth").decode()
    assert pth == open(os.path.join(root, "numba_cuda_lcs-autoload.pth")).read()


PTH_SOURCE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "numba_cuda_lcs-autoload.pth",
)


@pytest.mark.parametrize("module_there", [True, False])
def test_the_autoload_pth_installs_the_hook_and_is_silent_once_the_module_is_gone(
    tmp_path, module_there
):
    # A site directory holding the .pth (as an install leaves it), with the
    # module beside it or -- an editable install whose checkout was removed
    # -- without: then every interpreter start must stay silent.
    import shutil

    shutil.copy(PTH_SOURCE, tmp_path)
    if module_there:
        shutil.copy(
            os.path.join(os.path.dirname(PTH_SOURCE), "_numba_cuda_lcs_autoload.py"), tmp_path
        )
    code = (
        "import site, sys\n"
        f"site.addsitedir({str(tmp_path)!r})\n"
        "print('_numba_cuda_lcs_autoload' in sys.modules)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-I", "-S", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0 and proc.stderr == ""
    assert proc.stdout.strip() == str(module_there)
