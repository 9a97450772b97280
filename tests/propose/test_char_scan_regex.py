"""char-scan-regex: a character-skipping loop becomes a compiled class's match, the loop kept
for inputs the match could not stand in for."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.char_scan_regex import CharScanRegex

RULE = CharScanRegex()

# markdown-it-py 3.0.0, markdown_it/rules_inline/text.py (the set shortened, its shape kept)
TEXT_RULE = source(
    """
    # Skip text characters for text token
    from .state_inline import StateInline

    _TerminatorChars = {
        "\\n",
        "!",
        "#",
        "*",
        "-",
        "[",
        "\\\\",
        "]",
        "^",
        "_",
        "`",
    }


    def text(state: StateInline, silent: bool) -> bool:
        pos = state.pos
        posMax = state.posMax
        while (pos < posMax) and state.src[pos] not in _TerminatorChars:
            pos += 1

        if pos == state.pos:
            return False

        if not silent:
            state.pending += state.src[state.pos : pos]

        state.pos = pos

        return True
    """
)


def test_markdown_it_text_rule() -> None:
    rewritten = rewrite(RULE, TEXT_RULE, "text")
    assert rewritten is not None
    assert "import re\n" in rewritten
    assert '_TEXT_SCAN_RE = re.compile(r"[^\\n!#*\\-\\[\\\\\\]\\^_`]*")\n\n\ndef text(' in rewritten
    assert source(
        """
            if (pos < posMax) and state.src[pos] not in _TerminatorChars:
                pos += 1
                if (
                    type(state.src) is str
                    and type(posMax) is int
                    and type(pos) is int
                    and 0 <= pos < posMax <= len(state.src)
                ):
                    pos = _TEXT_SCAN_RE.match(state.src, pos, posMax).end()
                else:
                    while (pos < posMax) and state.src[pos] not in _TerminatorChars:
                        pos += 1

            if pos == state.pos:
        """
    ) in source(rewritten.split("def text", 1)[1].split("\n", 1)[1])


def _run_text(module: str, src: object, pos: int, end: int, silent: bool = False) -> object:
    function = load(module.replace("from .state_inline import StateInline\n", ""), "text")
    state = SimpleNamespace(src=src, pos=pos, posMax=end, pending="")
    result = outcome(function, state, silent)
    return result, state.pos, state.pending


WITHOUT_IMPORT = TEXT_RULE.replace("from .state_inline import StateInline\n", "").replace(
    "state: StateInline", "state"
)


@given(
    src=st.text(alphabet="ab *_[]\\-^`\n#!é\t", max_size=30),
    pos=st.integers(-3, 33),
    end=st.integers(-3, 40),
)
def test_same_outcome_as_the_loop(src: str, pos: int, end: int) -> None:
    """Including ends past the string (the loop raises IndexError there) and negative
    indexes (the loop reads from the end): the guard sends those to the loop."""
    rewritten = rewrite(RULE, WITHOUT_IMPORT, "text")
    assert rewritten is not None
    assert _run_text(rewritten, src, pos, end) == _run_text(WITHOUT_IMPORT, src, pos, end)


def test_a_list_of_characters_runs_the_loop() -> None:
    rewritten = rewrite(RULE, WITHOUT_IMPORT, "text")
    assert rewritten is not None
    chars = list("ab*c")
    assert _run_text(rewritten, chars, 0, 4) == _run_text(WITHOUT_IMPORT, chars, 0, 4)


SKIP_SPACES = source(
    """
    def skip_spaces(line, i):
        while i < len(line) and line[i] in " \\t":
            i += 1
        return i


    def skip_digits(line, i, end):
        while i < end and line[i] in ("0", "1", "2", "3", "4", "5", "6", "7", "8", "9"):
            i += 1
        return i
    """
)


def test_in_a_literal_and_len_as_the_bound() -> None:
    rewritten = rewrite(RULE, SKIP_SPACES, "skip_spaces")
    assert rewritten is not None
    assert '_SKIP_SPACES_SCAN_RE = re.compile(r"[\\t ]*")' in rewritten
    assert "if type(line) is str and type(i) is int and 0 <= i < len(line):" in rewritten
    function, original = load(rewritten, "skip_spaces"), load(SKIP_SPACES, "skip_spaces")
    for line, i in [("  \t x", 0), ("x", 0), ("   ", 1), ("", 0), (" a", -1), (" a", 5)]:
        assert outcome(function, line, i) == outcome(original, line, i)


@given(line=st.text(alphabet="0123456789ab", max_size=12), i=st.integers(-2, 14))
def test_digits_from_a_tuple(line: str, i: int) -> None:
    rewritten = rewrite(RULE, SKIP_SPACES, "skip_digits")
    assert rewritten is not None and "[0-9]" not in rewritten  # each digit listed
    function, original = load(rewritten, "skip_digits"), load(SKIP_SPACES, "skip_digits")
    for end in (len(line), len(line) + 1, 3):
        assert outcome(function, line, i, end) == outcome(original, line, i, end)


@pytest.mark.parametrize(
    ("module", "why"),
    [
        (
            """
            STOP = {"*", "_"}

            def scan(s, i, n):
                while i < n and s[i] not in STOP:
                    i += 1
                return i

            def extend(c):
                STOP.add(c)
            """,
            "the set is changed elsewhere in the module",
        ),
        (
            """
            STOP = {"*", "_"}

            def scan(s, i, n):
                while i < n and s[i] not in STOP:
                    i += 1
                    n -= 0
                return i
            """,
            "the body does more than step",
        ),
        (
            """
            def scan(s, i, n, stop):
                while i < n and s[i] not in stop:
                    i += 1
                return i
            """,
            "the set is an argument",
        ),
        (
            """
            def scan(s, i, n):
                while i < n and s[i] not in {"ab", "c"}:
                    i += 1
                return i
            """,
            "an item longer than one character",
        ),
        (
            """
            def scan(s, i, n):
                while s[i] not in "*_" and i < n:
                    i += 1
                return i
            """,
            "the bound is tested after the index",
        ),
        (
            """
            import regex as re

            def scan(s, i, n):
                while i < n and s[i] not in "*_":
                    i += 1
                return i
            """,
            "re is another module",
        ),
        (
            """
            def scan(s, i, n):
                while i < n and s[i] not in "*_":
                    i += 1
                else:
                    i = -1
                return i
            """,
            "the loop has an else",
        ),
        (
            """
            def scan(s, i, n):
                while i < n and s[i + 1] not in "*_":
                    i += 1
                return i
            """,
            "the index is not the loop's variable",
        ),
    ],
)
def test_silent(module: str, why: str) -> None:
    assert rewrite(RULE, source(module), "scan") is None, why


def test_every_special_character_in_the_class() -> None:
    module = source(
        """
        def scan(s, i, n):
            while i < n and s[i] not in "]^-[\\\\\\"'\\x00\\u2028 .":
                i += 1
            return i
        """
    )
    rewritten = rewrite(RULE, module, "scan")
    assert rewritten is not None
    function, original = load(rewritten), load(module)
    text = "abc]x^y-z[w\\v\"u't\x00s\u2028r q.p" * 2
    for i in range(len(text)):
        assert outcome(function, text, i, len(text)) == outcome(original, text, i, len(text))
