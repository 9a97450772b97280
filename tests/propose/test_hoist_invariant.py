"""hoist-invariant: arithmetic on values a loop keeps is computed once before the loop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.hoist_invariant import HoistInvariant

RULE = HoistInvariant()


def test_whole_subexpressions_move_to_the_outermost_loop_they_do_not_change_in() -> None:
    before = """
        def normalised(rows, low, high, grid):
            out = []
            for row in rows:
                for v in row:
                    out.append((v - low) / (high - low) * grid.step + row[0] * (low + 1))
                    out.append(v - len(row) * grid.step)
            return out
        """
    assert rewrite(RULE, before) == source(
        """
        def normalised(rows, low, high, grid):
            high_minus_low = high - low
            low_plus_1 = low + 1
            out = []
            for row in rows:
                for v in row:
                    out.append((v - low) / high_minus_low * grid.step + row[0] * low_plus_1)
                    out.append(v - len(row) * grid.step)
            return out
        """
    )


def test_attributes_of_unchanged_objects_move_where_the_loop_always_reads_them() -> None:
    before = """
        def scaled(self, points):
            out = []
            for p in points:
                out.append(p * (self.scale * self.zoom))
                if p:
                    out.append(p - self.offset * 2)
            return out
        """
    assert rewrite(RULE, before) == source(
        """
        def scaled(self, points):
            self_scale_times_self_zoom = self.scale * self.zoom
            out = []
            for p in points:
                out.append(p * self_scale_times_self_zoom)
                if p:
                    out.append(p - self.offset * 2)
            return out
        """
    )


def test_no_reassociation_and_conditional_code_only_moves_what_cannot_fail() -> None:
    before = """
        def f(xs, a, b, k):
            out = []
            for x in xs:
                if x:
                    out.append(x * a * b + k / (a - b))
            return out
        """
    assert rewrite(RULE, before) == source(
        """
        def f(xs, a, b, k):
            a_minus_b = a - b
            out = []
            for x in xs:
                if x:
                    out.append(x * a * b + k / a_minus_b)
            return out
        """
    )


UNSAFE = {
    "operand assigned in the loop": (
        "def f(xs, a, b):\n    for x in xs:\n        print(a * b)\n        a = x\n"
    ),
    "only constants": "def f(xs):\n    for x in xs:\n        print(x + 2 * 3)\n",
    "depends on the loop variable": "def f(xs, a):\n    for x in xs:\n        print(x * a)\n",
    "an item: may raise IndexError if the loop runs zero times": (
        "def f(xs, table):\n    for x in xs:\n        print(table[0] * 2)\n"
    ),
    "a division: may raise ZeroDivisionError": (
        "def f(xs, a, b):\n    for x in xs:\n        print(x * (a / b))\n"
    ),
    "attribute of an object whose method the loop calls": (
        "def f(xs, acc):\n    for x in xs:\n        print(acc.total * 2)\n        acc.add(x)\n"
    ),
    "attribute under an if": (
        "def f(xs, a, b):\n    for x in xs:\n        if b:\n            print(a.b * 2)\n"
    ),
    "in a comprehension": "def f(xs, a, b):\n    return [x + a * b for x in xs]\n",
    "not bound before the loop": (
        "def f(xs):\n    for x in xs:\n        if x:\n            print(k * 2)\n        k = x\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def f(xs, a, b):
        total = 0
        for x in xs:
            total += x * (a * b) - (a - b) * -b
        return total
    """
)


@given(
    st.lists(st.integers(-9, 9) | st.floats(-1e3, 1e3), min_size=1),
    st.integers(-5, 5) | st.floats(-1e6, 1e6),
    st.integers(-5, 5),
)
def test_same_results_when_the_loop_runs(xs: list[float], a: float, b: int) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), xs, a, b) == outcome(load(rewritten), xs, a, b)


def test_where_it_differs_an_error_before_an_empty_loop() -> None:
    """Why verification is needed: the hoisted expression runs even if the loop does not."""
    original = "def f(xs, a, b):\n    for x in xs:\n        print(x * (a * b))\n    return 0\n"
    rewritten = rewrite(RULE, original)
    assert rewritten is not None
    assert outcome(load(original), [], 10**400, 0.5) == ("return", 0)
    assert outcome(load(rewritten), [], 10**400, 0.5) == ("raise", OverflowError)
