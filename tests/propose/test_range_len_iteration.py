"""range-len-iteration: `for i in range(len(xs))` that only reads `xs[i]` iterates `xs`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.range_len_iteration import RangeLenIteration

RULE = RangeLenIteration()


def test_index_used_only_to_read_items() -> None:
    before = """
        def days_meeting_target(series, target):
            count = 0
            for i in range(len(series)):  # every day
                if series[i] >= target:
                    count += series[i] // target
            return count
        """
    assert rewrite(RULE, before) == source(
        """
        def days_meeting_target(series, target):
            count = 0
            for series_item in series:  # every day
                if series_item >= target:
                    count += series_item // target
            return count
        """
    )


def test_item_attribute_may_be_set_and_other_items_read() -> None:
    before = """
        def reset(items, first):
            for k in range(len(items)):
                items[k].seen = items[0] is first
        """
    assert rewrite(RULE, before) == source(
        """
        def reset(items, first):
            for items_item in items:
                items_item.seen = items[0] is first
        """
    )


def test_nested_loops_over_different_sequences_and_fresh_names() -> None:
    before = """
        def pairs(a, b):
            a_item = None
            total = 0
            for i in range(len(a)):
                for j in range(len(b)):
                    total += a[i] * b[j]
            return total, a_item
        """
    assert rewrite(RULE, before) == source(
        """
        def pairs(a, b):
            a_item = None
            total = 0
            for a_item_1 in a:
                for b_item in b:
                    total += a_item_1 * b_item
            return total, a_item
        """
    )


UNSAFE = {
    "index used alone": """
        def f(xs):
            for i in range(len(xs)):
                print(i, xs[i])
        """,
    "index in arithmetic": """
        def f(xs):
            for i in range(len(xs)):
                print(xs[i] - xs[i - 1])
        """,
    "item stored to": """
        def f(xs):
            for i in range(len(xs)):
                xs[i] = xs[i] * 2
        """,
    "item augmented": """
        def f(xs):
            for i in range(len(xs)):
                xs[i] += 1
        """,
    "item deleted": """
        def f(xs):
            for i in range(len(xs)):
                del xs[i]
        """,
    "method call on the sequence": """
        def f(xs):
            for i in range(len(xs)):
                xs.append(xs[i])
        """,
    "sequence passed to a call": """
        def f(xs):
            for i in range(len(xs)):
                show(xs, xs[i])
        """,
    "sequence rebound": """
        def f(xs):
            for i in range(len(xs)):
                print(xs[i])
                xs = []
        """,
    "loop else": """
        def f(xs):
            for i in range(len(xs)):
                print(xs[i])
            else:
                print("done")
        """,
    "index used after the loop": """
        def f(xs):
            for i in range(len(xs)):
                print(xs[i])
            return i
        """,
    "item read in a lambda": """
        def f(xs):
            getters = []
            for i in range(len(xs)):
                getters.append(lambda: xs[i])
            return getters
        """,
    "attribute, not a plain name": """
        def f(self):
            for i in range(len(self.items)):
                print(self.items[i])
        """,
    "range with a start": """
        def f(xs):
            for i in range(1, len(xs)):
                print(xs[i])
        """,
    "len is rebound": """
        def f(xs, len):
            for i in range(len(xs)):
                print(xs[i])
        """,
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case]) is None


ORIGINAL = source(
    """
    def weighted(xs, w):
        total = 0
        best = None
        for i in range(len(xs)):
            total += xs[i] * w
            if best is None or xs[i] > best:
                best = xs[i]
        return total, best
    """
)


@given(st.one_of(st.lists(st.integers()), st.lists(st.integers()).map(tuple), st.text()))
def test_same_results_for_sequences(xs: object) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    w = "" if isinstance(xs, str) else 3
    assert outcome(load(ORIGINAL), xs, w) == outcome(load(rewritten), xs, w)


def test_same_results_on_example_inputs() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    for xs in [[], [3, 1, 2], (2.5,), b"ab", range(5), None]:
        assert outcome(original, xs, 2) == outcome(candidate, xs, 2)


def test_where_it_differs_mappings() -> None:
    """Why verification is needed: a dict iterates its keys, `d[i]` looks up values."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    table = {0: 10, 1: 20}
    assert original(table, 1) == (30, 20)
    assert candidate(table, 1) == (1, 1)
