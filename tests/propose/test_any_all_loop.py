"""any-all-loop: flag loops and early-return loops become any()."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.any_all_loop import AnyAllLoop

RULE = AnyAllLoop()


def test_return_true_then_false() -> None:
    before = """
        def has_shouting(words):
            # any word in capitals?
            for word in words:
                if word.isupper() and len(word) > 1:
                    return True
            return False
        """
    assert rewrite(RULE, before) == source(
        """
        def has_shouting(words):
            # any word in capitals?
            return any(word.isupper() and len(word) > 1 for word in words)
        """
    )


def test_return_false_then_true_is_not_any() -> None:
    before = """
        def all_positive(xs):
            for x in xs:
                if x <= 0:
                    return False
            return True
        """
    assert rewrite(RULE, before) == source(
        """
        def all_positive(xs):
            return not any(x <= 0 for x in xs)
        """
    )


def test_flag_and_break_with_a_plain_function_maps() -> None:
    before = """
        def needs_review(orders, suspicious):
            flagged = False
            for order in orders:
                if suspicious(order):
                    flagged = True
                    break
            return flagged
        """
    assert rewrite(RULE, before) == source(
        """
        def needs_review(orders, suspicious):
            flagged = any(map(suspicious, orders))
            return flagged
        """
    )


UNSAFE = {
    "returns the item": (
        "def f(xs):\n    for x in xs:\n        if x:\n            return x\n    return False\n"
    ),
    "same constant twice": (
        "def f(xs):\n    for x in xs:\n        if x:\n            return True\n    return True\n"
    ),
    "loop else": (
        "def f(xs):\n    for x in xs:\n        if x:\n            return True\n    else:\n"
        "        pass\n    return False\n"
    ),
    "more in the loop": (
        "def f(xs):\n    for x in xs:\n        print(x)\n        if x:\n            return True\n"
        "    return False\n"
    ),
    "flag without break": (
        "def f(xs):\n    found = False\n    for x in xs:\n        if x:\n            found = True\n"
        "    return found\n"
    ),
    "flag read in the test": (
        "def f(xs):\n    found = False\n    for x in xs:\n        if x or found:\n"
        "            found = True\n            break\n    return found\n"
    ),
    "loop variable used after": (
        "def f(xs):\n    found = False\n    for x in xs:\n        if x:\n            found = True\n"
        "            break\n    return found, x\n"
    ),
    "walrus in the test": (
        "def f(xs):\n    for x in xs:\n        if (y := x):\n            return True\n "
        "   return False\n"
    ),
    "generator": (
        "def f(xs):\n    yield 1\n    for x in xs:\n        if x:\n            return True\n"
        "    return False\n"
    ),
    "any is rebound": (
        "def f(xs, any):\n    for x in xs:\n        if x:\n            return True\n "
        "   return False\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINALS = [
    source(
        """
        def f(xs, limit):
            for x in xs:
                if x > limit:
                    return True
            return False
        """
    ),
    source(
        """
        def f(xs, limit):
            hit = True
            for x in xs:
                if 10 // x > limit:
                    hit = False
                    break
            return hit
        """
    ),
    source(
        """
        def f(xs, limit):
            bad = False
            for x in xs:
                if abs(x):
                    bad = True
                    break
            return bad, limit
        """
    ),
]


@pytest.mark.parametrize("original", ORIGINALS)
@given(xs=st.lists(st.integers(-3, 3)), limit=st.integers(-3, 3))
def test_same_results_and_exceptions(original: str, xs: list[int], limit: int) -> None:
    rewritten = rewrite(RULE, original)
    assert rewritten is not None
    assert outcome(load(original), xs, limit) == outcome(load(rewritten), xs, limit)


def test_stops_at_the_same_item() -> None:
    """any() short-circuits like the loop: items after the hit are never looked at."""
    original = ORIGINALS[0]
    rewritten = rewrite(RULE, original)
    assert rewritten is not None
    for function in (load(original), load(rewritten)):
        seen: list[int] = []

        def watched(seen: list[int] = seen):
            for value in [1, 5, 2, 9]:
                seen.append(value)
                yield value

        assert function(watched(), 4) is True
        assert seen == [1, 5]
