"""The backend contract, checked against both backends.

Each backend module must satisfy :class:`numba_cuda_lcs.contract.Backend`
(names and signatures), describe exactly the manifest it loads, refuse other
compiler versions with the fix named, and behave the same through the public
API (``numba_cuda_lcs.inspection``, ``activate``/``deactivate``).  The
numba-cuda-mlir half needs numba-cuda-mlir (the ``mlir`` extra, Python >=
3.11); the GPU half launches the same LC-S kernel source on both compilers
and checks the one limit rule of ``numba_cuda_lcs.specializations``.
"""

import importlib
import inspect
import warnings

import numpy as np
import pytest

import _numba_cuda_lcs_autoload as hook
import numba_cuda_lcs
from numba_cuda_lcs import activation, contract, inspection, launch, manifests
from numba_cuda_lcs.errors import UnsupportedCompilerError

COMPILERS = {
    "numba-cuda": ("numba.cuda", "numba_cuda_lcs.backends.numba_cuda"),
    "numba-cuda-mlir": ("numba_cuda_mlir.cuda", "numba_cuda_lcs.backends.numba_cuda_mlir"),
}


@pytest.fixture(params=sorted(COMPILERS))
def compiler(request):
    """(compiler name, its ``cuda`` module, our backend module)."""
    name = request.param
    cuda_module, backend_module = COMPILERS[name]
    if name == "numba-cuda-mlir":
        pytest.importorskip("numba_cuda_mlir", reason="needs numba-cuda-mlir (the mlir extra)")
    cuda = importlib.import_module(cuda_module)
    return name, cuda, importlib.import_module(backend_module)


def stamp_block(out):
    """No compiler-specific names: the same source on both compilers."""
    out[0] = launch.threads_per_block()


def plain(out):
    out[0] = 1


# ---------------------------------------------------------------------------
# Shape: names, signatures, manifest, versions
# ---------------------------------------------------------------------------


def test_every_supported_compiler_has_a_trigger_and_a_backend():
    assert {entry.compiler for entry in activation.SUPPORTED} == set(hook.TRIGGERS)
    assert {entry.compiler for entry in activation.SUPPORTED} == set(COMPILERS)
    for entry in activation.SUPPORTED:
        assert entry.package == COMPILERS[entry.compiler][1]


def test_backend_satisfies_the_contract(compiler):
    name, _cuda, backend = compiler
    assert isinstance(backend, contract.Backend)
    assert backend.COMPILER == name
    for method, expected in inspect.getmembers(contract.Backend, inspect.isfunction):
        if method.startswith("_"):
            continue
        wanted = [p for p in inspect.signature(expected).parameters if p != "self"]
        got = list(inspect.signature(getattr(backend, method)).parameters)
        assert got == wanted, f"{name}: {method}{tuple(got)} differs from the contract"


def test_manifest_describes_exactly_what_it_loads(compiler):
    name, _cuda, backend = compiler
    manifest = importlib.import_module(f"{backend.__name__}.manifest")
    assert backend.describe_internals() == manifests.describe(manifest.TABLE)
    internals = [e for e in manifest.TABLE if isinstance(e, manifests.Internal)]
    assert internals, name
    for entry in internals:
        entry.resolve()  # still there (patched ones resolve to our replacement)
        if entry.local is not None:
            assert hasattr(manifest.NAMES, entry.local), entry


def test_other_versions_are_refused_naming_the_fix(compiler):
    name, _cuda, backend = compiler
    manifest = importlib.import_module(f"{backend.__name__}.manifest")
    major, minor = manifest.RELEASE.series
    backend.check_version(f"{major}.{minor}.0")
    backend.check_version(f"{major}.{minor}.17rc1")
    for bad in (f"{major}.{minor + 1}.0", f"{major}.{minor - 1}.9", f"{major + 1}.0.0"):
        with pytest.raises(UnsupportedCompilerError) as info:
            backend.check_version(bad)
        text = str(info.value)
        assert name in text and bad in text
        assert manifest.RELEASE.requirement in text and "NUMBA_CUDA_LCS_DISABLE=1" in text


def test_a_missing_internal_is_refused_naming_every_one():
    release = manifests.CompilerRelease(
        "numba-cuda", "numba-cuda", "numba_cuda", (0, 30), "numba-cuda>=0.30.4,<0.31"
    )
    table = (
        manifests.Internal("numba.cuda.dispatcher", "CUDADispatcher", "D", "exists"),
        manifests.Internal("numba.cuda.dispatcher", "NoSuchThing", "x", "gone"),
        manifests.Internal("numba.cuda.no_such_module", None, "y", "gone too"),
    )
    with pytest.raises(UnsupportedCompilerError) as info:
        manifests.load(release, table)
    text = str(info.value)
    assert "numba.cuda.dispatcher.NoSuchThing" in text
    assert "numba.cuda.no_such_module" in text
    assert "CUDADispatcher" not in text.split("missing", 1)[1]


# ---------------------------------------------------------------------------
# Behaviour through the public API (no GPU needed: nothing is launched)
# ---------------------------------------------------------------------------


def test_a_fresh_kernel_reports_nothing_compiled(compiler):
    _name, cuda, _backend = compiler
    kernel = cuda.jit(stamp_block)
    assert inspection.specializations(kernel) == []
    counts = inspection.compile_counters(kernel)
    assert counts == {
        "compiles": 0,
        "cache_loads": 0,
        "specializations": 1,
        "evictions": 0,
        "max_specializations": 32,
        "fields": counts["fields"],
    }
    assert "0 compiled" in inspection.format_specializations(kernel)


def test_the_limit_is_set_checked_and_reset_alike(compiler, monkeypatch):
    _name, cuda, _backend = compiler
    kernel = cuda.jit(stamp_block)
    numba_cuda_lcs.set_max_specializations(kernel, 3)
    assert inspection.compile_counters(kernel)["max_specializations"] == 3
    for bad in (0, -1, True, 2.5, "4"):
        with pytest.raises(ValueError, match="positive int"):
            numba_cuda_lcs.set_max_specializations(kernel, bad)
    assert inspection.compile_counters(kernel)["max_specializations"] == 3
    numba_cuda_lcs.set_max_specializations(kernel, None)
    monkeypatch.setenv("NUMBA_CUDA_LCS_MAX_SPECIALIZATIONS", "5")
    assert inspection.compile_counters(kernel)["max_specializations"] == 5


def test_inspection_names_the_fix_while_deactivated(compiler):
    name, cuda, backend = compiler
    kernel = cuda.jit(plain)
    assert numba_cuda_lcs.deactivate()
    try:
        assert not backend.is_installed()
        assert name not in numba_cuda_lcs.active_compilers()
        with pytest.raises(RuntimeError, match=r"numba_cuda_lcs\.activate\(\)"):
            inspection.compile_counters(kernel)
    finally:
        assert numba_cuda_lcs.activate()
    assert backend.is_installed() and name in numba_cuda_lcs.active_compilers()
    assert inspection.compile_counters(kernel)["compiles"] == 0


def test_inspection_refuses_what_no_backend_owns():
    with pytest.raises(TypeError, match="expected a kernel of a supported compiler"):
        inspection.compile_counters(stamp_block)


def test_installed_patches_say_what_and_why(compiler):
    _name, _cuda, backend = compiler
    lines = backend.installed_patches()
    assert lines and all(": " in line for line in lines)


# ---------------------------------------------------------------------------
# On a GPU: the same LC-S kernel source, the same limit rule
# ---------------------------------------------------------------------------


@pytest.mark.gpu
def test_one_limit_rule_on_both_compilers(compiler):
    """Limit 3, five block sizes: three specializations hold code compiled
    for a launch key on either compiler (numba-cuda's kernel serves its
    first configuration itself; numba-cuda-mlir's kernel stays plain), so
    two are evicted, with one warning pointing at this file; every launch
    ran code compiled for its own block."""
    name, cuda, _backend = compiler
    if not cuda.is_available():
        pytest.skip(f"needs a CUDA GPU ({name})")
    kernel = cuda.jit(stamp_block)
    numba_cuda_lcs.set_max_specializations(kernel, 3)
    out = cuda.to_device(np.zeros(1, np.int64))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for block in (32, 64, 96, 128, 160):
            kernel[1, block](out)
            assert out.copy_to_host()[0] == block
    counts = inspection.compile_counters(kernel)
    assert counts["evictions"] == 2 and counts["fields"] == ("blockdim",)
    keyed = {r["key"]["blockdim"] for r in inspection.specializations(kernel) if r["key"]}
    # Three live keys, the two most recent among them (numba-cuda's kernel
    # keeps serving its first block, 32, itself; numba-cuda-mlir keeps 96).
    assert len(keyed) == 3 and {(128, 1, 1), (160, 1, 1)} <= keyed
    found = [w for w in caught if "live specializations" in str(w.message)]
    assert len(found) == 1 and found[0].filename == __file__
