"""bisect-sorted-search: `in` on a list the function sorted itself becomes a binary search."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.bisect_sorted_search import BisectSortedSearch

RULE = BisectSortedSearch()


def test_in_and_not_in() -> None:
    before = """
        import bisect


        def classify(values, allowed):
            limits = sorted(allowed)
            out = []
            for v in values:
                if v in limits:
                    out.append("ok")
                elif len(limits) and v not in limits:
                    out.append(limits[0])
            return out
        """
    assert rewrite(RULE, before, "classify") == source(
        """
        import bisect


        def classify(values, allowed):
            limits = sorted(allowed)
            out = []
            for v in values:
                if (limits_pos := bisect.bisect_left(limits, v)) < len(limits) and limits[limits_pos] == v:
                    out.append("ok")
                elif len(limits) and (not ((limits_pos := bisect.bisect_left(limits, v)) < len(limits) and limits[limits_pos] == v)):
                    out.append(limits[0])
            return out
        """  # noqa: E501
    )


UNSAFE = {
    "appended to": (
        "def f(vs, a):\n    s = sorted(a)\n    for v in vs:\n        if v in s:\n"
        "            s.append(v)\n"
    ),
    "sorted with a key": (
        "def f(vs, a):\n    s = sorted(a, key=abs)\n    for v in vs:\n        print(v in s)\n"
    ),
    "reversed": (
        "def f(vs, a):\n    s = sorted(a, reverse=True)\n    for v in vs:\n        print(v in s)\n"
    ),
    "returned": (
        "def f(vs, a):\n    s = sorted(a)\n    for v in vs:\n        print(v in s)\n    return s\n"
    ),
    "not in a loop": "def f(v, a):\n    s = sorted(a)\n    return v in s\n",
    "inside a comprehension": (
        "def f(vs, a):\n    s = sorted(a)\n    for v in vs:\n        print([w for w in vs "
        "if w in s])\n"
    ),
    "a computed value": (
        "def f(vs, a):\n    s = sorted(a)\n    for v in vs:\n        print(v + 1 in s)\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def hits(values, allowed):
        table = sorted(allowed)
        count = 0
        for v in values:
            if v in table:
                count += 1
            if v not in table:
                count -= 10
        return count
    """
)


@given(
    st.lists(st.integers(-5, 5) | st.floats(-5, 5, allow_nan=False)),
    st.lists(st.integers(-5, 5)),
)
def test_same_results_for_ordered_numbers(values: list[float], allowed: list[int]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), values, allowed) == outcome(load(rewritten), values, allowed)


def test_where_it_differs_nan() -> None:
    """Why verification is needed: NaN is unordered; `in` finds it by identity."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    nan = math.nan
    assert load(ORIGINAL)([nan], [nan]) == 1
    assert load(rewritten)([nan], [nan]) == -10
