"""sorted-min-max: `sorted(X)[0]` → `min(X)`, `sorted(X)[-1]` → `max(X)`."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.sorted_min_max import SortedMinMax

RULE = SortedMinMax()


def test_first_and_last() -> None:
    before = """
        def price_band(prices):
            lowest = sorted(prices)[0]  # cheapest
            highest = sorted(prices)[-1]
            return lowest, highest
        """
    assert rewrite(RULE, before) == source(
        """
        def price_band(prices):
            lowest = min(prices)  # cheapest
            highest = max(prices)
            return lowest, highest
        """
    )


def test_key_is_carried_over() -> None:
    before = """
        def longest(words):
            return (sorted(words, key=len)[-1]).upper()
        """
    assert rewrite(RULE, before) == source(
        """
        def longest(words):
            return (max(words, key=len)).upper()
        """
    )


def test_generator_argument() -> None:
    before = """
        def cheapest(items):
            return sorted(item.price for item in items)[0]
        """
    assert rewrite(RULE, before) == source(
        """
        def cheapest(items):
            return min(item.price for item in items)
        """
    )


UNSAFE = {
    "reverse=": "def f(xs):\n    return sorted(xs, reverse=True)[0]\n",
    "another argument": "def f(xs, k):\n    return sorted(xs, key=k, reverse=False)[-1]\n",
    "index 1": "def f(xs):\n    return sorted(xs)[1]\n",
    "index -2": "def f(xs):\n    return sorted(xs)[-2]\n",
    "slice": "def f(xs):\n    return sorted(xs)[:1]\n",
    "index through a name": "def f(xs, i):\n    return sorted(xs)[i]\n",
    "star argument": "def f(xs):\n    return sorted(*xs)[0]\n",
    "sorted is rebound": "from mylib import sorted\n\ndef f(xs):\n    return sorted(xs)[0]\n",
    "min is rebound locally": "def f(xs, min=0):\n    return sorted(xs)[0] + min\n",
    "stored to": "def f(xs):\n    sorted(xs)[0] = 1\n",
    "a method, not the builtin": "def f(xs):\n    return xs.sorted(xs)[0]\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def band(xs):
        return sorted(xs)[0], sorted(xs)[-1], sorted(xs, key=abs)[0]
    """
)


@given(st.lists(st.integers(), min_size=1))
def test_same_results_without_ties_under_key(xs: list[int]) -> None:
    xs = list(dict.fromkeys(abs(x) for x in xs))  # distinct magnitudes: no ties under key=abs
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), xs) == outcome(load(rewritten), xs)


def test_same_results_on_example_inputs() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    for xs in [[3], [3, -1, 2], (5, 4), [2.5, -7.0], None]:
        assert outcome(original, xs) == outcome(candidate, xs)


def test_where_it_differs_empty_ties_and_nan() -> None:
    """Why verification is needed: errors, ties and unordered values differ."""
    rewritten = rewrite(RULE, "def last(xs, k):\n    return sorted(xs, key=k)[-1]\n")
    assert rewritten is not None
    original = load("def last(xs, k):\n    return sorted(xs, key=k)[-1]\n")
    candidate = load(rewritten)
    # empty input: IndexError from the subscript, ValueError from max
    assert outcome(original, [], None) == ("raise", IndexError)
    assert outcome(candidate, [], None) == ("raise", ValueError)
    # ties: sorted is stable, so [-1] is the LAST largest item; max keeps the FIRST
    assert original(["ab", "cd"], len) == "cd"
    assert candidate(["ab", "cd"], len) == "ab"
    # NaN is unordered: sorting leaves it in place, max skips past it differently
    values = [1.0, math.nan, 0.5]
    assert repr(original(values, None)) != repr(candidate(values, None))
