"""deactivate() with launch-config-sensitive kernels alive (no GPU needed;
the GPU test with configuration-stamped outputs is in routing/).

Routed kernels are handed over to numba-cuda's own LC-S state, keyed by the
full configuration each was compiled for, so that numba-cuda's ``call``
never launches a kernel compiled for another configuration.
"""

import warnings

import pytest
from numba import cuda

import numba_cuda_lcs
from numba_cuda_lcs import keys
from numba_cuda_lcs.backends.numba_cuda import routing
from numba_cuda_lcs.backends.numba_cuda.records import KernelTag, Routing, state_of


class FakeKernel:
    """What routing reads of a compiled LC-S kernel."""

    def __init__(self, launch, mask):
        self.launch_config_sensitive = True
        self._lcs = KernelTag(  # numba-cuda's _Kernel carries our tag here
            mask=mask,
            key=launch_keys(launch)[mask],
            compiled_for=(launch.griddim, launch.blockdim, launch.sharedmem),
        )


def launch_keys(launch):
    return keys.launch_keys(launch.griddim, launch.blockdim, launch.sharedmem)


def configured(kernel, grid, block):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return kernel[grid, block]


_MADE = []


@pytest.fixture(autouse=True)
def _drop_fake_kernels():
    """numba-cuda's dispatcher reads real kernels when it is collected."""
    yield
    for dispatcher in _MADE:
        dispatcher.overloads.clear()
    _MADE.clear()


def make_routed_kernel():
    @cuda.jit
    def kernel(x):
        x[0] = 1

    default = configured(kernel, 1, 32)
    state = state_of(kernel).routing = Routing()
    routing.routed_roots.add(kernel)
    state.widen(keys.BLOCKDIM)
    state.default_keys = launch_keys(default)
    kernel.overloads["sig"] = FakeKernel(default, keys.BLOCKDIM)
    _MADE.append(kernel)
    children = {}
    for block in (64, 128):
        launch = configured(kernel, 1, block)
        child = routing.route_slow(kernel, launch)
        child.overloads["sig"] = FakeKernel(launch, keys.BLOCKDIM)
        _MADE.append(child)
        children[block] = child
    return kernel, children


def test_routed_kernels_are_handed_to_numba_cudas_own_state():
    kernel, children = make_routed_kernel()
    numba_cuda_lcs.deactivate()
    try:
        assert kernel._launch_config_sensitive is True
        # The root keeps serving the configuration it was compiled for...
        assert kernel._launch_config_default_key == ((1, 1, 1), (32, 1, 1), 0)
        # ...and each child becomes numba-cuda's specialization for its own.
        specs = kernel._launch_config_specializations
        assert set(specs) == {((1, 1, 1), (64, 1, 1), 0), ((1, 1, 1), (128, 1, 1), 0)}
        for block, child in children.items():
            assert specs[((1, 1, 1), (block, 1, 1), 0)] is child
            assert child._launch_config_is_specialized is True
        # numba-cuda's own selection now picks exactly those.
        assert kernel._select_launch_config_dispatcher(configured(kernel, 1, 32)) is kernel
        assert kernel._select_launch_config_dispatcher(configured(kernel, 1, 64)) is children[64]
        fresh = kernel._select_launch_config_dispatcher(configured(kernel, 1, 256))
        assert fresh not in (kernel, *children.values())  # compiles anew
        assert state_of(kernel).routing is None
    finally:
        numba_cuda_lcs.activate()


def test_a_child_whose_kernels_disagree_is_dropped_not_reused():
    kernel, children = make_routed_kernel()
    # A second signature compiled for another full configuration (possible
    # once the fields widened): no single full key serves both.
    other = configured(kernel, 5, 64)
    children[64].overloads["sig2"] = FakeKernel(other, keys.ALL_FIELDS)
    numba_cuda_lcs.deactivate()
    try:
        assert children[64] not in kernel._launch_config_specializations.values()
        assert children[128] in kernel._launch_config_specializations.values()
    finally:
        numba_cuda_lcs.activate()


def test_hooks_reading_the_configuration_after_deactivate_are_told_why():
    numba_cuda_lcs.deactivate()
    try:
        try:
            numba_cuda_lcs.ensure_current_launch_config()
        except numba_cuda_lcs.LaunchConfigUnavailableError as exc:
            message = str(exc)
        assert "not active" in message and "numba_cuda_lcs.activate()" in message
    finally:
        numba_cuda_lcs.activate()
