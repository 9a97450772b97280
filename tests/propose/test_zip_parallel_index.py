"""zip-parallel-index: index loops over several sequences iterate them with zip."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.zip_parallel_index import ZipParallelIndex

RULE = ZipParallelIndex()


def test_two_sequences() -> None:
    before = """
        def dot(u, v):
            total = 0
            for i in range(len(u)):
                total += u[i] * v[i]
            return total
        """
    assert rewrite(RULE, before) == source(
        """
        def dot(u, v):
            total = 0
            for u_item, v_item in zip(u, v):
                total += u_item * v_item
            return total
        """
    )


def test_three_sequences_in_order_of_appearance() -> None:
    before = """
        def blend(a, b, w):
            out = []
            for k in range(len(a)):
                out.append(w[k] * a[k] + (1 - w[k]) * b[k])
            return out
        """
    assert rewrite(RULE, before) == source(
        """
        def blend(a, b, w):
            out = []
            for a_item, w_item, b_item in zip(a, w, b):
                out.append(w_item * a_item + (1 - w_item) * b_item)
            return out
        """
    )


UNSAFE = {
    "one sequence (range-len-iteration's case)": (
        "def f(u):\n    t = 0\n    for i in range(len(u)):\n        t += u[i]\n    return t\n"
    ),
    "index used alone": (
        "def f(u, v):\n    t = 0\n    for i in range(len(u)):\n        t += u[i] * v[i] * i\n"
        "    return t\n"
    ),
    "index used after": (
        "def f(u, v):\n    for i in range(len(u)):\n        print(u[i], v[i])\n    return i\n"
    ),
    "the len() sequence is not read": (
        "def f(u, v, w):\n    for i in range(len(u)):\n        print(v[i], w[i])\n"
    ),
    "item stored": "def f(u, v):\n    for i in range(len(u)):\n        u[i] = v[i]\n",
    "zip is rebound": (
        "def f(u, v, zip):\n    for i in range(len(u)):\n        print(u[i], v[i])\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def dot(u, v):
        total = 0
        for i in range(len(u)):
            total += u[i] * v[i]
        return total
    """
)


@given(st.data())
def test_same_results_for_equal_or_longer_second_sequences(data: st.DataObject) -> None:
    u = data.draw(st.lists(st.integers(-9, 9)))
    v = u[::-1] + data.draw(st.lists(st.integers(-9, 9)))
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), u, v) == outcome(load(rewritten), u, v)


def test_where_it_differs_a_shorter_second_sequence() -> None:
    """Why verification is needed: the loop raises IndexError, zip stops early."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), [1, 2], [3]) == ("raise", IndexError)
    assert outcome(load(rewritten), [1, 2], [3]) == ("return", 3)
