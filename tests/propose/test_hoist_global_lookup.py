"""hoist-global-lookup: globals and builtins read in a loop become locals bound before it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.hoist_global_lookup import HoistGlobalLookup

RULE = HoistGlobalLookup()


def test_globals_and_builtins_in_a_loop() -> None:
    before = """
        STOPWORDS = ["a", "the"]


        def content_words(tokens):
            \"\"\"Meaningful tokens.\"\"\"
            words = []
            for token in tokens:
                if token not in STOPWORDS and len(token) > 1:
                    words.append(token)
            return words, len(words)
        """
    assert rewrite(RULE, before, "content_words") == source(
        """
        STOPWORDS = ["a", "the"]


        def content_words(tokens):
            \"\"\"Meaningful tokens.\"\"\"
            _STOPWORDS = STOPWORDS
            _len = len
            words = []
            for token in tokens:
                if token not in _STOPWORDS and _len(token) > 1:
                    words.append(token)
            return words, len(words)
        """
    )


def test_each_outer_loop_binds_its_own_and_names_do_not_clash() -> None:
    before = """
        def f(xs, flag, _abs):
            if flag:
                for x in xs:
                    print(abs(x))
            for y in xs:
                while y:
                    y = abs(y) - 1
            return [abs(v) for v in xs]
        """
    assert rewrite(RULE, before, "f") == source(
        """
        def f(xs, flag, _abs):
            if flag:
                _print = print
                _abs_1 = abs
                for x in xs:
                    _print(_abs_1(x))
            _abs_1 = abs
            for y in xs:
                while y:
                    y = _abs_1(y) - 1
            return [abs(v) for v in xs]
        """
    )


UNSAFE = {
    "no loop": "def f(x):\n    return len(x)\n",
    "global statement": (
        "COUNT = 0\n\ndef f(xs):\n    global COUNT\n    for x in xs:\n        COUNT += len(x)\n"
    ),
    "locals()": "def f(xs):\n    for x in xs:\n        print(locals())\n",
    "only locals": "def f(xs):\n    n = 0\n    for x in xs:\n        n += x\n    return n\n",
    "undefined name": "def f(xs):\n    for x in xs:\n        not_defined_anywhere(x)\n",
    "only in a nested function": (
        "def f(xs):\n    for x in xs:\n        g = lambda: len(x)\n    return g\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    LIMIT = 3


    def clipped(xs):
        out = []
        for x in xs:
            out.append(min(abs(x), LIMIT))
        return out
    """
)


@given(st.lists(st.integers()) | st.lists(st.floats(allow_nan=False)) | st.none())
def test_same_results(xs: list[float] | None) -> None:
    rewritten = rewrite(RULE, ORIGINAL, "clipped")
    assert rewritten is not None
    assert outcome(load(ORIGINAL, "clipped"), xs) == outcome(load(rewritten, "clipped"), xs)


def test_where_it_differs_a_global_rebound_during_the_loop() -> None:
    """Why verification is needed: the loop keeps the value the global had before it."""
    original = source(
        """
        SCALE = 1


        def bump():
            global SCALE
            SCALE += 1


        def scaled(xs):
            out = []
            for x in xs:
                bump()
                out.append(x * SCALE)
            return out
        """
    )
    rewritten = rewrite(RULE, original, "scaled")
    assert rewritten is not None
    assert load(original, "scaled")([1, 1]) == [2, 3]
    assert load(rewritten, "scaled")([1, 1]) == [1, 1]
