"""Warnings raised deep inside the package point at the user's line."""

import inspect
import warnings

from numba_cuda_lcs import user_warnings


def _function(module_name, source, name):
    """A function whose frames belong to the module *module_name*."""
    namespace = {"__name__": module_name}
    exec(compile(source, f"<{module_name}>", "exec"), namespace)
    return namespace[name]


# A launch path in miniature: our code calls the compiler, which calls back
# into our code, which warns.
_warns = _function("numba_cuda_lcs.backends.fake", "def warns(warn):\n    warn('deep')\n", "warns")
_compiler = _function("numba.cuda.fake", "def compiler(f, warn):\n    f(warn)\n", "compiler")
_ours = _function("numba_cuda_lcs.fake", "def ours(c, f, warn):\n    c(f, warn)\n", "ours")


def test_a_warning_points_at_the_line_that_entered_the_package():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = inspect.currentframe().f_lineno + 1
        _ours(_compiler, _warns, user_warnings.warn)
    assert [(w.filename, w.lineno) for w in caught] == [(__file__, line)]


def test_the_category_is_runtime_warning_unless_a_warning_is_given():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        user_warnings.warn("plain")
        user_warnings.warn(UserWarning("typed"))
    assert [w.category for w in caught] == [RuntimeWarning, UserWarning]
    assert all(w.filename == __file__ for w in caught)
