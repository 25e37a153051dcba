"""Pure-Python twin of ``numba_cuda_lcs._tls`` (the C extension).

Same functions, same semantics, built on :class:`threading.local`.  It is used
when the C extension is unavailable or ``NUMBA_CUDA_LCS_PURE_PYTHON=1`` is
set, and the test-suite runs every TLS test against both implementations.
"""

import threading

__all__ = [
    "current_args",
    "current_config",
    "swap_args",
    "current_launch",
    "begin_launch",
    "end_launch",
    "begin_compile",
    "end_compile",
    "in_compile",
    "compile_marks",
    "add_marks",
]


class _State(threading.local):
    def __init__(self):
        self.args = None
        self.launch = None
        self.config = None
        self.marks = 0
        self.depth = 0


_state = _State()


def current_args():
    return _state.args


def current_config():
    return _state.config


def swap_args(new_args):
    prev = _state.args
    _state.args = new_args
    return prev


def current_launch():
    return _state.launch


def begin_launch(launch, args):
    st = _state
    token = (st.launch, st.args)
    st.launch = launch
    st.args = args
    return token


def end_launch(token):
    if type(token) is not tuple or len(token) != 2:
        raise TypeError("end_launch() takes the token begin_launch() returned")
    _state.launch, _state.args = token


def begin_compile(config):
    st = _state
    token = (st.config, st.marks, st.depth)
    st.config = config
    st.marks = 0
    st.depth += 1
    return token


def end_compile(token):
    if not isinstance(token, tuple) or len(token) != 3:
        raise TypeError("end_compile() takes the token begin_compile() returned")
    config, marks, depth = token
    marks = int(marks)
    depth = int(depth)
    st = _state
    if depth != st.depth - 1:
        raise RuntimeError(
            "end_compile() called out of order: compile frames must be closed innermost first"
        )
    st.config = config
    st.marks = marks
    st.depth = depth


def in_compile():
    return _state.depth > 0


def compile_marks():
    return _state.marks


def add_marks(mask):
    mask = int(mask)
    st = _state
    if st.depth <= 0:
        raise RuntimeError("add_marks() is only valid inside a compile frame")
    st.marks |= mask
    return st.marks
