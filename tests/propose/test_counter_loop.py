"""counter-loop: a counting loop into an empty dict becomes dict(collections.Counter(...))."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.counter_loop import CounterLoop

RULE = CounterLoop()


def test_counting_the_loop_variable() -> None:
    before = """
        import re


        def word_frequencies(words):
            \"\"\"Each word and how often it occurs, in order of first occurrence.\"\"\"
            counts = {}
            for word in words:
                if word in counts:
                    counts[word] += 1
                else:
                    counts[word] = 1
            return counts
        """
    assert rewrite(RULE, before, "word_frequencies") == source(
        """
        import re
        import collections


        def word_frequencies(words):
            \"\"\"Each word and how often it occurs, in order of first occurrence.\"\"\"
            counts = dict(collections.Counter(iter(words)))
            return counts
        """
    )


def test_counting_a_key_under_a_condition_with_get() -> None:
    before = """
        def per_sku(lines):
            units = {}
            for line in lines:
                if line["qty"] > 0:
                    units[line["sku"]] = units.get(line["sku"], 0) + 1
            return units
        """
    assert rewrite(RULE, before) == source(
        """
        import collections
        def per_sku(lines):
            units = dict(collections.Counter(line["sku"] for line in lines if line["qty"] > 0))
            return units
        """
    )


UNSAFE = {
    "counts by two": (
        "def f(ws):\n    c = {}\n    for w in ws:\n        if w in c:\n            c[w] += 2\n"
        "        else:\n            c[w] = 2\n    return c\n"
    ),
    "starts full": (
        "def f(ws):\n    c = {'a': 1}\n    for w in ws:\n        if w in c:\n "
        "           c[w] += 1\n"
        "        else:\n            c[w] = 1\n    return c\n"
    ),
    "more in the loop": (
        "def f(ws):\n    c = {}\n    for w in ws:\n        print(w)\n "
        "       c[w] = c.get(w, 0) + 1\n"
        "    return c\n"
    ),
    "loop variable used after": (
        "def f(ws):\n    c = {}\n    for w in ws:\n        c[w] = c.get(w, 0) + 1\n "
        "   return c, w\n"
    ),
    "dict read in the key": (
        "def f(ws):\n    c = {}\n    for w in ws:\n        c[len(c)] = c.get(len(c), 0) + 1\n"
        "    return c\n"
    ),
    "collections is something else": (
        "from mylib import collections\n\ndef f(ws):\n    c = {}\n    for w in ws:\n"
        "        c[w] = c.get(w, 0) + 1\n    return c\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def counts(words):
        c = {}
        for w in words:
            if w in c:
                c[w] += 1
            else:
                c[w] = 1
        return c, list(c)
    """
)


@given(
    st.lists(st.sampled_from(["a", "b", 1, 1.0, True, (1,)]))
    | st.text(max_size=8)
    | st.dictionaries(st.text(max_size=2), st.integers(), max_size=3)
    | st.lists(st.lists(st.integers(), max_size=1), max_size=2)
)
def test_same_counts_and_key_order(words: object) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    before, after = outcome(load(ORIGINAL), words), outcome(load(rewritten), words)
    assert before == after
    if before[0] == "return":
        assert type(after[1][0]) is dict
        assert [repr(k) for k in before[1][1]] == [repr(k) for k in after[1][1]]
