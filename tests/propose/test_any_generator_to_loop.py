"""any-generator-to-loop: any()/all() over a generator expression becomes a loop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.any_generator_to_loop import AnyGeneratorToLoop

RULE = AnyGeneratorToLoop()

# sqlparse 0.5.1 `sqlparse.utils.imt`, verbatim: 11% of a formatting workload's time.
SQLPARSE_IMT = '''
def imt(token, i=None, m=None, t=None):
    """Helper function to simplify comparisons Instance, Match and TokenType"""
    if token is None:
        return False
    if i and isinstance(token, i):
        return True
    if m:
        if isinstance(m, list):
            if any(token.match(*pattern) for pattern in m):
                return True
        elif token.match(*m):
            return True
    if t:
        if isinstance(t, list):
            if any(token.ttype in ttype for ttype in t):
                return True
        elif token.ttype in t:
            return True
    return False
'''


def test_sqlparse_imt_becomes_the_loops_a_maintainer_writes() -> None:
    assert rewrite(RULE, SQLPARSE_IMT) == source(
        '''
        def imt(token, i=None, m=None, t=None):
            """Helper function to simplify comparisons Instance, Match and TokenType"""
            if token is None:
                return False
            if i and isinstance(token, i):
                return True
            if m:
                if isinstance(m, list):
                    for pattern in m:
                        if token.match(*pattern):
                            return True
                elif token.match(*m):
                    return True
            if t:
                if isinstance(t, list):
                    for ttype in t:
                        if token.ttype in ttype:
                            return True
                elif token.ttype in t:
                    return True
            return False
        '''
    )


def test_return_all_with_a_condition_tests_the_negation() -> None:
    before = """
        def all_valid(rows, limit):
            # every non-empty row under the limit?
            return all(len(row) < limit for row in rows if row)
        """
    assert rewrite(RULE, before) == source(
        """
        def all_valid(rows, limit):
            # every non-empty row under the limit?
            for row in rows:
                if row:
                    if not len(row) < limit:
                        return False
            return True
        """
    )


def test_assignment_sets_the_name_once_at_the_end() -> None:
    before = """
        def needs_quotes(word, specials):
            quoted = not any(c in word for c in specials)
            return quoted
        """
    assert rewrite(RULE, before) == source(
        """
        def needs_quotes(word, specials):
            for c in specials:
                if c in word:
                    quoted = False
                    break
            else:
                quoted = True
            return quoted
        """
    )


def test_a_branch_that_does_not_return_runs_in_the_loop_then_breaks() -> None:
    before = """
        def keep_primes(numbers, out):
            for n in numbers:
                if not any(n % d == 0 for d in (2, 3, 5)):
                    out.append(n)
                else:
                    out.append(-n)
            return out
        """
    assert rewrite(RULE, before) == source(
        """
        def keep_primes(numbers, out):
            for n in numbers:
                for d in (2, 3, 5):
                    if n % d == 0:
                        out.append(-n)
                        break
                else:
                    out.append(n)
            return out
        """
    )


def test_several_for_clauses_when_the_hit_returns() -> None:
    before = """
        def has_empty(table):
            return any(cell == "" for row in table for cell in row)
        """
    assert rewrite(RULE, before) == source(
        """
        def has_empty(table):
            for row in table:
                for cell in row:
                    if cell == "":
                        return True
            return False
        """
    )


UNSAFE = {
    "name used after": "def f(xs):\n    ok = any(x for x in xs)\n    return ok, x\n",
    "name is a parameter": "def f(xs, x):\n    return any(x for x in xs)\n",
    "several fors, branch falls through": (
        "def f(rows, out):\n    if any(v for r in rows for v in r):\n        out.append(1)\n"
        "    return out\n"
    ),
    "several fors, assignment": (
        "def f(rows):\n    ok = any(v for r in rows for v in r)\n    return ok\n"
    ),
    "break of an outer loop in the branch": (
        "def f(rows):\n    for r in rows:\n        if any(v for v in r):\n            break\n"
        "    return r\n"
    ),
    "continue of an outer loop in the branch": (
        "def f(rows, out):\n    for r in rows:\n        if not all(v for v in r):\n"
        "            continue\n        out.append(r)\n    return out\n"
    ),
    "a lambda in the element": "def f(xs, g):\n    return any(g(lambda: x) for x in xs)\n",
    "walrus": "def f(xs):\n    return any((y := x) for x in xs)\n",
    "frame inspection": "def f(xs):\n    return any(locals() for x in xs)\n",
    "any is rebound": "def f(xs, any):\n    return any(x for x in xs)\n",
    "all is rebound at module level": (
        "def f(xs):\n    return all(x for x in xs)\n\ndef all(xs):\n    return True\n"
    ),
    "global loop name": "def f(xs):\n    global x\n    return any(x for x in xs)\n",
    "a list, not a generator": "def f(xs):\n    return any([x for x in xs])\n",
    "part of a larger expression": "def f(xs, y):\n    return y and any(x for x in xs)\n",
    "a keyword argument": "def f(xs):\n    return any(iterable=(x for x in xs))\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINALS = [
    source(
        """
        def f(xs, limit):
            return any(x > limit for x in xs)
        """
    ),
    source(
        """
        def f(xs, limit):
            return not all(10 // x > limit for x in xs if x != limit)
        """
    ),
    source(
        """
        def f(xs, limit):
            hit = all(abs(x) - limit for x in xs)
            return hit, limit
        """
    ),
    source(
        """
        def f(xs, limit):
            out = []
            if any(x == limit for x in xs):
                out.append("hit")
            elif limit > 0:
                out.append(limit)
            else:
                out.append(10 // limit)
            return out
        """
    ),
    source(
        """
        def f(xs, limit):
            if not any(10 // x == limit for x in xs):
                raise ValueError(limit)
            return limit
        """
    ),
    source(
        """
        def f(xs, limit):
            pairs = [(x, y) for x in xs for y in xs]
            return all(a + b != limit for a, b in pairs)
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
    """The loop stops at the first hit like any(): items after it are never looked at."""
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


def test_where_it_differs_stop_iteration_from_the_element() -> None:
    """A generator turns a StopIteration raised by an item into RuntimeError (PEP 479)."""
    original = "def f(xs):\n    return any(next(iter(x)) for x in xs)\n"
    rewritten = rewrite(RULE, original)
    assert rewritten is not None
    assert outcome(load(original), [[]]) == ("raise", RuntimeError)
    assert outcome(load(rewritten), [[]]) == ("raise", StopIteration)
