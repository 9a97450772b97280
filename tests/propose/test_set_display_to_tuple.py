"""set-display-to-tuple: `x in {A.B, A.C}`, a set built on every test, becomes a tuple."""

from __future__ import annotations

import enum

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.set_display_to_tuple import SetDisplayToTuple

RULE = SetDisplayToTuple()


def test_enum_members_in_a_method_as_tomlkit_writes_them() -> None:
    """tomlkit 0.13.2's StringType, shortened: each method tests `self` against members."""
    before = """
        class StringType(Enum):
            SLB = '"'
            MLB = '\"\"\"'

            def is_basic(self) -> bool:
                return self in {StringType.SLB, StringType.MLB}
        """
    assert rewrite(RULE, before, "StringType.is_basic") == source(
        """
        class StringType(Enum):
            SLB = '"'
            MLB = '\"\"\"'

            def is_basic(self) -> bool:
                return self in (StringType.SLB, StringType.MLB)
        """
    )


def test_not_in_names_and_a_mix_with_literals_keep_their_spacing() -> None:
    before = """
        def keep(token, open_tag, close_tag):
            if token.kind not in { open_tag, close_tag }:
                return None
            return token.text in {"", open_tag, None}
        """
    assert rewrite(RULE, before) == source(
        """
        def keep(token, open_tag, close_tag):
            if token.kind not in ( open_tag, close_tag ):
                return None
            return token.text in ("", open_tag, None)
        """
    )


def test_one_element_keeps_its_tuple_comma() -> None:
    rewritten = rewrite(RULE, "def f(x, a):\n    return x in {a}\n")
    assert rewritten == "def f(x, a):\n    return x in (a,)\n"
    assert load(rewritten)(1, 1) is True and load(rewritten)(1, 2) is False


SILENT = {
    "literals only (already a constant frozenset)": "def f(x):\n    return x in {1, 'a', None}\n",
    "negative and tuple constants": "def f(x):\n    return x in {-1, (1, 'a'), True}\n",
    "a set held in a name": "def f(x, a, b):\n    s = {a, b}\n    return x in s\n",
    "a set display not tested with in": "def f(a, b):\n    return {a, b}\n",
    "a starred element": "def f(x, a, rest):\n    return x in {a, *rest}\n",
    "more than eight elements": ("def f(x, a):\n    return x in {a, 1, 2, 3, 4, 5, 6, 7, 8}\n"),
    "a set comprehension": "def f(x, xs):\n    return x in {y for y in xs}\n",
}


@pytest.mark.parametrize("case", SILENT)
def test_silent(case: str) -> None:
    assert rewrite(RULE, SILENT[case], "f") is None


class Kind(enum.Enum):
    SLB = '"'
    MLB = '"""'
    SLL = "'"
    MLL = "'''"


ORIGINAL = source(
    """
    def f(x, a, b):
        return x in {a, b, 3}, x not in {a, "s"}
    """
)
VALUES = st.integers(-2, 3) | st.text(max_size=1) | st.booleans() | st.none() | st.floats()


@given(VALUES, VALUES, VALUES)
def test_same_results_for_hashable_values(x: object, a: object, b: object) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), x, a, b) == outcome(load(rewritten), x, a, b)


@given(st.sampled_from(Kind), st.sampled_from(Kind), st.sampled_from(Kind))
def test_same_results_for_enum_members(x: Kind, a: Kind, b: Kind) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), x, a, b) == outcome(load(rewritten), x, a, b)


def test_where_it_differs_unhashable_values_and_hash_that_disagrees_with_eq() -> None:
    """Why verification is needed: the set hashes, the tuple only compares."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), [1], 2, 3) == ("raise", TypeError)
    assert outcome(load(rewritten), [1], 2, 3) == ("return", (False, True))

    class EqualToAll:
        def __eq__(self, other: object) -> bool:
            return True

        __hash__ = object.__hash__

    anything = EqualToAll()
    assert outcome(load(ORIGINAL), anything, 1, 2) == ("return", (False, True))
    assert outcome(load(rewritten), anything, 1, 2) == ("return", (True, False))
