"""sorted-slice-heapq: `sorted(x)[:k]` becomes `heapq.nsmallest(k, x)` (nlargest if reversed)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.sorted_slice_heapq import SortedSliceHeapq

RULE = SortedSliceHeapq()


def test_assignment_then_return_slice() -> None:
    before = """
        def top_terms(counts, n):
            \"\"\"The n most frequent words.\"\"\"
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            return ranked[:n]
        """
    assert rewrite(RULE, before) == source(
        """
        import heapq
        def top_terms(counts, n):
            \"\"\"The n most frequent words.\"\"\"
            ranked = heapq.nsmallest(n, counts.items(), key=lambda item: (-item[1], item[0]))
            return ranked
        """
    )


def test_inline_slices_reverse_and_key() -> None:
    before = """
        import heapq


        def extremes(xs, k):
            return sorted(xs, key=abs, reverse=True)[:3], sorted(xs, reverse=False)[:k]
        """
    assert rewrite(RULE, before, "extremes") == source(
        """
        import heapq


        def extremes(xs, k):
            return heapq.nlargest(3, xs, key=abs), heapq.nsmallest(k, xs)
        """
    )


UNSAFE = {
    "whole list used too": ("def f(xs, n):\n    r = sorted(xs)\n    print(r)\n    return r[:n]\n"),
    "a tail slice": "def f(xs, n):\n    return sorted(xs)[-n:]\n",
    "a start": "def f(xs, n):\n    return sorted(xs)[1:n]\n",
    "a step": "def f(xs, n):\n    return sorted(xs)[:n:2]\n",
    "a computed k": "def f(xs, n):\n    return sorted(xs)[: n + 1]\n",
    "a negative literal k": "def f(xs):\n    return sorted(xs)[:-1]\n",
    "reverse from a variable": "def f(xs, r):\n    return sorted(xs, reverse=r)[:3]\n",
    "sorted is rebound": "from mylib import sorted\n\ndef f(xs):\n    return sorted(xs)[:3]\n",
    "heapq is something else": "heapq = None\n\ndef f(xs):\n    return sorted(xs)[:3]\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def best(pairs, k):
        return (
            sorted(pairs, key=lambda p: p[1])[:k],
            sorted(pairs, key=lambda p: p[1], reverse=True)[:k],
            sorted(pairs)[:k],
        )
    """
)


@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3))),
    st.integers(0, 12),
)
def test_same_results_ties_included(pairs: list[tuple[int, int]], k: int) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), pairs, k) == outcome(load(rewritten), pairs, k)


def test_where_it_differs_negative_k() -> None:
    """Why verification is needed: a negative k slices from the end, heapq gives []."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    pairs = [(1, 2), (0, 1), (2, 0)]
    assert load(ORIGINAL)(pairs, -1)[2] == [(0, 1), (1, 2)]
    assert load(rewritten)(pairs, -1)[2] == []
