"""enumerate-index: index loops that need the index and the item use enumerate."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.enumerate_index import EnumerateIndex

RULE = EnumerateIndex()


def test_index_and_item() -> None:
    before = """
        def first_above(prices, limit):
            for i in range(len(prices)):
                if prices[i] > limit:
                    return i, prices[i]
            return -1, None
        """
    assert rewrite(RULE, before) == source(
        """
        def first_above(prices, limit):
            for i, prices_item in enumerate(prices):
                if prices_item > limit:
                    return i, prices_item
            return -1, None
        """
    )


def test_index_used_after_the_loop_and_other_items_read() -> None:
    before = """
        def rises(xs):
            out = []
            for i in range(len(xs)):
                out.append(xs[i] - xs[i - 1])
            return out, i
        """
    assert rewrite(RULE, before) == source(
        """
        def rises(xs):
            out = []
            for i, xs_item in enumerate(xs):
                out.append(xs_item - xs[i - 1])
            return out, i
        """
    )


UNSAFE = {
    "only X[I] (range-len-iteration's case)": (
        "def f(xs):\n    t = 0\n    for i in range(len(xs)):\n        t += xs[i]\n    return t\n"
    ),
    "item stored": (
        "def f(xs):\n    for i in range(len(xs)):\n        xs[i] = xs[i] * i\n    return xs\n"
    ),
    "index reassigned": (
        "def f(xs):\n    for i in range(len(xs)):\n        i += 1\n        print(xs[i], i)\n"
    ),
    "method call on X": (
        "def f(xs):\n    for i in range(len(xs)):\n        print(xs[i], i)\n        xs.append(1)\n"
    ),
    "X passed on": "def f(xs):\n    for i in range(len(xs)):\n        g(xs, xs[i], i)\n",
    "range with a start": "def f(xs):\n    for i in range(1, len(xs)):\n        print(xs[i], i)\n",
    "enumerate is rebound": (
        "def f(xs, enumerate):\n    for i in range(len(xs)):\n        print(xs[i], i)\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def weighted(xs):
        total = 0
        last = -1
        for i in range(len(xs)):
            total += i * xs[i]
            last = i
        return total, last
    """
)


@given(st.lists(st.integers()) | st.text(max_size=4) | st.binary(max_size=4))
def test_same_results_on_sequences(xs: list[int]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), xs) == outcome(load(rewritten), xs)


def test_where_it_differs_mappings() -> None:
    """Why verification is needed: a dict with int keys iterates keys, not values."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    table = {0: 10, 1: 20}
    assert load(ORIGINAL)(table) == (20, 1)
    assert load(rewritten)(table) == (1, 1)
