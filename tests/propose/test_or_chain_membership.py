"""or-chain-membership: `x == a or x == b` against literals becomes `x in {a, b}`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.or_chain_membership import OrChainMembership

RULE = OrChainMembership()


def test_or_chain_and_and_chain() -> None:
    before = """
        def classify(order, ch):
            status = order["status"].strip()
            if status == "cancelled" or status == "refunded" or status == "chargeback":
                return None
            closing = ch == "." or ch == "!" or ch == "?"
            return closing, order["n"] != 0 and order["n"] != -1
        """
    assert rewrite(RULE, before) == source(
        """
        def classify(order, ch):
            status = order["status"].strip()
            if status in {"cancelled", "refunded", "chargeback"}:
                return None
            closing = ch in {".", "!", "?"}
            return closing, order["n"] not in {0, -1}
        """
    )


def test_parentheses_where_the_chain_sits_among_operators() -> None:
    before = "def f(x, y):\n    return (x == 1 or x == 2) + y, not (x == 3 or x == 4)\n"
    assert rewrite(RULE, before) == (
        "def f(x, y):\n    return (x in {1, 2}) + y, not (x in {3, 4})\n"
    )


UNSAFE = {
    "different subjects": "def f(x, y):\n    return x == 1 or y == 2\n",
    "not literals": "def f(x, a, b):\n    return x == a or x == b\n",
    "mixed operators": "def f(x):\n    return x == 1 or x != 2\n",
    "mixed and/or": "def f(x):\n    return x == 1 or x == 2 and x == 3\n",
    "a call as subject": "def f(x):\n    return x() == 1 or x() == 2\n",
    "one comparison": "def f(x, y):\n    return x == 1 or y\n",
    "a float literal": "def f(x):\n    return x == 0.1 or x == 0.2\n",
    "an f-string": "def f(x, y):\n    return x == f'{y}' or x == 'a'\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def f(x):
        return (x == 1 or x == "a" or x == -2), (x != 0 and x != "b")
    """
)


@given(st.integers(-3, 3) | st.text(max_size=2) | st.floats() | st.booleans() | st.none())
def test_same_results_for_hashable_values(x: object) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), x) == outcome(load(rewritten), x)


def test_where_it_differs_unhashable_values() -> None:
    """Why verification is needed: a set lookup hashes the value."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), [1]) == ("return", (False, True))
    assert outcome(load(rewritten), [1]) == ("raise", TypeError)
