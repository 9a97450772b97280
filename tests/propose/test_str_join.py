"""str-join: a string built with `+=` in a loop becomes one `"".join(...)`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.str_join import StrJoin

RULE = StrJoin()


def test_concatenation_under_if() -> None:
    before = """
        PUNCTUATION = ".,;:!?"


        def strip_punctuation(review):
            cleaned = ""
            for ch in review:
                if ch not in PUNCTUATION:
                    cleaned += ch
            return cleaned
        """
    assert rewrite(RULE, before, "strip_punctuation") == source(
        """
        PUNCTUATION = ".,;:!?"


        def strip_punctuation(review):
            cleaned = "".join([ch for ch in review if ch not in PUNCTUATION])
            return cleaned
        """
    )


def test_plain_concatenation_keeps_the_quote_style() -> None:
    before = """
        def render(rows):
            html = ''
            for name, value in rows:
                html += f"<td>{name}</td><td>{value}</td>"
            return html
        """
    assert rewrite(RULE, before) == source(
        """
        def render(rows):
            html = ''.join([f"<td>{name}</td><td>{value}</td>" for name, value in rows])
            return html
        """
    )


UNSAFE = {
    "break": """
        def f(text):
            out = ""
            for ch in text:
                if ch == ".":
                    break
                out += ch
            return out
        """,
    "continue": """
        def f(text):
            out = ""
            for ch in text:
                if ch == " ":
                    continue
                out += ch
            return out
        """,
    "loop else": """
        def f(text):
            out = ""
            for ch in text:
                out += ch
            else:
                out += "."
            return out
        """,
    "name used in the expression": """
        def f(text):
            out = ""
            for ch in text:
                out += ch + out[-1:]
            return out
        """,
    "name used in the iterable": """
        def f(text):
            out = ""
            for ch in text + out:
                out += ch
            return out
        """,
    "loop variable used after the loop": """
        def f(text):
            out = ""
            for ch in text:
                out += ch
            return out, ch
        """,
    "bytes, not str": """
        def f(chunks):
            out = b""
            for chunk in chunks:
                out += chunk
            return out
        """,
    "a non-empty start": """
        def f(text):
            out = ">"
            for ch in text:
                out += ch
            return out
        """,
    "not +=": """
        def f(text):
            out = ""
            for ch in text:
                out = ch + out
            return out
        """,
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case]) is None


ORIGINAL = source(
    """
    def keep_letters(text):
        out = ""
        for ch in text:
            if ch.isalpha():
                out += ch.upper()
        return out
    """
)


@given(st.text())
def test_same_results_for_strings(text: str) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), text) == outcome(load(rewritten), text)


def test_same_results_on_example_inputs() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    for text in ["", "a1b2", "ßtraße", ["ab", "c"], None, 12]:
        assert outcome(original, text) == outcome(candidate, text)


def test_where_it_differs_non_str_items_and_str_subclasses() -> None:
    """Why verification is needed: join is not += for non-str items or str subclasses."""
    plain = source(
        """
        def concat(items):
            out = ""
            for item in items:
                out += item
            return out
        """
    )
    rewritten = rewrite(RULE, plain)
    assert rewritten is not None
    original, candidate = load(plain), load(rewritten)

    with pytest.raises(TypeError, match="can only concatenate str"):
        original(["a", 1])
    with pytest.raises(TypeError, match="sequence item 1: expected str instance"):
        candidate(["a", 1])

    class Loud(str):
        def __radd__(self, other: str) -> str:
            return other + self.upper()

    assert original([Loud("a"), "b"]) == "Ab"
    assert candidate([Loud("a"), "b"]) == "ab"
