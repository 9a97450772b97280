"""match-group-subscript: `m.group(n)` on a match becomes `m[n]`."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.match_group_subscript import MatchGroupSubscript

RULE = MatchGroupSubscript()

# pyparsing 3.1.1, pyparsing/core.py: Word.parseImpl_regex (as a function; the
# maintainer made this very change in 21a4b14).
PYPARSING_WORD = """
def parseImpl_regex(re_match, instring, loc):
    result = re_match(instring, loc)
    if not result:
        raise ValueError(loc)

    loc = result.end()
    return loc, result.group()
"""

# pyparsing 3.1.1, pyparsing/core.py: QuotedString.parseImpl, the unquoting generator.
PYPARSING_UNQUOTE = """
def unquote(unquote_scan_re, ret):
    return "".join(
        match.group(1)[-1] if match.group(1)
        else match.group(2)
        for match in unquote_scan_re.finditer(ret)
    )
"""


def test_pyparsing_word_parse_impl_regex() -> None:
    assert rewrite(RULE, PYPARSING_WORD) == source(PYPARSING_WORD).replace(
        "result.group()", "result[0]"
    )


def test_pyparsing_quoted_string_unquote() -> None:
    rewritten = rewrite(RULE, PYPARSING_UNQUOTE)
    assert rewritten is not None
    assert "match[1][-1] if match[1]\n        else match[2]\n" in rewritten
    before, after = load(source(PYPARSING_UNQUOTE)), load(rewritten)
    pattern = re.compile(r"(\\.)|(.)", re.DOTALL)
    for text in ("plain", r"a\"b\\c", "", "\\"):
        assert before(pattern, text) == after(pattern, text)


def test_named_groups() -> None:
    module = "def level(m):\n    return len(m.group('level')), m.group(0)\n"
    assert rewrite(RULE, module) == "def level(m):\n    return len(m['level']), m[0]\n"


UNSAFE = {
    "several groups": "def f(m):\n    return m.group(1, 2)\n",
    "a computed group": "def f(m, i):\n    return m.group(i)\n",
    "a star argument": "def f(m):\n    return m.group(*[1])\n",
    "not on a name": "def f(p, s):\n    return p.match(s).group()\n",
    "another method": "def f(m):\n    return m.groups()\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case]) is None


GROUPS = "def f(m):\n    return m.group(), m.group(1), m.group('word')\n"


@given(st.text(alphabet="ab 1-", max_size=8))
def test_same_results_and_exceptions(text: str) -> None:
    rewritten = rewrite(RULE, GROUPS)
    assert rewritten is not None
    match = re.search(r"(?P<word>[ab]+)|(1)", text)
    if match is not None:  # None: see test_where_it_differs_no_match
        assert outcome(load(GROUPS), match) == outcome(load(rewritten), match)


def test_where_it_differs_no_match() -> None:
    """On None the method call raised AttributeError; the subscript raises TypeError."""
    rewritten = rewrite(RULE, GROUPS)
    assert rewritten is not None
    assert outcome(load(GROUPS), None) == ("raise", AttributeError)
    assert outcome(load(rewritten), None) == ("raise", TypeError)
