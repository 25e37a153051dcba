"""Launch-config-sensitive routing on a real GPU.

Kernels named ``stamp_*`` write the configuration they were *compiled* for
into their output (see ``support/rewrites.py``), so every assertion on an
output proves which compiled kernel ran.
"""

import threading

import numpy as np
import pytest
from support import rewrites
from support.processes import run_python

# Launches go through the launcher and launch sites (C or twin): over both.
pytestmark = [pytest.mark.gpu, pytest.mark.usefixtures("twins", "quiet_warnings")]

from numba import cuda  # noqa: E402
from numba.cuda import launchconfig as builtin_launchconfig  # noqa: E402

import numba_cuda_lcs  # noqa: E402
from numba_cuda_lcs import launchconfig  # noqa: E402


def n_compiles(dispatcher):
    """Kernels compiled for *dispatcher*, its specializations included."""
    total = len(dispatcher.overloads)
    for child in dispatcher._launch_config_specializations.values():
        total += len(child.overloads)
    return total


def stamped(kernel, grid, block, sharedmem=0):
    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    kernel[grid, block, 0, sharedmem](out)
    return int(out.copy_to_host()[0])


def make_block_stamp():
    @cuda.jit
    def stamp_block(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 987654321  # BLOCK_X

    return stamp_block


def test_marked_kernel_recompiles_per_configuration_and_keeps_default():
    kernel = make_block_stamp()
    assert stamped(kernel, 1, 32) == 32
    assert len(kernel.overloads) == 1
    assert stamped(kernel, 1, 64) == 64
    # The default configuration stays with the dispatcher itself...
    assert len(kernel.overloads) == 1
    assert len(kernel._launch_config_specializations) == 1
    # ...and repeating configurations compiles nothing new.
    for block in (32, 64, 32, 64):
        assert stamped(kernel, 1, block) == block
    assert n_compiles(kernel) == 2


def test_block_only_kernel_does_not_recompile_for_grid_sizes():
    kernel = make_block_stamp()
    for grid in range(1, 11):
        assert stamped(kernel, grid, 128) == 128
    assert n_compiles(kernel) == 1
    assert stamped(kernel, 3, 256) == 256
    assert n_compiles(kernel) == 2


def test_grid_and_block_stamps_follow_each_launch():
    @cuda.jit
    def stamp_both(out):
        if cuda.threadIdx.x == 0 and cuda.blockIdx.x == 0:
            out[0] = 987654322  # GRID_X
            out[1] = 987654321  # BLOCK_X

    out = cuda.to_device(np.zeros(2, dtype=np.int64))
    for grid, block in [(1, 32), (2, 32), (1, 64), (2, 32), (1, 32)]:
        stamp_both[grid, block](out)
        assert out.copy_to_host().tolist() == [grid, block]
    assert n_compiles(stamp_both) == 3


def test_unmarked_kernel_compiles_once_across_configurations():
    @cuda.jit
    def plain(out):
        out[0] = cuda.blockDim.x

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    for grid, block in [(1, 32), (2, 64), (3, 128), (1, 32)]:
        plain[grid, block](out)
        assert out.copy_to_host()[0] == block
    assert len(plain.overloads) == 1
    assert plain._lcs is None or plain._lcs.routing is None
    assert plain._launch_config_specializations == {}


def test_callbacks_receive_kernel_and_configuration_with_args():
    kernel = make_block_stamp()
    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    configured = kernel[1, 32]
    seen = []

    def callback(compiled, config):
        seen.append((compiled, config, config.args))

    configured.pre_launch_callbacks.append(callback)
    configured(out)
    compiled, config, args = seen[0]
    assert config is configured
    assert compiled.launch_config_sensitive
    assert args == (out,)
    assert configured.args is None  # only visible during the launch
    assert int(out.copy_to_host()[0]) == 32


def test_callback_exception_propagates_and_kernel_is_not_launched():
    kernel = make_block_stamp()
    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    configured = kernel[1, 48]

    def failing(compiled, config):
        raise KeyError("stop")

    configured.pre_launch_callbacks.append(failing)
    with pytest.raises(KeyError):
        configured(out)
    assert int(out.copy_to_host()[0]) == 0
    assert configured.args is None


def test_args_visible_during_compilation():
    @cuda.jit
    def lcslog_args(a, b):
        pass

    a = cuda.to_device(np.zeros(1))
    seen = {}
    original = rewrites.log

    def spy(kind, cfg):
        seen["args"] = cfg.args
        original(kind, cfg)

    rewrites.log = spy
    try:
        lcslog_args[1, 32](a, 5)
    finally:
        rewrites.log = original
    assert seen["args"][0] is a and seen["args"][1] == 5


def test_capture_compile_config_sees_the_launch():
    kernel = make_block_stamp()
    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    with launchconfig.capture_compile_config(kernel) as record:
        kernel[1, 32](out)
    assert record["config"] is kernel[1, 32]
    with launchconfig.capture_compile_config(kernel) as record:
        kernel[1, 32](out)  # already compiled
    assert record["config"] is None
    with builtin_launchconfig.capture_compile_config(kernel) as record:
        kernel[1, 96](out)  # a specialization compiles
    assert record["config"].blockdim == (96, 1, 1)


def test_builtin_api_compatibility():
    @cuda.jit
    def builtin_kernel(out):
        out[0] = 1

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    before = len(rewrites.compiles("builtin"))
    builtin_kernel[1, 32](out)
    builtin_kernel[1, 64](out)
    builtin_kernel[1, 32](out)
    logged = rewrites.compiles("builtin")[before:]
    assert [entry[2] for entry in logged] == [(32, 1, 1), (64, 1, 1)]
    assert next(iter(builtin_kernel.overloads.values())).launch_config_sensitive
    # The built-in functions return our configuration object.
    assert builtin_launchconfig.current_launch_config is launchconfig.current_launch_config


def test_builtin_and_our_api_see_the_same_object():
    seen = []

    @cuda.jit
    def lcslog_same(out):
        out[0] = 1

    original = rewrites.log

    def spy(kind, cfg):
        seen.append((cfg, rewrites.builtin_ensure(), numba_cuda_lcs.current_launch_config()))
        original(kind, cfg)

    rewrites.log = spy
    try:
        configured = lcslog_same[1, 32]
        configured(cuda.to_device(np.zeros(1, dtype=np.int64)))
    finally:
        rewrites.log = original
    cfg, builtin_cfg, ours = seen[0]
    assert cfg is configured and builtin_cfg is configured and ours is configured


def test_forall_on_lcs_kernel_with_explicit_block_size():
    @cuda.jit
    def stamp_forall(out):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = 987654321

    out = cuda.to_device(np.zeros(1000, dtype=np.int64))
    stamp_forall.forall(1000, tpb=128)(out)
    assert set(out.copy_to_host().tolist()) == {128}
    stamp_forall.forall(1000, tpb=64)(out)
    assert set(out.copy_to_host().tolist()) == {64}


def test_forall_on_lcs_kernel_with_occupancy_block_size():
    @cuda.jit
    def stamp_forall_auto(out):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = 987654321

    out = cuda.to_device(np.zeros(5000, dtype=np.int64))
    stamp_forall_auto.forall(5000)(out)
    values = set(out.copy_to_host().tolist())
    assert len(values) == 1
    (block,) = values
    assert 1 <= block <= 1024


def test_forall_on_plain_kernel_keeps_numba_behaviour():
    @cuda.jit
    def plain_forall(out):
        i = cuda.grid(1)
        if i < out.size:
            out[i] = i

    out = cuda.to_device(np.zeros(300, dtype=np.int64))
    plain_forall.forall(300)(out)
    assert out.copy_to_host().tolist() == list(range(300))
    assert len(plain_forall.specializations) == 1


def test_specialize_lcs_kernel_compiles_per_configuration():
    kernel = make_block_stamp()
    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    specialized = kernel.specialize(out)
    assert specialized.specialized
    for block in (32, 64, 32):
        specialized[1, block](out)
        assert int(out.copy_to_host()[0]) == block
    assert n_compiles(specialized) == 2
    with pytest.raises(RuntimeError, match="already specialized"):
        specialized.specialize(out)


def test_explicit_signature_plain_kernel_routes_without_recompiling():
    @cuda.jit("void(int64[:])")
    def plain_sig(out):
        out[0] = cuda.blockDim.x

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    for block in (32, 64):
        plain_sig[1, block](out)
        assert int(out.copy_to_host()[0]) == block
    assert len(plain_sig.overloads) == 1


def test_explicit_signature_lcs_kernel_fails_clearly_at_declaration():
    with pytest.raises(numba_cuda_lcs.LaunchConfigUnavailableError) as info:

        @cuda.jit("void(int64[:])")
        def stamp_sig(out):
            out[0] = 987654321

    message = str(info.value)
    assert "No launch config set" in message
    assert "stamp_sig" in message and "@cuda.jit" in message


def test_explicit_signature_tolerant_rewrite_compiles_plain():
    @cuda.jit("void(int64[:])")
    def tolerant_sig(out):
        out[0] = 7

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    tolerant_sig[1, 32](out)
    tolerant_sig[1, 64](out)
    assert len(tolerant_sig.overloads) == 1
    assert not next(iter(tolerant_sig.overloads.values())).launch_config_sensitive


def test_concurrent_first_launches_run_their_own_kernels():
    """numba-cuda 0.30.4's built-in LC-S launched kernels compiled for
    another block size here; every launch must run its own."""
    blocks = [32, 64, 96, 128, 160, 192, 224, 256]
    wrong = []
    for _round in range(3):
        kernel = make_block_stamp()
        barrier = threading.Barrier(len(blocks))
        results = {}
        errors = []

        def worker(block):
            try:
                out = cuda.to_device(np.zeros(1, dtype=np.int64))
                barrier.wait(timeout=30)
                kernel[1, block](out)
                results[block] = int(out.copy_to_host()[0])
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(b,)) for b in blocks]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads)
        assert errors == []
        wrong += [(b, got) for b, got in results.items() if got != b]
        assert len(results) == len(blocks)
        assert n_compiles(kernel) == len(blocks)
    assert wrong == []


BAD_LAUNCH_SCRIPT = r"""
import json, sys, warnings
warnings.simplefilter("ignore")
import numpy as np
from numba import cuda
import numba_cuda_lcs
@cuda.jit
def plain(out):
    out[0] = 1
out = cuda.to_device(np.zeros(1, dtype=np.int64))
cases = {
    "float grid": lambda: plain[1.5, 32](out),
    "4-d block": lambda: plain[1, (1, 2, 3, 4)](out),
    "zero grid": lambda: plain[0, 32](out),
    "negative block": lambda: plain[1, -32](out),
    "2048 threads": lambda: plain[1, 2048](out),
    "string block": lambda: plain[1, "32"](out),
    "no block": lambda: plain[1](out),
    "huge sharedmem": lambda: plain[1, 32, 0, 1 << 30](out),
}
result = {}
for name, case in cases.items():
    try:
        case()
        cuda.synchronize()
        result[name] = "ok"
    except BaseException as exc:
        result[name] = type(exc).__name__
print(json.dumps({"active": numba_cuda_lcs.is_active(), "result": result}))
"""


def test_invalid_launch_configurations_fail_like_numba_cuda():
    import json

    def run(disable):
        env = {"NUMBA_CUDA_LCS_DISABLE": "1" if disable else "0"}
        proc = run_python("-c", BAD_LAUNCH_SCRIPT, env=env)
        return json.loads(proc.stdout.strip().splitlines()[-1])

    stock, ours = run(True), run(False)
    assert not stock["active"] and ours["active"]
    assert ours["result"] == stock["result"]
    assert all(outcome != "ok" for outcome in ours["result"].values())


def test_host_arrays_are_copied_back_after_the_launch():
    @cuda.jit
    def increment(x):
        i = cuda.grid(1)
        if i < x.size:
            x[i] += 1

    host = np.zeros(100)
    increment[4, 32](host)
    increment[4, 32](host)
    assert (host == 2).all()


def test_one_configured_launch_serves_several_signatures():
    @cuda.jit
    def write(x, value):
        x[0] = value

    configured = write[1, 32]
    for dtype, value in [(np.int64, 3), (np.float64, 2.5), (np.int64, 7), (np.float32, 1.5)]:
        out = cuda.to_device(np.zeros(1, dtype=dtype))
        configured(out, dtype(value))
        assert out.copy_to_host()[0] == dtype(value)
    assert len(write.overloads) == 3


def test_debug_kernels_keep_numba_cudas_launch_path():
    @cuda.jit(debug=True, opt=False)
    def checked(x):
        x[0] = 5

    out = cuda.to_device(np.zeros(1, dtype=np.int64))
    checked[1, 1](out)
    assert int(out.copy_to_host()[0]) == 5
    (prepared,) = checked[1, 1]._lcs_prepared.values()
    assert prepared.launcher is None  # numba-cuda's own launch path


# --------------------------------------------------------------------------
# The readable routing (routing.resolve) and the inlined launch path agree
# --------------------------------------------------------------------------


def _launched_and_resolved(kernel, grid, block, *args):
    """The kernel the launch path ran, and the one routing.resolve picks for
    the same launch afterwards."""
    from numba_cuda_lcs import tls
    from numba_cuda_lcs.backends.numba_cuda import routing

    configured = kernel[grid, block]
    ran = []
    configured.pre_launch_callbacks.append(lambda compiled, config: ran.append(compiled))
    try:
        configured(*args)
    finally:
        configured.pre_launch_callbacks.clear()
    prev = tls.swap_args(args)
    try:
        resolved = routing.resolve(kernel, args, configured)
    finally:
        tls.swap_args(prev)
    return ran[0], resolved


def test_every_routing_case_resolves_as_the_launch_path_launches():
    out = cuda.to_device(np.zeros(1, dtype=np.int64))

    @cuda.jit
    def plain(out):
        out[0] = 1

    lcs = make_block_stamp()
    numba_cuda_lcs.set_max_specializations(lcs, 2)  # the root + one child
    cases = [
        (plain, 1, 32),  # plain kernel: no routing at all
        (lcs, 1, 32),  # LC-S, default configuration (the root)
        (lcs, 7, 32),  # block-only: another grid shares the root's route
        (lcs, 1, 64),  # another block: a child
        (lcs, 1, 96),  # over the limit: evicts the 64 child
        (lcs, 1, 64),  # evicted key: routed (and compiled) again
        (lcs, 1, 32),  # back to the default
    ]
    for kernel, grid, block in cases:
        ran, resolved = _launched_and_resolved(kernel, grid, block, out)
        assert ran is resolved, (kernel.__name__, grid, block)
        if kernel is lcs:
            assert ran._lcs.key[1] == (block, 1, 1)
            assert int(out.copy_to_host()[0]) == block

    specialized = make_block_stamp().specialize(out)  # lazily specialized
    for block in (32, 64, 32):
        ran, resolved = _launched_and_resolved(specialized, 1, block, out)
        assert ran is resolved and ran._lcs.key[1] == (block, 1, 1)


# --------------------------------------------------------------------------
# deactivate() while LC-S kernels are alive
# --------------------------------------------------------------------------


def test_deactivate_never_launches_a_kernel_compiled_for_another_configuration():
    kernel = make_block_stamp()
    for block in (32, 64, 128):
        assert stamped(kernel, 1, block) == block
    numba_cuda_lcs.deactivate()
    try:
        # numba-cuda's own call now serves the configurations compiled so
        # far, each by the kernel compiled for it.
        for block in (64, 32, 128, 32, 64):
            assert stamped(kernel, 1, block) == block
        # A new configuration would need the hook, which reads numba-cuda-lcs:
        # it fails naming the fix instead of launching another's kernel.
        with pytest.raises(numba_cuda_lcs.LaunchConfigUnavailableError, match="not active"):
            stamped(kernel, 1, 256)
    finally:
        numba_cuda_lcs.activate()
    for block in (256, 32, 64, 128):
        assert stamped(kernel, 1, block) == block


# --------------------------------------------------------------------------
# Several GPUs
# --------------------------------------------------------------------------


@pytest.mark.gpu(2)
def test_one_configured_launch_on_two_gpus_keeps_state_per_context():
    kernel = make_block_stamp()
    configured = kernel[1, 32]
    outs = {}
    for device in (0, 1):
        with cuda.gpus[device]:
            outs[device] = cuda.to_device(np.zeros(1, dtype=np.int64))
    for _ in range(3):
        for device in (0, 1):
            with cuda.gpus[device]:
                configured(outs[device])
    for device in (0, 1):
        with cuda.gpus[device]:
            assert int(outs[device].copy_to_host()[0]) == 32
    prepared = configured._lcs_prepared
    assert len(prepared) == 2  # one per context, kept: not rebuilt per launch
