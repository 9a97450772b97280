"""set-membership: `x in NAME` in a loop tests against a set built once before the loop."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.set_membership import SetMembership

RULE = SetMembership()


def test_parameter_list_gets_a_set_before_the_loop() -> None:
    before = """
        def discontinued_units(lines, discontinued_skus):
            units = 0
            for line in lines:
                if line["sku"] in discontinued_skus:  # a list of SKUs
                    units += line["qty"]
            return units
        """
    assert rewrite(RULE, before) == source(
        """
        def discontinued_units(lines, discontinued_skus):
            discontinued_skus_set = set(discontinued_skus)
            units = 0
            for line in lines:
                if line["sku"] in discontinued_skus_set:  # a list of SKUs
                    units += line["qty"]
            return units
        """
    )


def test_module_global_and_not_in() -> None:
    before = """
        STOPWORDS = ["a", "the"]


        def content_words(tokens):
            # keep the meaningful ones
            words = []
            for token in tokens:
                if token not in STOPWORDS:
                    words.append(token)
            return words
        """
    assert rewrite(RULE, before, "content_words") == source(
        """
        STOPWORDS = ["a", "the"]


        def content_words(tokens):
            # keep the meaningful ones
            STOPWORDS_set = set(STOPWORDS)
            words = []
            for token in tokens:
                if token not in STOPWORDS_set:
                    words.append(token)
            return words
        """
    )


def test_while_test_and_local_assigned_before_the_loop() -> None:
    before = """
        def first_missing(numbers):
            present = list(numbers)
            n = 0
            while n in present:
                n += 1
            return n
        """
    assert rewrite(RULE, before) == source(
        """
        def first_missing(numbers):
            present = list(numbers)
            present_set = set(present)
            n = 0
            while n in present_set:
                n += 1
            return n
        """
    )


def test_set_is_built_before_the_outermost_loop_that_leaves_name_alone() -> None:
    before = """
        def pairs(xs, ys, allowed):
            out = 0
            for x in xs:
                for y in ys:
                    if (x, y) in allowed:
                        out += 1
            return out
        """
    assert rewrite(RULE, before) == source(
        """
        def pairs(xs, ys, allowed):
            allowed_set = set(allowed)
            out = 0
            for x in xs:
                for y in ys:
                    if (x, y) in allowed_set:
                        out += 1
            return out
        """
    )


def test_inner_loop_when_the_outer_loop_changes_the_list() -> None:
    before = """
        def grow(xs, ys, seen):
            for x in xs:
                for y in ys:
                    if y in seen:
                        print(y)
                seen.append(x)
        """
    assert rewrite(RULE, before) == source(
        """
        def grow(xs, ys, seen):
            for x in xs:
                seen_set = set(seen)
                for y in ys:
                    if y in seen_set:
                        print(y)
                seen.append(x)
        """
    )


def test_generated_name_does_not_clash() -> None:
    before = """
        def f(xs, keep):
            keep_set = 1
            return [x for x in xs if keep_set], [x for x in xs], g(xs, keep)


        def g(xs, keep):
            keep_set = None
            out = 0
            for x in xs:
                if x in keep:
                    out += 1
            return out, keep_set
        """
    rewritten = rewrite(RULE, before, "g")
    assert rewritten is not None
    assert "keep_set_1 = set(keep)" in rewritten
    assert "if x in keep_set_1:" in rewritten


UNSAFE = {
    "appended to in the loop": """
        def f(xs, seen):
            for x in xs:
                if x not in seen:
                    seen.append(x)
        """,
    "passed to a call in the loop": """
        def f(xs, seen):
            for x in xs:
                if x not in seen:
                    record(seen, x)
        """,
    "assigned in the loop": """
        def f(xs, seen):
            for x in xs:
                if x in seen:
                    seen = seen + [x]
        """,
    "augmented in the loop": """
        def f(xs, seen):
            for x in xs:
                if x not in seen:
                    seen += [x]
        """,
    "item assigned in the loop": """
        def f(xs, seen):
            for x in xs:
                if x in seen:
                    seen[0] = x
        """,
    "deleted in the loop": """
        def f(xs, seen):
            for x in xs:
                if x in seen:
                    del seen[0]
        """,
    "assigned after the loop started": """
        def f(xs):
            for x in xs:
                if x in later:
                    return x
            later = []
        """,
    "a string global (substring test)": """
        PUNCTUATION = ".,;:!?"

        def f(text):
            out = 0
            for ch in text:
                if ch in PUNCTUATION:
                    out += 1
            return out
        """,
    "a local annotated as a set": """
        def f(xs, ys):
            seen: set[int] = make(ys)
            for x in xs:
                if x in seen:
                    return x
        """,
    "a parameter annotated as str": """
        def f(xs, letters: str):
            for x in xs:
                if x in letters:
                    return x
        """,
    "already a set": """
        def f(xs):
            seen = set()
            for x in xs:
                if x in seen:
                    return x
        """,
    "a dict": """
        def f(xs, table):
            table = {}
            for x in xs:
                if x in table:
                    return x
        """,
    "string literal": """
        def f(xs):
            for x in xs:
                if x in "aeiou":
                    return x
        """,
    "set display": """
        def f(xs):
            for x in xs:
                if x in {1, 2, 3}:
                    return x
        """,
    "range": """
        def f(xs, n):
            for x in xs:
                if x in range(n):
                    return x
        """,
    "attribute": """
        def f(self, xs):
            for x in xs:
                if x in self.items:
                    return x
        """,
    "not in a loop": """
        def f(x, items):
            return x in items
        """,
    "unknown origin (builtin or undefined)": """
        def f(xs):
            for x in xs:
                if x in undefined_name:
                    return x
        """,
    "aliased": """
        def f(xs, seen):
            alias = seen
            for x in xs:
                if x not in seen:
                    alias.append(x)
        """,
    "generator: the caller may change it between items": """
        def f(xs, seen):
            for x in xs:
                if x not in seen:
                    yield x
        """,
    "**kwargs is a dict": """
        def f(xs, **options):
            for x in xs:
                if x in options:
                    return x
        """,
    "may be None (set(None) would raise)": """
        def f(xs, allowed):
            for x in xs:
                if allowed is None or x in allowed:
                    return x
        """,
    "a method's self has its own __contains__": """
        class Bag(list):
            def f(self, xs):
                for x in xs:
                    if x in self:
                        return x
        """,
    "a mapping's keys": """
        def f(xs, table):
            names = table.keys()
            for x in xs:
                if x in names:
                    return x
        """,
    "tested inside a lambda": """
        def f(xs, seen):
            for x in xs:
                keep = lambda y: y in seen
        """,
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    qualname = "Bag.f" if "class Bag" in UNSAFE[case] else None
    assert rewrite(RULE, UNSAFE[case], qualname) is None


ORIGINAL = source(
    """
    def count_known(items, known):
        hits = 0
        for item in items:
            if item in known:
                hits += 1
            elif item not in known and item > 10:
                hits -= 1
        return hits
    """
)


def test_example_inputs_agree() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    for items, known in [
        ([], []),
        ([1, 2, 3], [2]),
        ([11, 12, 3], (3, 4)),
        ([1.0, 1, True], [1]),
        ([float("nan")], [float("nan")]),
    ]:
        assert outcome(original, items, known) == outcome(candidate, items, known)


@given(st.lists(st.integers(-20, 20)), st.lists(st.integers(-20, 20)))
def test_same_results_for_hashable_items(items: list[int], known: list[int]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), items, known) == outcome(load(rewritten), items, known)


def test_where_it_differs_unhashable_elements_and_eager_set() -> None:
    """Why verification is needed: set() needs hashable elements and runs before the loop."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    # unhashable elements: the list test works, building the set raises
    assert outcome(original, [[1]], [[1]]) == ("return", 1)
    assert outcome(candidate, [[1]], [[1]]) == ("raise", TypeError)
    # the loop never runs: the original never looks at `known`, the set is built anyway
    assert outcome(original, [], None) == ("return", 0)
    assert outcome(candidate, [], None) == ("raise", TypeError)
