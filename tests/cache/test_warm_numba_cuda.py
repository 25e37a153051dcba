"""Warming numba-cuda kernels, the part that runs without a GPU: what
``backends.numba_cuda.warm.compile_for_launch`` compiles and routes, with the
stand-ins of ``test_cache_files`` for code generation (a real warm needs a
GPU: tests/cluster/test_cluster_gpu.py)."""

import pytest
from test_cache_files import (  # noqa: F401  (fixtures)
    SIG,
    FakeBuild,
    StubTargetContext,
    cache_dir,
    hits_and_misses,
    mod,
    process_dispatcher,
    tag_of,
)

from numba_cuda_lcs import WarmError, inspection, keys
from numba_cuda_lcs.backends import numba_cuda as backend
from numba_cuda_lcs.backends.numba_cuda import compile as lcs_compile
from numba_cuda_lcs.backends.numba_cuda import routing


@pytest.fixture
def stand_ins(monkeypatch):
    build = FakeBuild(keys.BLOCKDIM)
    monkeypatch.setattr(lcs_compile, "_build_kernel", build)
    real_new_child = routing._new_child

    def new_child(*args, **kwargs):
        child = real_new_child(*args, **kwargs)
        child.targetctx = StubTargetContext()  # numba-cuda's asks the driver
        return child

    monkeypatch.setattr(routing, "_new_child", new_child)
    return build


def test_compile_for_launch_compiles_each_key_once_and_routes_like_a_launch(mod, stand_ins):
    kernel = process_dispatcher(mod.kern)
    for block in (32, 64, 32, 128, 64):
        compiled = backend.compile_for_launch(kernel, SIG, (3, 1, 1), (block, 1, 1), 0)
        assert tag_of(compiled) == f"b{block}"
        assert compiled._lcs.key == (keys.BLOCKDIM, (block, 1, 1))
    assert stand_ins.calls == [(32, 1, 1), (64, 1, 1), (128, 1, 1)]
    # (compiles are counted by the real _build_kernel, replaced here)
    assert inspection.compile_counters(kernel)["fields"] == ("blockdim",)

    fresh = process_dispatcher(mod.kern)  # another process: loads
    stand_ins.calls.clear()
    assert tag_of(backend.compile_for_launch(fresh, SIG, (1, 1, 1), (64, 1, 1), 0)) == "b64"
    assert stand_ins.calls == []
    assert hits_and_misses(fresh) == (1, 0)
    for root in (kernel, fresh):  # no stand-in reaches numba-cuda's finalizers
        for dispatcher in (root, *root._launch_config_specializations.values()):
            dispatcher.overloads.clear()


def test_signatures_are_parsed_or_refused_naming_the_fix():
    assert backend.parse_signature("int64[::1]") == SIG
    assert backend.parse_signature("void(int64[::1])") == SIG
    assert backend.parse_signature("int64[::1], float32")[1].name == "float32"
    for bad in ("int64[::1", "nosuchtype", "int64(int64[::1])"):
        with pytest.raises(WarmError) as info:
            backend.parse_signature(bad)
        assert "e.g." in str(info.value) or "void" in str(info.value)


def test_without_a_gpu_numba_cuda_says_why():
    from numba import cuda

    if cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(WarmError, match="get_current_device"):
        with backend.compile_target((9, 0)):
            pass
