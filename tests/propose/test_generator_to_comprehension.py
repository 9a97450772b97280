"""generator-to-comprehension: generators handed to builtins that consume them become
comprehensions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.generator_to_comprehension import GeneratorToComprehension

RULE = GeneratorToComprehension()


def test_displays_and_consumers() -> None:
    before = """
        def f(xs, pairs, cols):
            a = len(set(x + i for i in cols for x in xs))
            b = list(x for x in xs if x), dict((k, v) for k, v in pairs)
            c = tuple(x * 2 for x in xs), sorted((abs(x) for x in xs), reverse=True)
            d = sum(1 if x in cols else 0 for x in xs), ", ".join(str(x) for x in xs)
            return a, b, c, d, min(x for x in xs), frozenset(x for x in xs)
        """
    assert rewrite(RULE, before) == source(
        """
        def f(xs, pairs, cols):
            a = len({x + i for i in cols for x in xs})
            b = [x for x in xs if x], {k: v for k, v in pairs}
            c = tuple([x * 2 for x in xs]), sorted([abs(x) for x in xs], reverse=True)
            d = sum([1 if x in cols else 0 for x in xs]), ", ".join([str(x) for x in xs])
            return a, b, c, d, min([x for x in xs]), frozenset([x for x in xs])
        """
    )


def test_nested_generators() -> None:
    before = "def f(xss):\n    return sorted(set(x for x in xs) for xs in xss)\n"
    assert (
        rewrite(RULE, before) == "def f(xss):\n    return sorted([{x for x in xs} for xs in xss])\n"
    )


UNSAFE = {
    "any stops early": "def f(xs):\n    return any(x for x in xs)\n",
    "all stops early": "def f(xs):\n    return all(x for x in xs)\n",
    "a generator kept as a value": "def f(xs):\n    g = (x for x in xs)\n    return g\n",
    "another function": "def f(xs, g):\n    return g(x for x in xs)\n",
    "list is rebound": "def f(xs, list):\n    return list(x for x in xs)\n",
    "dict of non-pairs": "def f(xs):\n    return dict(x for x in xs)\n",
    "set with a second argument": "def f(xs):\n    return set((x for x in xs), 1)\n",
    "join on a name": "def f(sep, xs):\n    return sep.join(x for x in xs)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def f(xs):
        return (
            list(10 // x for x in xs),
            set(x % 3 for x in xs),
            dict((x, -x) for x in xs),
            tuple(x for x in xs if x > 0),
            sorted(abs(x) for x in xs),
            sum(x * 2 for x in xs),
            "-".join(str(x) for x in xs),
            max((x for x in xs), default=None),
        )
    """
)


@given(st.lists(st.integers(-4, 4)))
def test_same_results_and_errors(xs: list[int]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), xs) == outcome(load(rewritten), xs)


def test_where_it_differs_stop_iteration() -> None:
    """Why verification is needed: a generator turns StopIteration into RuntimeError."""
    original = "def f(it, n):\n    return list(next(it) for _ in range(n))\n"
    rewritten = rewrite(RULE, original)
    assert rewritten is not None
    assert outcome(load(original), iter([1]), 2) == ("raise", RuntimeError)
    assert outcome(load(rewritten), iter([1]), 2) == ("raise", StopIteration)
