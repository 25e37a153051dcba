"""numba-cuda-mlir backend, compile-only (no GPU): activation, launch
constants, hooks, routing per key, threads, disk cache, inspection.

Launches go through the backend's real routing and numba-cuda-mlir's real
compile path; only the native launch is faked (see support/mlir.py)."""

import os
import sys
import textwrap
import threading
import warnings

import numpy as np
import pytest

# numba-cuda-mlir needs Python >= 3.11 (the mlir extra): skip without it.
pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import cuda  # noqa: E402
from numba_cuda_mlir.numba_cuda import float32  # noqa: E402
from support.mlir import cc90, compiled_for_cubin, fake_launches, shared_bytes  # noqa: F401
from support.processes import run_python  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import inspection, keys, launch, launcher  # noqa: E402
from numba_cuda_lcs.backends import numba_cuda_mlir as backend  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda_mlir import manifest  # noqa: E402
from numba_cuda_lcs.errors import (  # noqa: E402
    LaunchConfigUnavailableError,
    UnsupportedCompilerError,
)
from numba_cuda_lcs.launchconfig import (  # noqa: E402
    compiling_for,
    current_launch_config,
    ensure_current_launch_config,
)

# (the package re-exports install(); the module is in sys.modules)
patches = sys.modules["numba_cuda_lcs.backends.numba_cuda_mlir.patches"]


def block_kernel():
    @cuda.jit
    def kernel(x):
        buf = cuda.shared.array(launch.threads_per_block(), float32)
        i = cuda.threadIdx.x
        buf[i] = x[i]
        cuda.syncthreads()
        x[i] = buf[launch.threads_per_block() - 1 - i]

    return kernel


def plain_kernel():
    @cuda.jit
    def kernel(x):
        x[cuda.threadIdx.x] = 1.0

    return kernel


X = np.zeros(1024, np.float32)
XI = np.zeros(1024, np.int64)


# ---------------------------------------------------------------- activation


def test_backend_is_installed_for_numba_cuda_mlir():
    assert "numba-cuda-mlir" in numba_cuda_lcs.active_compilers()
    assert backend.is_installed()
    lines = backend.installed_patches()
    assert any("numba_cuda_mlir.descriptor._ArgMarshaller" in line for line in lines)
    assert any("LaunchConstantRewrite" in line for line in lines)
    assert backend.COMPILER == "numba-cuda-mlir"


def test_uninstall_restores_every_attribute_and_install_again():
    names = manifest.NAMES
    specs = patches.PATCHES
    patched = {(s.owner, s.name): getattr(s.owner, s.name) for s in specs}
    rewrite = backend.constants.LaunchConstantRewrite
    assert backend.uninstall()
    try:
        assert names.descriptor._ArgMarshaller is names.ArgMarshaller
        for spec in specs:
            now = vars(spec.owner).get(spec.name)
            if spec.adds:
                assert spec.name not in vars(spec.owner)
            else:
                assert now is not patched[(spec.owner, spec.name)]
        assert rewrite not in names.rewrite_registry.rewrites["before-inference"]
        # launches stop reading numba-cuda-mlir's interface-sync setting
        from numba_cuda_lcs._launcher_py.state import STATE

        assert launcher.interface_sync_source() is None
        assert (STATE.interface_sync_source, STATE.memref_own_class) == (None, None)
        assert not backend.uninstall()
    finally:
        assert backend.install()
    assert names.rewrite_registry.rewrites["before-inference"][0] is rewrite
    assert launcher.interface_sync_source() is names.cuda_config
    assert not backend.install()


def test_launchers_configured_while_uninstalled_are_not_kept_after_reinstall(cc90):
    from numba_cuda_lcs.backends.numba_cuda_mlir.configured_launch import ConfiguredLaunch

    @cuda.jit
    def kernel(x):
        pass

    assert backend.uninstall()
    try:
        stock = kernel[1, 64]
        assert not isinstance(stock, ConfiguredLaunch)
        assert kernel[1, 64] is stock  # numba-cuda-mlir's configure() cache
    finally:
        assert backend.install()
    again = kernel[1, 64]
    assert isinstance(again, ConfiguredLaunch)
    assert kernel[1, 64] is again


def test_other_versions_are_refused_with_the_fix_named():
    for version in ("0.5.2", "0.7.0", "1.0.0"):
        with pytest.raises(UnsupportedCompilerError) as info:
            manifest.check_version(version)
        assert "numba-cuda-mlir[cu13]>=0.6,<0.7" in str(info.value)
        assert version in str(info.value)
    manifest.check_version("0.6.0")
    manifest.check_version("0.6.9")


def test_manifest_names_every_internal_and_loads():
    lines = manifest.describe()
    assert any("MLIRDispatcher" in line for line in lines)
    locals_ = [e.local for e in manifest.TABLE if getattr(e, "local", None) is not None]
    assert locals_ and all(hasattr(manifest.NAMES, local) for local in locals_)


# ---------------------------------------------------------- launch constants


def test_launch_constants_size_shared_arrays_per_configuration(cc90):
    kernel = block_kernel()
    sizes = []
    for block in (64, 128, 32):
        with compiling_for(1, block) as config:
            ptx, _ = cuda.compile_ptx(kernel.py_func, "void(float32[:])", cc=(9, 0))
        assert config.marked_fields == ("blockdim",)
        sizes.append(shared_bytes(ptx))
    assert sizes == [[256], [512], [128]]  # each configuration its own value


@pytest.mark.parametrize(
    "accessor, fields",
    [
        ("griddim", ("griddim",)),
        ("blocks_per_grid", ("griddim",)),
        ("sharedmem", ("sharedmem",)),
        ("blockdim", ("blockdim",)),
    ],
)
def test_each_accessor_marks_exactly_its_field(cc90, accessor, fields):
    read = getattr(launch, accessor)
    if accessor in ("griddim", "blockdim"):

        def body(x):
            x[0] = read()[0]
    else:

        def body(x):
            x[0] = read()

    with compiling_for((3, 2), 64, 16) as config:
        cuda.compile_ptx(body, "void(int64[:])", cc=(9, 0))
    assert config.marked_fields == fields


def test_compile_ptx_without_configuration_fails_clearly(cc90):
    kernel = block_kernel()
    with pytest.raises(LaunchConfigUnavailableError, match="compiling_for"):
        cuda.compile_ptx(kernel.py_func, "void(float32[:])", cc=(9, 0))


def test_eager_compile_of_a_launch_constant_kernel_fails_clearly(cc90):
    kernel = block_kernel()
    with pytest.raises(LaunchConfigUnavailableError):
        kernel.compile("void(float32[:])")
    assert not kernel.overloads


def test_same_kernel_source_under_numba_cuda_and_numba_cuda_mlir(cc90):
    numba_cuda = pytest.importorskip("numba.cuda")

    def source(x):  # no compiler-specific names: launch constants only
        for i in range(launch.blocks_per_grid()):
            x[i] = launch.threads_per_block() * 1000 + launch.blockdim()[1]

    found = {}
    for name, compile_ptx in (("mlir", cuda.compile_ptx), ("numba-cuda", numba_cuda.compile_ptx)):
        with compiling_for(3, (77, 2)) as config:
            ptx, _ = compile_ptx(source, "void(int64[:])", cc=(9, 0))
        found[name] = (config.marked_fields, "154002" in ptx)
    assert found["mlir"] == found["numba-cuda"] == (("griddim", "blockdim"), True)


# ---------------------------------------------------------------- launches


def test_plain_kernel_compiles_once_and_stays_numba_cuda_mlirs(fake_launches):
    kernel = plain_kernel()
    for grid, block in [(1, 32), (4, 64), (2, 128)]:
        kernel[grid, block](X)
    assert {t for _l, t, _c in fake_launches.launched} == {kernel}
    counts = inspection.compile_counters(kernel)
    assert counts["compiles"] == 1 and counts["specializations"] == 1
    assert counts["fields"] == ()


def test_block_only_kernel_over_10_grids_compiles_once(fake_launches):
    kernel = block_kernel()
    for grid in range(1, 11):
        kernel[grid, 64](X)
    counts = inspection.compile_counters(kernel)
    assert counts["compiles"] == 1
    assert counts["fields"] == ("blockdim",)
    targets = {t for _l, t, _c in fake_launches.launched}
    assert len(targets) == 1 and kernel not in targets
    kernel[3, 128](X)
    assert inspection.compile_counters(kernel)["compiles"] == 2


def test_launches_run_the_kernel_compiled_for_their_block(fake_launches):
    kernel = block_kernel()
    for grid, block in [(1, 64), (2, 128), (3, 64), (1, 32), (5, 128)]:
        kernel[grid, block](X)
    for launch_, target, cubin in fake_launches.launched:
        assert target is not kernel
        launch_keys = keys.launch_keys(launch_.griddim, launch_.blockdim, launch_.sharedmem)
        assert target._lcs.key == launch_keys[keys.BLOCKDIM]
        cres = compiled_for_cubin(target, cubin)
        threads = launch_.blockdim[0]
        assert shared_bytes(cres.metadata["ptx"]) == [4 * threads]


def test_configuration_seen_by_hooks(fake_launches):
    seen = []
    from numba_cuda_mlir._whole_function_planners import (
        WholeFunctionPlanner,
        _planner_registry,
        register_planner,
    )

    class Planner(WholeFunctionPlanner):
        def run(self):
            config = current_launch_config()
            if config is not None and config.dispatcher.__name__ == "hooked":
                seen.append((config, config.args))
                ensure_current_launch_config().mark_kernel_as_launch_config_sensitive(
                    fields="griddim"
                )
            return False

    @cuda.jit
    def hooked(x):
        x[0] = 1.0

    register_planner(Planner)
    try:
        hooked[(2, 1), 32, 0, 0](X)
        hooked[(2, 1), 64, 0, 0](X)  # same grid: same key
        hooked[3, 64, 0, 0](X)
    finally:
        _planner_registry._planners.remove(Planner)
    config, args = seen[0]
    assert config.griddim == (2, 1, 1) and config.blockdim == (32, 1, 1)
    assert config.sharedmem == 0 and config.stream == 0 and config.cluster is None
    assert hooked[1, 32].stream == 0  # none given: reported as numba-cuda does
    assert args[0] is X and config.dispatcher is hooked
    assert inspection.compile_counters(hooked)["fields"] == ("griddim",)
    assert inspection.compile_counters(hooked)["compiles"] == 2
    assert current_launch_config() is None and config.args is None


def test_eight_threads_fresh_kernel_zero_wrong_kernels(fake_launches):
    blocks = [32, 64, 96, 128, 160, 192, 224, 256]
    for _round in range(2):
        kernel = block_kernel()
        barrier = threading.Barrier(len(blocks))
        errors = []

        def worker(block):
            try:
                launch_ = kernel[1, block]
                barrier.wait()
                launch_(X)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(b,)) for b in blocks]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        mine = [e for e in fake_launches.launched if e[0].dispatcher is kernel]
        assert len(mine) == len(blocks)
        wrong = 0
        for launch_, target, cubin in mine:
            cres = compiled_for_cubin(target, cubin)
            if shared_bytes(cres.metadata["ptx"]) != [4 * launch_.blockdim[0]]:
                wrong += 1
        assert wrong == 0
        assert inspection.compile_counters(kernel)["compiles"] == len(blocks)


def test_bounded_specializations_warn_once(fake_launches):
    kernel = block_kernel()
    numba_cuda_lcs.set_max_specializations(kernel, 2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for block in (32, 64, 96, 32):
            kernel[1, block](X)
    found = [w for w in caught if "live specializations" in str(w.message)]
    assert len(found) == 1 and "'kernel'" in str(found[0].message)
    counts = inspection.compile_counters(kernel)
    assert counts["specializations"] == 3  # the kernel itself + 2
    assert counts["evictions"] >= 1 and counts["compiles"] == 4


def test_inspection_rows(fake_launches):
    kernel = block_kernel()
    kernel[2, 64](X)
    rows = inspection.specializations(kernel)
    lcs = [r for r in rows if r["launch_config_sensitive"]]
    assert len(lcs) == 1
    row = lcs[0]
    assert row["fields"] == ("blockdim",) and row["key"] == {"blockdim": (64, 1, 1)}
    assert row["compiled_for"] == ((2, 1, 1), (64, 1, 1), 0)
    assert not row["from_cache"] and row["compile_seconds"] > 0
    assert "blockdim=(64, 1, 1)" in inspection.format_specializations(kernel)


def test_launch_bounds_from_the_block_size(fake_launches):
    kernel = plain_kernel()
    numba_cuda_lcs.set_launch_bounds_from_block(kernel)
    kernel[1, 96](X)
    (launch_, target, cubin) = fake_launches.launched[-1]
    assert target is not kernel and target.targetoptions["launch_bounds"] == 96
    assert ".maxntid 96" in compiled_for_cubin(target, cubin).metadata["ptx"]
    assert inspection.compile_counters(kernel)["fields"] == ("blockdim",)


@pytest.mark.parametrize("inline", ["never", "always"])
def test_device_function_with_launch_constants_gets_a_variant_per_key(fake_launches, inline):
    @cuda.jit(device=True, inline=inline)
    def fill(x):
        for i in range(launch.threads_per_block()):
            x[i] = launch.threads_per_block() * 1000003

    @cuda.jit
    def kernel(x):
        fill(x)

    @cuda.jit
    def other(x):
        fill(x)

    for block in (37, 53, 37):
        kernel[1, block](XI)
    other[2, 37](XI)  # fill's variant for 37, after the one for 53 was made
    counts = inspection.compile_counters(kernel)
    assert counts["fields"] == ("blockdim",) and counts["compiles"] == 2
    assert inspection.compile_counters(other)["fields"] == ("blockdim",)
    for launch_, target, cubin in fake_launches.launched:
        ptx = compiled_for_cubin(target, cubin).metadata["ptx"]
        mine = launch_.blockdim[0] * 1000003
        theirs = (90 - launch_.blockdim[0]) * 1000003
        assert str(mine) in ptx and str(theirs) not in ptx


# ---------------------------------------------------------------- disk cache


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    from numba_cuda_mlir.numba_cuda.core import config

    monkeypatch.setattr(config, "CACHE_DIR", str(tmp_path))
    return tmp_path


def _marker(path):
    import json

    found = [p for p in os.listdir(path) if p.endswith(".lcs")]
    return found, [json.load(open(os.path.join(path, p))) for p in found]


def _cache_subdir(root):
    for dirpath, _dirs, files in os.walk(root):
        if any(f.endswith(".nbi") for f in files):
            return dirpath
    return None


def cached_block_kernel_source(x):
    buf = cuda.shared.array(launch.threads_per_block(), float32)
    buf[cuda.threadIdx.x] = x[cuda.threadIdx.x]
    cuda.syncthreads()
    x[cuda.threadIdx.x] = buf[0]


def cached_plain_kernel_source(x):
    x[cuda.threadIdx.x] = 2.0


def test_disk_cache_per_launch_key_with_marker(fake_launches, cache_dir):
    first = cuda.jit(cache=True)(cached_block_kernel_source)
    first[1, 64](X)
    first[2, 128](X)
    assert inspection.compile_counters(first)["compiles"] == 2
    where = _cache_subdir(cache_dir)
    names, markers = _marker(where)
    assert len(names) == 1 and markers[0]["fields"] == ["blockdim"]
    assert markers[0]["numba_cuda_lcs"] == numba_cuda_lcs.__version__

    # A fresh kernel of the same function (another process, as far as the
    # cache is concerned): loads per key, compiles only new keys.
    second = cuda.jit(cache=True)(cached_block_kernel_source)
    second[7, 64](X)
    second[1, 128](X)
    second[1, 32](X)
    counts = inspection.compile_counters(second)
    assert counts["cache_loads"] == 2 and counts["compiles"] == 1
    for launch_, target, cubin in fake_launches.launched:
        if launch_.dispatcher is second:
            cres = compiled_for_cubin(target, cubin)
            assert cres.metadata.get("cubin") is cubin
    rows = [r for r in inspection.specializations(second) if r["from_cache"]]
    assert {r["key"]["blockdim"] for r in rows} == {(64, 1, 1), (128, 1, 1)}


def test_entry_saved_for_another_key_is_never_used(fake_launches, cache_dir):
    from numba_cuda_lcs.backends.numba_cuda_mlir.cache import LCSCache

    first = cuda.jit(cache=True)(cached_block_kernel_source)
    first[1, 64](X)
    child = next(iter(first._lcs.routes.values()))
    sig, cres = next(iter(child.overloads.items()))
    # An index entry for block 128 pointing at the data saved for 64.
    wrong = LCSCache(
        first.py_func,
        child.targetoptions,
        launch_key=(keys.BLOCKDIM, (128, 1, 1)),
        mask=keys.BLOCKDIM,
    )
    wrong._impl.lcs_launch_key = (keys.BLOCKDIM, (64, 1, 1))
    wrong.save_moved(cres)
    second = cuda.jit(cache=True)(cached_block_kernel_source)
    second[1, 128](X)
    counts = inspection.compile_counters(second)
    assert counts["cache_loads"] == 0 and counts["compiles"] == 1


def cached_before_activation_source(x):
    x[cuda.threadIdx.x] = launch.threads_per_block()


def test_caching_enabled_before_activation_is_upgraded(fake_launches, cache_dir):
    from numba_cuda_lcs.backends.numba_cuda_mlir.cache import LCSCache

    assert backend.uninstall()
    try:
        kernel = cuda.jit(cache=True)(cached_before_activation_source)
    finally:
        assert backend.install()
    assert not isinstance(kernel._cache, LCSCache)
    kernel[1, 64](X)
    assert isinstance(kernel._cache, LCSCache)
    names, markers = _marker(_cache_subdir(cache_dir))
    assert markers and markers[0]["fields"] == ["blockdim"]
    # Nothing was saved under numba-cuda-mlir's own (plain) key.
    from numba_cuda_mlir.caching import MLIRCache
    from numba_cuda_mlir.descriptor import mlir_target

    child = next(iter(kernel._lcs.routes.values()))
    sig = next(iter(child.overloads.values())).signature
    stock = MLIRCache(cached_before_activation_source, kernel.targetoptions)
    assert stock.load_overload(sig, mlir_target.target_context) is None
    fresh = cuda.jit(cache=True)(cached_before_activation_source)
    fresh[1, 64](X)
    fresh[1, 32](X)
    counts = inspection.compile_counters(fresh)
    assert counts["cache_loads"] == 1 and counts["compiles"] == 1


def test_plain_kernels_keep_the_disk_cache_while_active(fake_launches, cache_dir):
    from numba_cuda_mlir.caching import MLIRCache

    first = cuda.jit(cache=True)(cached_plain_kernel_source)
    first[1, 32](X)
    assert sum(first._cache_misses.values()) == 1
    second = cuda.jit(cache=True)(cached_plain_kernel_source)
    second[4, 64](X)
    assert sum(second._cache_hits.values()) == 1
    assert inspection.compile_counters(second)["cache_loads"] == 1
    assert _marker(_cache_subdir(cache_dir))[0] == []
    # Index keys are numba-cuda-mlir's own: a stock cache finds the entry.
    stock = MLIRCache(cached_plain_kernel_source, second.targetoptions)
    sig = next(iter(second.overloads.values())).signature
    from numba_cuda_mlir.descriptor import mlir_target

    assert stock.load_overload(sig, mlir_target.target_context) is not None


def test_a_disabled_cache_takes_no_entry_locks(fake_launches, cache_dir, monkeypatch):
    # A cache whose marker could not be written is disabled and saves
    # nothing: other processes must not queue behind its compiles.
    from numba_cuda_lcs import cache_locks

    claims = []
    real_claim = cache_locks.Waiter.claim

    def claim(self, path):
        claims.append(path)
        return real_claim(self, path)

    monkeypatch.setattr(cache_locks.Waiter, "claim", claim)
    enabled = cuda.jit(cache=True)(cached_plain_kernel_source)
    enabled[1, 32](X)
    assert claims  # an enabled cache locks the entry it compiles
    claims.clear()
    disabled = cuda.jit(cache=True)(cached_plain_kernel_source)
    disabled._cache.disable()
    disabled[1, 32](X)
    assert inspection.compile_counters(disabled)["compiles"] == 1
    assert claims == []
    assert not [p for p in os.listdir(_cache_subdir(cache_dir)) if p.endswith(".lock")]


def test_recompile_drops_specializations_and_configured_launches(fake_launches):
    kernel = block_kernel()
    before = kernel[1, 64]
    before(X)
    assert inspection.compile_counters(kernel)["fields"] == ("blockdim",)
    kernel.recompile()
    assert inspection.compile_counters(kernel)["fields"] == ()
    after = kernel[1, 64]
    assert after is not before
    after(X)
    counts = inspection.compile_counters(kernel)
    assert counts["fields"] == ("blockdim",) and counts["specializations"] == 2


# ------------------------------------------------------- activation, processes

_BLOCK_NUMBA_CUDA = """
import importlib.abc, sys
class _NoNumbaCuda(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "numba_cuda" or name.startswith(("numba_cuda.", "numba.cuda")):
            raise ImportError(f"{name} is not installed (test)")
        return None
sys.meta_path.insert(0, _NoNumbaCuda())
"""


def _python(code, **env):
    return run_python("-c", code, env=env).stdout.strip().splitlines()[-1]


@pytest.mark.parametrize("order", ["package-first", "compiler-first"])
def test_activation_either_order_without_numba_cuda(order):
    imports = (
        "import numba_cuda_lcs\nfrom numba_cuda_mlir import cuda\n"
        if order == "package-first"
        else "from numba_cuda_mlir import cuda\nimport numba_cuda_lcs\n"
    )
    code = (
        _BLOCK_NUMBA_CUDA
        + imports
        + textwrap.dedent(
            """
        from numba_cuda_lcs.backends import numba_cuda_mlir as b
        print(b.is_installed(), "numba.cuda" in sys.modules,
              "numba_cuda_lcs.backends.numba_cuda" in sys.modules)
        """
        )
    )
    assert _python(code) == "True False False"


def test_both_compilers_in_one_process():
    code = textwrap.dedent(
        """
        import numba_cuda_lcs
        from numba_cuda_mlir import cuda as mcuda
        from numba import cuda as ncuda
        print(sorted(numba_cuda_lcs.active_compilers()))
        """
    )
    assert _python(code) == "['numba-cuda', 'numba-cuda-mlir']"


def test_disable_environment_leaves_numba_cuda_mlir_untouched():
    code = textwrap.dedent(
        """
        import numba_cuda_lcs
        from numba_cuda_mlir import cuda
        from numba_cuda_mlir.descriptor import MLIRDispatcher
        print("_lcs" in vars(MLIRDispatcher), numba_cuda_lcs.is_active())
        """
    )
    assert _python(code, NUMBA_CUDA_LCS_DISABLE="1").split() == ["False", "False"]


def test_integer_arithmetic_on_launch_constants_sizes_arrays(cc90):
    def kernel(x):
        buf = cuda.shared.array(launch.threads_per_block() * 2 + 1, float32)
        buf[cuda.threadIdx.x] = x[cuda.threadIdx.x]
        cuda.syncthreads()
        x[cuda.threadIdx.x] = buf[0]

    with compiling_for(1, 32):
        ptx, _ = cuda.compile_ptx(kernel, "void(float32[:])", cc=(9, 0))
    assert shared_bytes(ptx) == [4 * 65]
