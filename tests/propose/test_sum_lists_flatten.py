"""sum-lists-flatten: `sum(lists, [])` becomes a flat comprehension that fails like sum."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.sum_lists_flatten import SumListsFlatten

RULE = SumListsFlatten()


def test_comprehension_argument() -> None:
    before = """
        def all_order_lines(orders):
            \"\"\"Every line of the given orders, order by order.\"\"\"
            return sum([order["lines"] for order in orders], [])
        """
    assert rewrite(RULE, before) == source(
        """
        def all_order_lines(orders):
            \"\"\"Every line of the given orders, order by order.\"\"\"
            return [item for sublist in [order["lines"] for order in orders] for item in (sublist if isinstance(sublist, list) else [] + sublist)]
        """  # noqa: E501
    )


def test_start_keyword_and_fresh_names() -> None:
    before = """
        def flatten(groups, item):
            return sum(groups, start=[]), item
        """
    assert rewrite(RULE, before) == source(
        """
        def flatten(groups, item):
            return [item_1 for sublist in groups for item_1 in (sublist if isinstance(sublist, list) else [] + sublist)], item
        """  # noqa: E501
    )


UNSAFE = {
    "a non-empty start": "def f(xs):\n    return sum(xs, [0])\n",
    "numbers": "def f(xs):\n    return sum(xs)\n",
    "a tuple start": "def f(xs):\n    return sum(xs, ())\n",
    "sum is rebound": "def f(xs, sum):\n    return sum(xs, [])\n",
    "isinstance is rebound": "from mylib import isinstance\n\ndef f(xs):\n    return sum(xs, [])\n",
    "star argument": "def f(xs):\n    return sum(*xs, [])\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def f(groups):
        return sum([g * 2 for g in groups if len(g) != 1], []), sum(iter(groups), [])
    """
)

SUBLISTS = (
    st.lists(st.integers(), max_size=3)
    | st.tuples(st.integers())
    | st.text(max_size=2)
    | st.integers()
    | st.none()
)


@given(st.lists(SUBLISTS, max_size=5))
def test_same_results_and_errors(groups: list[object]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), groups) == outcome(load(rewritten), groups)


def test_same_error_message_for_a_tuple() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    messages = []
    for function in (load(ORIGINAL), load(rewritten)):
        with pytest.raises(TypeError) as caught:
            function([[1], (2,)])
        messages.append(str(caught.value))
    assert messages[0] == messages[1] == 'can only concatenate list (not "tuple") to list'


def test_where_it_differs_radd() -> None:
    """Why verification is needed: sum hands __radd__ the list so far, the rewrite []."""

    class Tail:
        def __radd__(self, other: list[int]) -> list[int]:
            return [*other, len(other)]

    plain = "def f(groups):\n    return sum(groups, [])\n"
    rewritten = rewrite(RULE, plain)
    assert rewritten is not None
    assert load(plain)([[7, 8], Tail()]) == [7, 8, 2]
    assert load(rewritten)([[7, 8], Tail()]) == [7, 8, 0]
