"""The launchconfig API without a GPU: errors, marking rules, and a
compile-only check that a rewrite reads a published configuration during
``numba.cuda.compile_ptx`` (NVVM from pip)."""

import threading

import pytest
from numba import cuda
from numba.cuda import types
from support import rewrites  # noqa: F401  (registers the test rewrites)

import numba_cuda_lcs
from numba_cuda_lcs import launchconfig, marks
from numba_cuda_lcs.errors import LaunchConfigUnavailableError

# The API publishes configurations and keeps marks in the compile frames of
# the bound TLS implementation (C or twin): over both.
pytestmark = pytest.mark.usefixtures("twins")


def test_nothing_is_published_outside_a_compilation():
    assert numba_cuda_lcs.current_launch_config() is None
    from numba.cuda import launchconfig as builtin

    assert builtin.current_launch_config() is None


def test_ensure_outside_a_compilation_names_the_fix():
    with pytest.raises(LaunchConfigUnavailableError) as info:
        numba_cuda_lcs.ensure_current_launch_config()
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert message.startswith("No launch config set")
    assert "only valid while a kernel launch is compiling" in message


def test_marking_outside_a_compilation_raises():
    @cuda.jit
    def kernel(x):
        x[0] = 1

    configured = kernel[1, 32]
    with pytest.raises(RuntimeError, match="only valid while a kernel launch"):
        configured.mark_kernel_as_launch_config_sensitive()
    with pytest.raises(RuntimeError, match="No launch config set"):
        kernel.mark_launch_config_sensitive()


def test_invalid_fields_raise_value_error_listing_valid_ones():
    with launchconfig.compiling_for(1, 32) as cfg:
        with pytest.raises(ValueError, match="'griddim', 'blockdim', 'sharedmem'"):
            cfg.mark_kernel_as_launch_config_sensitive(fields=["threads"])


def test_marks_take_the_union_and_are_per_compilation():
    with launchconfig.compiling_for(1, 32) as cfg:
        assert cfg.get_kernel_launch_config_sensitive() is None
        cfg.mark_kernel_as_launch_config_sensitive("blockdim")
        cfg.mark_kernel_as_launch_config_sensitive(["sharedmem"])
        assert cfg.get_kernel_launch_config_sensitive() is True
        assert cfg.is_kernel_launch_config_sensitive() is True
        with launchconfig.compiling_for(1, 64) as inner:
            assert inner.get_kernel_launch_config_sensitive() is None
            # Marking another configuration than the one compiling fails.
            with pytest.raises(RuntimeError):
                cfg.mark_kernel_as_launch_config_sensitive()
        assert cfg.get_kernel_launch_config_fields() == ("blockdim", "sharedmem")
    assert cfg.marked_fields == ("blockdim", "sharedmem")
    assert cfg.get_kernel_launch_config_sensitive() is None


def test_published_configuration_is_per_thread():
    seen = []
    with launchconfig.compiling_for(1, 32):
        t = threading.Thread(target=lambda: seen.append(numba_cuda_lcs.current_launch_config()))
        t.start()
        t.join()
    assert seen == [None]


def test_compile_only_configuration_validates_dimensions():
    with pytest.raises(ValueError):
        with launchconfig.compiling_for(0, 32):
            pass
    with pytest.raises(ValueError):
        with launchconfig.compiling_for(1, 32, sharedmem=-1):
            pass


def stamp_ptx(out):
    out[0] = 987654321
    out[1] = 987654322


@pytest.mark.needs_compiler
def test_rewrite_reads_the_published_configuration_in_compile_ptx():
    with launchconfig.compiling_for((3, 1), (77, 1)) as cfg:
        ptx, _ = cuda.compile_ptx(stamp_ptx, (types.int64[:],), cc=(9, 0))
    assert "987654321" not in ptx and "987654322" not in ptx
    assert "77;" in ptx and "3;" in ptx
    assert cfg.marked_fields == ("griddim", "blockdim")
    with launchconfig.compiling_for(1, 128):
        ptx_128, _ = cuda.compile_ptx(stamp_ptx, (types.int64[:],), cc=(9, 0))
    assert "128;" in ptx_128 and "77;" not in ptx_128


def test_compile_ptx_without_a_configuration_fails_clearly():
    with pytest.raises(LaunchConfigUnavailableError, match="compiling_for"):
        cuda.compile_ptx(stamp_ptx, (types.int64[:],), cc=(9, 0))


def test_capture_compile_config_requires_a_dispatcher():
    with pytest.raises(TypeError):
        with launchconfig.capture_compile_config(None):
            pass


def test_marks_made_before_the_compile_frame_opens_reach_the_compilation():
    """numba-cuda publishes the launch before our compile frame opens; a
    ``_compile_for_args`` wrapper that marks in that window (numba-cuda's
    own tests do) must still mark the compilation.  No GPU needed: the
    wrapper stops before anything compiles."""
    from numba.cuda.cext import _dispatcher

    @cuda.jit
    def kernel(x):
        x[0] = 1

    configured = kernel[1, 32]
    seen = {}

    class Stop(Exception):
        pass

    def wrapped(*args):
        cfg = numba_cuda_lcs.current_launch_config()
        seen["same"] = cfg is configured
        seen["before"] = cfg.get_kernel_launch_config_sensitive()
        cfg.dispatcher.mark_launch_config_sensitive()
        seen["after"] = cfg.get_kernel_launch_config_sensitive()
        raise Stop

    kernel._compile_for_args = wrapped
    with pytest.raises(Stop):
        _dispatcher.Dispatcher._cuda_call(kernel, 1, __numba_cuda_launch_config__=configured)
    assert seen == {"same": True, "before": None, "after": True}
    # The pending mark is handed to the next compile frame for that launch.
    token = numba_cuda_lcs.tls.begin_compile(configured)
    try:
        marks.apply_early_marks(configured)
        assert configured.get_kernel_launch_config_fields() == (
            "griddim",
            "blockdim",
            "sharedmem",
        )
    finally:
        numba_cuda_lcs.tls.end_compile(token)
    assert marks.early_marks(configured) == 0


def test_compile_only_marking_outside_its_block_raises_naming_the_fix():
    # Documented (docs/launch-config.md): marking outside a compilation for
    # that configuration raises LaunchConfigUnavailableError.
    from numba_cuda_lcs.marking import CompileOnlyLaunchConfig

    def check(cfg):
        with pytest.raises(LaunchConfigUnavailableError) as info:
            cfg.mark_kernel_as_launch_config_sensitive("blockdim")
        message = str(info.value)
        assert message.startswith("No launch config set")
        assert "compiling_for(griddim, blockdim)" in message and "cc=(9, 0)" in message

    check(CompileOnlyLaunchConfig(1, 64))  # never published
    with launchconfig.compiling_for(1, 64) as outer:
        with launchconfig.compiling_for(1, 128):
            check(outer)  # another configuration is compiling
        outer.mark_kernel_as_launch_config_sensitive("blockdim")  # its own block: fine
    check(outer)  # after its block
    assert outer.marked_fields == ("blockdim",)
    assert outer.get_kernel_launch_config_fields() == ()
