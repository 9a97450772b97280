"""list-comprehension: append/setitem/add loops become list, dict and set comprehensions."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.list_comprehension import ListComprehension

RULE = ListComprehension()


def test_append_under_if() -> None:
    before = """
        def selling_days(series):
            \"\"\"Days on which anything sold.\"\"\"
            days = []  # units per selling day
            for units in series:
                if units:
                    days.append(units)
            return days
        """
    assert rewrite(RULE, before) == source(
        """
        def selling_days(series):
            \"\"\"Days on which anything sold.\"\"\"
            days = [units for units in series if units]  # units per selling day
            return days
        """
    )


def test_plain_append_with_tuple_target_and_call() -> None:
    before = """
        def attach(orders, customers):
            pairs = []
            for order, n in orders:
                pairs.append((order, find(customers, n)))
            return pairs
        """
    assert rewrite(RULE, before) == source(
        """
        def attach(orders, customers):
            pairs = [(order, find(customers, n)) for order, n in orders]
            return pairs
        """
    )


def test_dict_and_set() -> None:
    before = """
        def index(items):
            by_sku = {}
            for item in items:
                by_sku[item.sku] = item
            skus = set()
            for item2 in items:
                if item2.active:
                    skus.add(item2.sku)
            return by_sku, skus
        """
    assert rewrite(RULE, before) == source(
        """
        def index(items):
            by_sku = {item.sku: item for item in items}
            skus = {item2.sku for item2 in items if item2.active}
            return by_sku, skus
        """
    )


def test_annotated_start_and_nested_block() -> None:
    before = """
        def f(rows, flag):
            if flag:
                out: list[int] = []
                for row in rows:
                    out.append(row * 2)
                return out
            return None
        """
    assert rewrite(RULE, before) == source(
        """
        def f(rows, flag):
            if flag:
                out: list[int] = [row * 2 for row in rows]
                return out
            return None
        """
    )


def test_parentheses_where_the_comprehension_needs_them() -> None:
    before = """
        def f(a, b):
            out = []
            for x in a, b:
                out.append(y for y in x)
            keys = {}
            for k in a if b else b:
                keys[k] = k, k
            return out, keys
        """
    assert rewrite(RULE, before) == source(
        """
        def f(a, b):
            out = [(y for y in x) for x in (a, b)]
            keys = {k: (k, k) for k in (a if b else b)}
            return out, keys
        """
    )


def test_only_the_function_changes() -> None:
    before = """
        # a comment that stays
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            return out


        def g(xs):
            out = []
            for x in xs:
                out.append(x)
            return out
        """
    rewritten = rewrite(RULE, before, "f")
    assert rewritten is not None
    assert rewritten.startswith("# a comment that stays\ndef f(xs):\n    out = [x for x in xs]\n")
    assert rewritten.endswith(source(before).split("\n\n\n")[1])


UNSAFE = {
    "loop else": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            else:
                out = None
            return out
        """,
    "name used in the element": """
        def f(xs):
            out = []
            for x in xs:
                out.append(len(out) + x)
            return out
        """,
    "name used in the iterable": """
        def f(xs):
            out = []
            for x in xs + out:
                out.append(x)
            return out
        """,
    "name used in the condition": """
        def f(xs):
            out = []
            for x in xs:
                if x not in out:
                    out.append(x)
            return out
        """,
    "loop variable used after the loop": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
            return out, x
        """,
    "loop variable read before, inside an outer loop": """
        def f(rows):
            for row in rows:
                print(x)
                out = []
                for x in row:
                    out.append(x)
        """,
    "break (more than one statement)": """
        def f(xs):
            out = []
            for x in xs:
                if x is None:
                    break
                out.append(x)
            return out
        """,
    "continue under if with more statements": """
        def f(xs):
            out = []
            for x in xs:
                if not x:
                    continue
                out.append(x)
            return out
        """,
    "two statements": """
        def f(xs):
            out = []
            for x in xs:
                out.append(x)
                print(x)
            return out
        """,
    "if with else": """
        def f(xs):
            out = []
            for x in xs:
                if x:
                    out.append(x)
                else:
                    out.append(0)
            return out
        """,
    "not directly after the start value": """
        def f(xs):
            out = []
            n = len(xs)
            for x in xs:
                out.append(x)
            return out, n
        """,
    "inside try: a half-built list may be seen": """
        def f(xs):
            try:
                out = []
                for x in xs:
                    out.append(int(x))
            except ValueError:
                pass
            return out
        """,
    "yield in the element": """
        def f(xs):
            out = []
            for x in xs:
                out.append((yield x))
            return out
        """,
    "walrus in the element": """
        def f(xs):
            out = []
            for x in xs:
                out.append(y := x)
            return out
        """,
    "super() in the element": """
        class C(B):
            def f(self, xs):
                out = []
                for x in xs:
                    out.append(super().g(x))
                return out
        """,
    "dict: both key and value may have effects": """
        def f(xs):
            d = {}
            for x in xs:
                d[key(x)] = value(x)
            return d
        """,
    "used by a nested function": """
        def f(xs):
            out = []
            peek = lambda: len(out)
            for x in xs:
                out.append(peek())
            return out
        """,
    "global accumulator": """
        def f(xs):
            global out
            out = []
            for x in xs:
                out.append(x)
        """,
    "async for": """
        async def f(xs):
            out = []
            async for x in xs:
                out.append(x)
            return out
        """,
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    qualname = "C.f" if "class C" in UNSAFE[case] else None
    assert rewrite(RULE, UNSAFE[case], qualname) is None


ORIGINAL = source(
    """
    def summarise(xs):
        evens = []
        for x in xs:
            if x % 2 == 0:
                evens.append(x * x)
        squares = {}
        for y in xs:
            squares[y] = y * y
        seen = set()
        for z in xs:
            seen.add(-z)
        return evens, squares, seen
    """
)


@given(st.lists(st.integers(-1000, 1000)))
def test_same_results(xs: list[int]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert rewritten.count("for") == 3 and "append" not in rewritten
    assert outcome(load(ORIGINAL), xs) == outcome(load(rewritten), xs)


def test_same_results_on_odd_inputs() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    for xs in [[], [2.5, 2.0, 2], [True, 1, 1.0], "ab", None, [None]]:
        assert outcome(original, xs) == outcome(candidate, xs)
