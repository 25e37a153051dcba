"""The tests' choice of C speedups or pure-Python twins (support/twins.py):
children run the twin under test, a missing C build is a skip with its
reason, and an error when the C twin is asked for by name."""

import os
import re
import sys

import pytest
from support import twins as choice
from support.processes import TESTS_DIR, run_python

BOUND = (
    "from numba_cuda_lcs import launcher, tls\nprint(tls.IMPLEMENTATION, launcher.IMPLEMENTATION)\n"
)


def test_a_child_process_runs_the_twin_under_test(twins):
    assert choice.in_effect() == twins
    assert run_python("-c", BOUND).stdout.split() == [twins, twins]


def test_children_of_tests_run_once_get_the_sessions_twin():
    assert run_python("-c", BOUND).stdout.split()[1] == choice.in_effect()


def test_both_twins_by_default_and_a_missing_c_build_is_a_skip_with_its_reason():
    assert choice.params({}, problem=None) == ["c", "python"]
    c, python = choice.params({}, problem="the C extension x is not built: boom")
    assert python == "python" and c.values == ("c",)
    (skip,) = c.marks
    assert skip.name == "skip" and skip.kwargs["reason"] == "the C extension x is not built: boom"


@pytest.mark.parametrize(
    "value, names, default",
    [("c", ["c"], "c"), ("python", ["python"], "python"), (" c , python,c", ["c", "python"], None)],
)
def test_the_twins_asked_for_by_name(value, names, default):
    environ = {choice.VARIABLE: value}
    assert choice.params(environ, problem=None) == names
    assert choice.session_default(environ) == default
    assert choice.params({choice.VARIABLE: "python"}, problem="not built") == ["python"]


@pytest.mark.parametrize("value", ["c", "c,python"])
def test_asking_for_a_c_twin_that_is_not_built_is_an_error(value):
    with pytest.raises(pytest.UsageError, match="asks for the C twin, but not built: boom"):
        choice.params({choice.VARIABLE: value}, problem="not built: boom")


@pytest.mark.parametrize("value", ["fortran", ",", "c,rust"])
def test_other_values_are_usage_errors(value):
    with pytest.raises(pytest.UsageError, match="expected c, python or c,python"):
        choice.params({choice.VARIABLE: value})


# Without the C launcher, as a checkout that did not build it: a meta-path
# finder refuses the extension before the package imports it.
WITHOUT_C = """\
import sys
class NoCLauncher:
    def find_spec(self, name, path=None, target=None):
        if name == "numba_cuda_lcs._launcher":
            raise ImportError("not built (test)")
sys.meta_path.insert(0, NoCLauncher())
import pytest
sys.exit(pytest.main(sys.argv[1:]))
"""


def run_pytest_without_c(tmp_path, **env):
    test = os.path.join(TESTS_DIR, "core", "test_tls.py::test_nothing_published_outside_a_launch")
    args = ["-p", "no:cacheprovider", "-p", "no:xdist", "-q", "-rs", test]
    return run_python("-c", WITHOUT_C, *args, env=env, check=False, cwd=tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX paths")
def test_a_run_without_the_c_build_skips_the_c_twin_or_refuses_it_when_asked(tmp_path):
    default = run_pytest_without_c(tmp_path, NUMBA_CUDA_LCS_TWINS=None)
    out = default.stdout
    assert default.returncode == 0, out + default.stderr
    assert "1 passed, 1 skipped" in out
    assert re.search(
        r"the C extension numba_cuda_lcs\._\w+ is not built: .*pip install -e \. builds it", out
    )

    asked = run_pytest_without_c(tmp_path, NUMBA_CUDA_LCS_TWINS="c")
    assert asked.returncode == pytest.ExitCode.USAGE_ERROR, asked.stdout + asked.stderr
    assert "NUMBA_CUDA_LCS_TWINS asks for the C twin, but the C extension" in asked.stderr
