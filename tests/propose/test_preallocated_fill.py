"""preallocated-fill: a placeholder list filled index by index becomes a comprehension."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.preallocated_fill import PreallocatedFill

RULE = PreallocatedFill()


def test_fill_with_calls() -> None:
    before = """
        def benchmark(n):
            points = [None] * n  # one per step
            for i in range(n):
                points[i] = Point(i)
            for p in points:
                p.normalize()
            return points
        """
    assert rewrite(RULE, before) == source(
        """
        def benchmark(n):
            points = [Point(i) for i in range(n)]  # one per step
            for p in points:
                p.normalize()
            return points
        """
    )


def test_literal_size_and_zero_placeholder() -> None:
    before = "def f():\n    sq = [0] * 10\n    for k in range(10):\n        sq[k] = k * k\n"
    after = "def f():\n    sq = [k * k for k in range(10)]\n"
    assert rewrite(RULE, before) == after


def _fill(size: str, loop: str, step: str, end: str = "a") -> str:
    start = f"def f(n, m, x):\n    a = [{size}] * n\n"
    return f"{start}    for i in {loop}:\n        {step}\n    return {end}\n"


UNSAFE = {
    "another size": _fill("0", "range(n - 1)", "a[i] = i"),
    "another name": _fill("0", "range(m)", "a[i] = i"),
    "other index": _fill("0", "range(n)", "a[n - i - 1] = i"),
    "reads the list": _fill("1", "range(n)", "a[i] = a[i - 1] + 1"),
    "conditional store": _fill("0", "range(n)", "if i % 2:\n            a[i] = i"),
    "range with a start": _fill("0", "range(0, n)", "a[i] = i"),
    "a computed placeholder": _fill("x", "range(n)", "a[i] = i"),
    "index used after": _fill("0", "range(n)", "a[i] = i", "a, i"),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def f(n):
        out = [None] * n
        for i in range(n):
            out[i] = 100 // (i - 3)
        return out
    """
)


@given(st.integers(-3, 8) | st.sampled_from([2.5, "3", None]))
def test_same_results_and_errors(n: int) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), n) == outcome(load(rewritten), n)
