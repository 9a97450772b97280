"""sum-loop: a loop that adds up values becomes `sum([...])`, up to Python 3.11."""

from __future__ import annotations

import math
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.model import FunctionRef
from perfloop.propose import propose_rule_candidates
from perfloop.propose.rules.sum_loop import SumLoop

RULE = SumLoop()


def test_enumerate_loop() -> None:
    before = """
        def part_a_times_u(i, u):
            partial_sum = 0
            for j, u_j in enumerate(u):
                partial_sum += eval_a(i, j) * u_j
            return partial_sum
        """
    assert rewrite(RULE, before) == source(
        """
        def part_a_times_u(i, u):
            partial_sum = sum([eval_a(i, j) * u_j for j, u_j in enumerate(u)])
            return partial_sum
        """
    )


def test_float_start_is_kept_and_condition() -> None:
    before = """
        def units(lines, skus):
            total = 0.0
            for line in lines:
                if line["sku"] in skus:
                    total += line["qty"]
            return total
        """
    assert rewrite(RULE, before) == source(
        """
        def units(lines, skus):
            total = sum([line["qty"] for line in lines if line["sku"] in skus], 0.0)
            return total
        """
    )


UNSAFE = {
    "integer literal step (count-loop's)": (
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n    return n\n"
    ),
    "starts at one": "def f(xs):\n    n = 1\n    for x in xs:\n        n += x\n    return n\n",
    "subtracts": "def f(xs):\n    n = 0\n    for x in xs:\n        n -= x\n    return n\n",
    "reads the total": (
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += n * x\n    return n\n"
    ),
    "sum is rebound": (
        "def f(xs, sum):\n    n = 0\n    for x in xs:\n        n += x\n    return n, sum\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


def test_version_gate_python_3_12_compensates_float_sums() -> None:
    """From 3.12 sum() of floats is compensated, so the rule is not offered there."""
    assert RULE.supports((3, 11)) and RULE.supports((3, 10))
    assert not RULE.supports((3, 12)) and not RULE.supports((3, 13))
    module = "def f(xs):\n    t = 0.0\n    for x in xs:\n        t += x\n    return t\n"
    ref = FunctionRef("m", "f")
    origins = lambda version: [  # noqa: E731
        c.origin for c in propose_rule_candidates(ref, "m.py", module, python_version=version)
    ]
    assert "rule:sum-loop" in origins((3, 11))
    assert "rule:sum-loop" not in origins((3, 12))


ORIGINAL = source(
    """
    def weighted(xs, w):
        total = 0
        for x in xs:
            total += x * w
        return total
    """
)


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="sum() is compensated from 3.12")
@given(st.lists(st.floats(allow_nan=False) | st.integers()), st.floats(-4, 4) | st.integers())
def test_same_bits_up_to_3_11(xs: list[float], w: float) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    before, after = outcome(load(ORIGINAL), xs, w), outcome(load(rewritten), xs, w)
    if before[0] == "return" and isinstance(before[1], float) and math.isnan(before[1]):
        assert math.isnan(after[1])  # inf - inf: NaN in both
    else:
        assert before == after


def test_where_it_differs_in_place_add() -> None:
    """Why verification is needed: `+=` may add in place where sum() adds anew."""
    numpy = pytest.importorskip("numpy")
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    xs = [numpy.array([1, 2]), numpy.array([0.5, 0.5])]
    with pytest.raises(TypeError):  # int array += float array: casting error (a TypeError)
        load(ORIGINAL)(xs, 1)
    assert load(rewritten)(xs, 1).tolist() == [1.5, 2.5]
