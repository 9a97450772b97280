"""len-hoist: len() of a sequence the loop does not resize is computed once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.len_hoist import LenHoist

RULE = LenHoist()


def test_while_test_and_item_assignment() -> None:
    before = """
        def bubble_pass(items):
            i = 1
            while i < len(items):
                if items[i - 1] > items[i]:
                    items[i - 1], items[i] = items[i], items[i - 1]
                i += 1
            return items
        """
    assert rewrite(RULE, before) == source(
        """
        def bubble_pass(items):
            items_len = len(items)
            i = 1
            while i < items_len:
                if items[i - 1] > items[i]:
                    items[i - 1], items[i] = items[i], items[i - 1]
                i += 1
            return items
        """
    )


def test_inner_range_moves_out_of_the_outer_loop() -> None:
    before = """
        def pairs(xs, ys):
            out = []
            for x in xs:
                for j in range(len(ys)):
                    out.append((x, j))
            return out
        """
    assert rewrite(RULE, before) == source(
        """
        def pairs(xs, ys):
            ys_len = len(ys)
            out = []
            for x in xs:
                for j in range(ys_len):
                    out.append((x, j))
            return out
        """
    )


UNSAFE = {
    "popped in the loop": (
        "def f(items):\n    while len(items) > 1:\n        items.pop()\n    return items\n"
    ),
    "appended to": (
        "def f(items, x):\n    i = 0\n    while i < len(items):\n        if items[i] == x:\n"
        "            items.append(0)\n        i += 1\n"
    ),
    "rebound": (
        "def f(items):\n    while len(items) > 1:\n        items = items[1:]\n    return items\n"
    ),
    "slice assignment": (
        "def f(items):\n    i = 0\n    while i < len(items):\n        items[i:i + 1] = []\n"
        "        i += 1\n"
    ),
    "del item": "def f(items):\n    while len(items):\n        del items[0]\n",
    "passed to another function": ("def f(items):\n    while len(items):\n        shrink(items)\n"),
    "len of an expression": "def f(a):\n    for x in a:\n        print(len(a[0]))\n",
    "outside a loop": "def f(items):\n    return len(items)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def index_of(items, target):
        i = 0
        while i < len(items):
            if items[i] == target:
                return i
            i += 1
        return -1
    """
)


@given(
    st.lists(st.integers(0, 5)) | st.text(max_size=6) | st.tuples(st.integers()), st.integers(0, 5)
)
def test_same_results(items: list[int], target: int) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), items, target) == outcome(load(rewritten), items, target)


def test_where_it_differs_a_length_changed_by_a_called_function() -> None:
    """Why verification is needed: an alias or a callee may resize the sequence."""
    original = source(
        """
        def drain(items, step):
            n = 0
            while n < len(items):
                step()
                n += 1
            return n
        """
    )
    rewritten = rewrite(RULE, original)
    assert rewritten is not None
    for function, expected in ((load(original), 1), (load(rewritten), 3)):
        items = [1, 2, 3]
        assert function(items, items.clear) == expected
