"""The thread-local launch state: C extension and pure-Python twin alike.

The tests of the state itself request ``tls_impl`` and run over both twins
(the contract both must keep); which one a process binds, and switching it,
run once.
"""

import sys
import threading

import pytest
from support.processes import run_python


def test_nothing_published_outside_a_launch(tls_impl):
    assert tls_impl.current_args() is None
    assert tls_impl.current_launch() is None
    assert tls_impl.current_config() is None
    assert tls_impl.in_compile() is False
    assert tls_impl.compile_marks() == 0


def test_swap_args_returns_previous_and_restores(tls_impl):
    a, b = ("a",), ("b",)
    assert tls_impl.swap_args(a) is None
    assert tls_impl.current_args() is a
    assert tls_impl.swap_args(b) is a
    assert tls_impl.current_args() is b
    assert tls_impl.swap_args(a) is b
    assert tls_impl.swap_args(None) is a
    assert tls_impl.current_args() is None


def test_launches_nest_and_restore_launch_and_args(tls_impl):
    # The launch in progress and its arguments (numba-cuda-mlir's configured
    # launches publish both): nested launches restore the outer ones.
    outer, inner = object(), object()
    outer_args, inner_args = ("o",), ("i",)
    assert tls_impl.current_launch() is None
    t1 = tls_impl.begin_launch(outer, outer_args)
    assert (tls_impl.current_launch(), tls_impl.current_args()) == (outer, outer_args)
    t2 = tls_impl.begin_launch(inner, inner_args)
    assert tls_impl.current_launch() is inner and tls_impl.current_args() is inner_args
    tls_impl.end_launch(t2)
    assert tls_impl.current_launch() is outer and tls_impl.current_args() is outer_args
    tls_impl.end_launch(t1)
    assert tls_impl.current_launch() is None and tls_impl.current_args() is None
    with pytest.raises(TypeError):
        tls_impl.end_launch("not a token")
    assert tls_impl.current_launch() is None


def test_launches_are_per_thread_and_hold_no_reference_after(tls_impl):
    launch, args = object(), ("x",)
    base, base_args = sys.getrefcount(launch), sys.getrefcount(args)
    seen = []
    token = tls_impl.begin_launch(launch, args)
    assert sys.getrefcount(launch) == base + 1  # held while published
    worker = threading.Thread(target=lambda: seen.append(tls_impl.current_launch()))
    worker.start()
    worker.join(timeout=30)
    assert seen == [None]
    for _ in range(1000):
        tls_impl.end_launch(tls_impl.begin_launch(launch, args))
    tls_impl.end_launch(token)
    del token
    assert sys.getrefcount(launch) == base
    assert sys.getrefcount(args) == base_args


def test_compile_frames_nest_and_restore(tls_impl):
    outer, inner = object(), object()
    t1 = tls_impl.begin_compile(outer)
    assert tls_impl.current_config() is outer and tls_impl.in_compile()
    tls_impl.add_marks(2)
    t2 = tls_impl.begin_compile(inner)
    assert tls_impl.current_config() is inner
    assert tls_impl.compile_marks() == 0  # marks are per compilation
    assert tls_impl.add_marks(1) == 1
    assert tls_impl.add_marks(4) == 5
    tls_impl.end_compile(t2)
    assert tls_impl.current_config() is outer
    assert tls_impl.compile_marks() == 2
    tls_impl.end_compile(t1)
    assert tls_impl.current_config() is None and not tls_impl.in_compile()
    assert tls_impl.compile_marks() == 0


def test_eager_frame_publishes_no_config(tls_impl):
    token = tls_impl.begin_compile(None)
    try:
        assert tls_impl.in_compile()
        assert tls_impl.current_config() is None
    finally:
        tls_impl.end_compile(token)
    assert not tls_impl.in_compile()


def test_restored_when_the_compilation_raises(tls_impl):
    config = object()

    def compile_that_fails():
        token = tls_impl.begin_compile(config)
        try:
            tls_impl.add_marks(7)
            raise ValueError("boom")
        finally:
            tls_impl.end_compile(token)

    with pytest.raises(ValueError):
        compile_that_fails()
    assert tls_impl.current_config() is None
    assert tls_impl.compile_marks() == 0
    assert not tls_impl.in_compile()


def test_frames_must_close_innermost_first(tls_impl):
    t1 = tls_impl.begin_compile(object())
    t2 = tls_impl.begin_compile(object())
    with pytest.raises(RuntimeError, match="innermost first"):
        tls_impl.end_compile(t1)
    tls_impl.end_compile(t2)
    tls_impl.end_compile(t1)
    assert not tls_impl.in_compile()


def test_bad_tokens_and_marks_outside_a_frame(tls_impl):
    with pytest.raises(TypeError):
        tls_impl.end_compile("not a token")
    with pytest.raises(RuntimeError, match="compile frame"):
        tls_impl.add_marks(1)


def test_threads_are_isolated(tls_impl):
    barrier = threading.Barrier(8)
    seen = {}
    errors = []

    def worker(i):
        try:
            config, args = object(), (i,)
            prev = tls_impl.swap_args(args)
            token = tls_impl.begin_compile(config)
            tls_impl.add_marks(1 << (i % 3))
            barrier.wait(timeout=10)
            seen[i] = (
                tls_impl.current_config() is config,
                tls_impl.current_args() is args,
                tls_impl.compile_marks() == 1 << (i % 3),
            )
            barrier.wait(timeout=10)
            tls_impl.end_compile(token)
            tls_impl.swap_args(prev)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert seen == {i: (True, True, True) for i in range(8)}
    assert tls_impl.current_config() is None and tls_impl.current_args() is None


def test_no_reference_leaks(tls_impl):
    config, args = object(), ("x",)
    base_config, base_args = sys.getrefcount(config), sys.getrefcount(args)
    for _ in range(10000):
        prev = tls_impl.swap_args(args)
        token = tls_impl.begin_compile(config)
        tls_impl.current_config()
        tls_impl.current_args()
        nested = tls_impl.begin_compile(None)
        tls_impl.end_compile(nested)
        tls_impl.end_compile(token)
        tls_impl.swap_args(prev)
        del token, nested, prev
    assert sys.getrefcount(config) == base_config
    assert sys.getrefcount(args) == base_args


def test_published_objects_are_held_while_published(tls_impl):
    class Config:
        pass

    config = Config()
    base = sys.getrefcount(config)
    token = tls_impl.begin_compile(config)
    assert sys.getrefcount(config) == base + 1
    tls_impl.end_compile(token)
    assert sys.getrefcount(config) == base


def _selected_in_a_fresh_process(**env):
    code = "from numba_cuda_lcs import tls; print(tls.IMPLEMENTATION)"
    return run_python("-c", code, env=env, timeout=120).stdout.strip()


def test_c_extension_is_what_the_package_uses_when_built():
    from numba_cuda_lcs import tls

    expected = "c" if "c" in tls.IMPLEMENTATIONS else "python"
    assert _selected_in_a_fresh_process(NUMBA_CUDA_LCS_PURE_PYTHON="0") == expected
    assert _selected_in_a_fresh_process(NUMBA_CUDA_LCS_PURE_PYTHON="1") == "python"


def test_use_switches_every_caller_at_once():
    from numba_cuda_lcs import launchconfig, tls

    previous = tls.use("python")
    try:
        config = object()
        token = tls.impl.begin_compile(config)
        try:
            # launchconfig reads through tls, so it sees the switched state.
            assert launchconfig.current_launch_config() is config
        finally:
            tls.impl.end_compile(token)
        with pytest.raises(ValueError, match="available"):
            tls.use("fortran")
    finally:
        tls.use(previous)
