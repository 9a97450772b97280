"""count-loop: a loop that counts matching items becomes `len([...])`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.count_loop import CountLoop

RULE = CountLoop()


def test_count_under_if() -> None:
    before = """
        def sentence_count(review):
            count = 0  # sentences
            for ch in review:
                if ch == "." or ch == "!":
                    count += 1
            return count
        """
    assert rewrite(RULE, before) == source(
        """
        def sentence_count(review):
            count = len([1 for ch in review if ch == "." or ch == "!"])  # sentences
            return count
        """
    )


def test_count_without_condition_and_tuple_target() -> None:
    before = """
        def pairs(items):
            n = 0
            for key, value in items:
                n += 1
            return n
        """
    assert rewrite(RULE, before) == source(
        """
        def pairs(items):
            n = len([1 for key, value in items])
            return n
        """
    )


UNSAFE = {
    "adds two": "def f(xs):\n    n = 0\n    for x in xs:\n        n += 2\n    return n\n",
    "starts at one": "def f(xs):\n    n = 1\n    for x in xs:\n        n += 1\n    return n\n",
    "starts at a float": "def f(xs):\n    n = 0.0\n    for x in xs:\n        n += 1\n",
    "else branch": (
        "def f(xs):\n    n = 0\n    for x in xs:\n        if x:\n            n += 1\n"
        "        else:\n            n -= 1\n    return n\n"
    ),
    "break": (
        "def f(xs):\n    n = 0\n    for x in xs:\n        if not x:\n            break\n"
        "        n += 1\n    return n\n"
    ),
    "loop variable used after": (
        "def f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n    return n, x\n"
    ),
    "counter read in the condition": (
        "def f(xs):\n    n = 0\n    for x in xs:\n        if x > n:\n            n += 1\n "
        "   return n\n"
    ),
    "inside try": (
        "def f(xs):\n    n = 0\n    try:\n        for x in xs:\n            if 1 / x:\n"
        "                n += 1\n    except ZeroDivisionError:\n        pass\n    return n\n"
    ),
    "len is rebound": (
        "from mylib import len\n\ndef f(xs):\n    n = 0\n    for x in xs:\n        n += 1\n"
        "    return n\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def above(series, target):
        count = 0
        for units in series:
            if units >= target:
                count += 1
        return count
    """
)


@given(st.lists(st.integers(-5, 60)), st.integers(0, 50))
def test_same_results(series: list[int], target: int) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), series, target) == outcome(load(rewritten), series, target)


def test_same_results_and_errors_on_odd_inputs() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    for series, target in [([], 1), ("abc", "b"), ([1, "a"], 0), (None, 0), ([1.5, 2], 2)]:
        assert outcome(original, series, target) == outcome(candidate, series, target)
