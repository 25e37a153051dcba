"""Helpers for the numba-cuda-mlir backend tests.

``cc90`` lets numba-cuda-mlir compile PTX/cubins without a GPU (its compile
path asks the driver for the host's compute capability).  ``FakeLaunches``
replaces the backend's call into numba-cuda-mlir's native launcher with one
that resolves and compiles exactly like it (a per-dispatcher table of
compiled kernels by argument types, ``dispatcher._compile(args)`` on a miss,
no lock) but does not launch: what each launch *would* have run is recorded.
"""

import threading
import warnings

import pytest

numba_cuda_mlir = pytest.importorskip("numba_cuda_mlir")

from numba_cuda_mlir import tools as mlir_tools  # noqa: E402
from numba_cuda_mlir.numba_cuda.typing.typeof import typeof  # noqa: E402

from numba_cuda_lcs import tls  # noqa: E402
from numba_cuda_lcs.backends.numba_cuda_mlir import configured_launch  # noqa: E402


def fake_cc(as_type=str):
    return (9, 0) if as_type is tuple else "sm_90"


@pytest.fixture
def cc90(monkeypatch):
    monkeypatch.setattr(mlir_tools, "get_gpu_compute_capability", fake_cc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", category=Warning)
        yield


class FakeLaunches:
    def __init__(self):
        self.lock = threading.Lock()
        self.natives = {}  # (id(native dispatcher), argtypes) -> compiled result
        self.launched = []  # (launch, dispatcher, cubin)

    @staticmethod
    def call(marshaller, *args):
        """numba-cuda-mlir's ``__call__`` without a GPU: arguments typed,
        nothing copied to a device, then the (routing) ``_launch``."""
        return marshaller._launch([typeof(a) for a in args], list(args), args)

    def __call__(self, marshaller, argtypes, launch_args, launch_values=None):
        target = marshaller._dispatcher
        argtypes = tuple(typeof(a) for a in launch_args)
        key = (id(target._c), argtypes)  # the native dispatcher
        found = self.natives.get(key)
        if found is None:
            found = target._compile(list(launch_args))
            self.natives[key] = found
        with self.lock:
            self.launched.append((tls.current_launch(), target, found[0]))
        return None


@pytest.fixture
def fake_launches(cc90, monkeypatch):
    fake = FakeLaunches()
    monkeypatch.setattr(configured_launch, "invoke", fake)
    monkeypatch.setattr(configured_launch.ConfiguredLaunch, "__call__", FakeLaunches.call)
    return fake


def compiled_for_cubin(dispatcher, cubin):
    """The compile result (in *dispatcher*.overloads) that produced *cubin*."""
    for cres in list(dispatcher.overloads.values()):
        if cres.metadata.get("cubin") is cubin:
            return cres
    raise AssertionError("the launched cubin is not one of the dispatcher's kernels")


def shared_bytes(ptx):
    """Sizes of the static shared arrays declared in *ptx*."""
    import re

    return [int(n) for n in re.findall(r"\.shared \.align \d+ \.b8 \w+\[(\d+)\]", ptx)]
