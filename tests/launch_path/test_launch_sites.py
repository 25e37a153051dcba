"""Launch sites: what a configured launch remembers, and when a later
launch may reuse it without the slow path (routing, typing, overload
resolution).  The rule under test: a remembered launch serves new arguments
only when their numba types must equal those it was resolved for.

Runs on CPU: ``match`` is the fast path's lookup without the launch; the
GPU tests (``test_launch_sites_gpu.py``) launch for real.  The tests of
what a site remembers and matches run over the C module and its pure-Python
twin (they request ``twins``): each implements sites on its own.  The last
test drives the twin's fast path directly: once.
"""

import pickle
import weakref

import numpy as np
import pytest

from numba_cuda_lcs import launcher
from numba_cuda_lcs.backends.numba_cuda import manifest

CONTEXT = 0x5000


class FakeDispatcher:
    """Records slow-path calls (``dispatcher.call(args, launch)``)."""

    def __init__(self):
        self.calls = []

    def call(self, args, launch):
        self.calls.append(args)
        return "slow path"


class Site(launcher.LaunchSite):
    def __init__(self):
        self.dispatcher = FakeDispatcher()
        self.pre_launch_callbacks = []


class Typed:
    """Stands in for numba's device arrays: typed by ``_numba_type_``."""

    def __init__(self, numba_type):
        self._numba_type_ = numba_type


class TypedSubclass(Typed):
    pass


class CAI:
    def __init__(self, shape=(16,), strides=None, typestr="<f4", readonly=False):
        self.__cuda_array_interface__ = dict(
            shape=shape, strides=strides, typestr=typestr, data=(0x1000, readonly), version=3
        )


def configure_sites_as_activation_does():
    """What the numba-cuda backend configures when it activates (the package
    is active while the tests run)."""
    launcher.configure_sites(manifest.NAMES.DeviceNDArray, manifest.NAMES.CUDAError)


@pytest.fixture
def typed_sites(twins):
    """Sites type instances of :class:`Typed` by their ``_numba_type_``."""
    launcher.configure_sites(Typed, RuntimeError)
    try:
        yield
    finally:
        configure_sites_as_activation_does()


def _launcher(nargs=1):
    plan = tuple((0, lambda v, s, r: [], None, 0, 0, None, True) for _ in range(nargs))
    return launcher.Launcher(0x1234, (1, 1, 1), (1, 1, 1), 0, False, plan)


def remember(site, args, context=CONTEXT, lnch=None):
    lnch = _launcher(len(args)) if lnch is None else lnch
    return launcher.remember(site, tuple(args), lnch, 0, None, None, context)


def match(site, args, context=CONTEXT):
    return launcher.impl.match(site, tuple(args), context)


@pytest.mark.parametrize(
    "first, same, different",
    [
        (1, -(2**63), True),  # int vs bool
        (True, False, 1),
        (1.5, 2.5, np.float64(1.5)),  # Python float vs numpy float64
        (1j, 2 + 0j, np.complex128(1j)),
        (np.float32(1), np.float32(-3), np.float64(1)),
        (np.int64(1), np.int64(2), np.int32(1)),
        (np.bool_(True), np.bool_(False), True),
        (np.uint8(1), np.uint8(255), np.int8(1)),
    ],
)
def test_same_numba_type_matches_and_other_types_do_not(first, same, different, twins):
    site = Site()
    assert remember(site, [first])
    assert match(site, [first]) == 0
    assert match(site, [same]) == 0
    assert match(site, [different]) == -1


def test_int_beyond_int64_is_not_remembered_nor_served(twins):
    # numba types such an int as uint64 (or rejects it): not the int64 kernel
    site = Site()
    assert not remember(site, [2**63])
    assert remember(site, [1])
    assert match(site, [2**63 - 1]) == 0
    assert match(site, [2**63]) == -1
    assert match(site, [-(2**63) - 1]) == -1


def test_typed_objects_match_by_numba_type(typed_sites):
    t = "array(float32, 1d, C)"
    site = Site()
    a = Typed(t)
    assert remember(site, [a])
    assert match(site, [a]) == 0
    assert match(site, [Typed(t)]) == 0  # another array of that type
    assert match(site, [Typed("array(float32, 2d, C)")]) == -1
    assert match(site, [TypedSubclass(t)]) == -1
    assert not remember(Site(), [TypedSubclass(t)])


def test_typed_objects_are_not_kept_alive(typed_sites):
    site = Site()
    a = Typed("T")
    ref = weakref.ref(a)
    assert remember(site, [a])
    del a
    assert ref() is None


def test_without_a_typed_class_typed_objects_have_no_token(twins):
    launcher.configure_sites(None, None)
    try:
        assert not remember(Site(), [Typed("T")])
    finally:
        configure_sites_as_activation_does()


def test_array_interface_objects_match_only_themselves_unchanged(twins):
    site = Site()
    obj = CAI()
    assert remember(site, [obj])
    assert match(site, [obj]) == 0
    assert match(site, [CAI()]) == -1  # another object: typed again
    cai = obj.__cuda_array_interface__
    for key, value in [
        ("shape", (4, 4)),  # reshaped in place
        ("strides", (8,)),
        ("typestr", "<f8"),
        ("data", (0x1000, True)),  # read-only now
    ]:
        saved = cai[key]
        cai[key] = value
        assert match(site, [obj]) == -1, key
        cai[key] = saved
        assert match(site, [obj]) == 0
    ref = weakref.ref(obj)
    del obj
    assert ref() is None  # not kept alive by the site


@pytest.mark.parametrize(
    "value",
    [
        np.zeros(3),  # host arrays: copied in and out by the slow path
        (1, 2),
        "text",
        None,
        object(),
        type("Mem", (CAI,), {"__cuda_memory__": True})(),  # other numba device memory
    ],
    ids=["ndarray", "tuple", "str", "None", "object", "device-memory"],
)
def test_arguments_without_a_token_are_never_remembered(value, twins):
    site = Site()
    assert not remember(site, [1, value])
    assert launcher.impl.remembered(site) == 0


def test_context_generation_and_argument_count_must_match(twins):
    site = Site()
    assert remember(site, [1, 2.0])
    assert match(site, [1, 2.0], CONTEXT + 1) == -1  # another GPU's context
    assert match(site, [1]) == -1
    assert match(site, [1, 2.0, 3]) == -1
    launcher.invalidate()
    assert match(site, [1, 2.0]) == -1


def test_binding_the_other_twin_invalidates(twins):
    site = Site()
    assert remember(site, [1])
    launcher.use(launcher.IMPLEMENTATION)
    assert match(site, [1]) == -1


def test_most_recent_first_and_bounded(twins):
    site = Site()
    kinds = [1, 1.0, 1j, True, np.float32(1), np.int8(1)]
    for v in kinds:
        assert remember(site, [v])
    n = launcher.impl.SITE_ENTRIES
    assert launcher.impl.remembered(site) == n
    for age, v in enumerate(reversed(kinds)):
        assert match(site, [v]) == (age if age < n else -1)
    launcher.impl.forget(site)
    assert launcher.impl.remembered(site) == 0
    assert match(site, [np.int8(1)]) == -1


def test_refuses_other_implementations_launchers_and_too_many_arguments(twins):
    site = Site()
    others = [m for name, m in launcher.IMPLEMENTATIONS.items() if name != launcher.IMPLEMENTATION]
    for other in others:
        plan = ((0, lambda v, s, r: [], None, 0, 0, None, True),)
        foreign = other.Launcher(1, (1, 1, 1), (1, 1, 1), 0, False, plan)
        assert not remember(site, [1], lnch=foreign)
    assert launcher.impl.SITE_MAX_ARGS == launcher.SITE_MAX_ARGS >= 256  # the twins agree
    many = [1] * (launcher.impl.SITE_MAX_ARGS + 1)
    assert not remember(site, many)
    assert launcher.impl.remembered(site) == 0


def test_calls_without_a_remembered_launch_take_the_slow_path(twins):
    site = Site()
    assert site(1, 2.0) == "slow path"
    assert site() == "slow path"
    assert site.dispatcher.calls == [(1, 2.0), ()]
    with pytest.raises(TypeError):
        site(1, stream=0)


def test_configured_launches_pickle_without_launch_state(twins):
    # numba-cuda pickles configured launches (test_serialize); ours must too,
    # after launching (prepared state, remembered launches are not state).
    from numba import cuda

    from numba_cuda_lcs.backends.numba_cuda.configured_launch import LaunchConfiguration

    @cuda.jit
    def kernel(a):
        pass

    configured = kernel[5, 8]
    assert isinstance(configured, LaunchConfiguration)
    configured._lcs_prepared[1] = object()  # as after a launch: not picklable
    assert remember(configured, [1])
    copy = pickle.loads(pickle.dumps(configured))
    assert (copy.griddim, copy.blockdim) == ((5, 1, 1), (8, 1, 1))
    assert copy._lcs_prepared == {}
    assert launcher.impl.remembered(copy) == 0


def test_fast_path_runs_write_backs_and_raises_the_compilers_launch_error(monkeypatch):
    # The pure-Python twin's fast path, launching through a stand-in (the C
    # one needs a driver: test_launch_sites_gpu.py).
    twin = launcher.IMPLEMENTATIONS["python"]

    class StandIn(twin.Launcher):
        def launch(self, args, stream_handle=0, stream=None, *, from_site=False):
            if args[0] < 0:
                raise twin.LaunchError("cuLaunchKernel failed: CUDA_ERROR_X (1)")
            return [lambda: written.append(args[0])]

    class LaunchRefused(Exception):
        pass

    written = []
    monkeypatch.setattr(twin.cuda_driver, "current_context", lambda: CONTEXT)
    twin.configure_sites(None, LaunchRefused)
    try:
        site = Site()
        plan = ((0, lambda v, s, r: [], None, 0, 0, None, True),)
        assert twin.remember(
            site, (1,), StandIn(1, (1, 1, 1), (1, 1, 1), 0, False, plan), 0, None, None, CONTEXT
        )
        assert twin.site_call(site, (5,)) is None
        assert written == [5] and site.dispatcher.calls == []
        with pytest.raises(LaunchRefused, match="CUDA_ERROR_X"):
            twin.site_call(site, (-1,))
        site.pre_launch_callbacks.append(print)  # callbacks: the slow path runs them
        assert twin.site_call(site, (6,)) == "slow path"
        assert written == [5]
    finally:
        configure_sites_as_activation_does()
