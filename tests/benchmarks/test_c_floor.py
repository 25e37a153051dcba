"""The benchmarks' C floor (benchmarks/c_floor): what can be checked without
a GPU -- the program builds with nvcc where there is one, and the runner
names the cases it knows."""

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks", "c_floor"))
import c_floor  # noqa: E402


def test_every_case_of_the_benchmarks_is_in_the_program():
    with open(c_floor.SOURCE) as f:
        source = f.read()
    for case in c_floor.CASES:
        assert f'{{"{case}", ' in source, f"launch_floor.cu has no case {case}"


def test_an_unknown_case_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="has no case '3'.*0, 1, 4, 16, 16s, 256s, 80p, 112p"):
        c_floor.run("/nonexistent/launch_floor", "3", 10, 1)


@pytest.mark.skipif(c_floor.nvcc() is None, reason="needs nvcc to build the C floor")
def test_the_program_builds():
    binary, why = c_floor.build()
    assert why is None and os.access(binary, os.X_OK)
