"""hoist-constant-container: a table of constants the function only reads is built once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.hoist_constant_container import HoistConstantContainer

RULE = HoistConstantContainer()

# tabulate 0.9.0's _more_generic, as shipped
TABULATE = source(
    '''
    """Pretty-print tabular data."""


    def _more_generic(type1, type2):
        types = {
            type(None): 0,
            bool: 1,
            int: 2,
            float: 3,
            bytes: 4,
            str: 5,
        }
        invtypes = {
            5: str,
            4: bytes,
            3: float,
            2: int,
            1: bool,
            0: type(None),
        }
        moregeneric = max(types.get(type1, 5), types.get(type2, 5))
        return invtypes[moregeneric]
    '''
)


def test_tabulate_more_generic_builds_its_two_tables_once() -> None:
    rewritten = rewrite(RULE, TABULATE)
    assert rewritten is not None
    assert "_MORE_GENERIC_TYPES = {" in rewritten
    assert "_MORE_GENERIC_INVTYPES = {" in rewritten
    assert rewritten.index("_MORE_GENERIC_TYPES =") < rewritten.index("_MORE_GENERIC_INVTYPES =")
    assert rewritten.index("_MORE_GENERIC_INVTYPES =") < rewritten.index("def _more_generic")
    body = rewritten[rewritten.index("def _more_generic") :]
    assert "types = {" not in body
    assert (
        "moregeneric = max(_MORE_GENERIC_TYPES.get(type1, 5), _MORE_GENERIC_TYPES.get(type2, 5))"
        in body
    )
    assert "return _MORE_GENERIC_INVTYPES[moregeneric]" in body


TYPES = [type(None), bool, int, float, bytes, str, list, complex]


@given(st.sampled_from(TYPES), st.sampled_from(TYPES))
def test_tabulate_more_generic_answers_the_same(type1: type, type2: type) -> None:
    before, after = load(TABULATE), load(rewrite(RULE, TABULATE))
    assert outcome(before, type1, type2) == outcome(after, type1, type2)


def test_a_method_gets_a_name_with_its_class_and_lists_and_sets_are_hoisted_too() -> None:
    module = source(
        """
        class Lexer:
            def kind(self, word):
                keywords = ["if", "else", "while"]
                spaces = {" ", "\\t"}
                if word in spaces:
                    return -1
                return keywords.index(word) if word in keywords else len(keywords)
        """
    )
    rewritten = rewrite(RULE, module, "Lexer.kind")
    assert rewritten is not None
    assert '_LEXER_KIND_KEYWORDS = ["if", "else", "while"]' in rewritten
    assert '_LEXER_KIND_SPACES = {" ", "\\t"}' in rewritten
    lexer = load(rewritten + "\nkind = Lexer().kind\n", "kind")
    assert [lexer(w) for w in ("while", " ", "x")] == [2, -1, 3]


@pytest.mark.parametrize(
    "body",
    [
        # changed, or could be changed, per call
        "table = {'a': 1, 'b': 2}\n    table[key] = 3\n    return table.get(key)",
        "table = {'a': 1, 'b': 2}\n    table.update(extra={})\n    return table.get(key)",
        "table = ['a', 'b']\n    table.append(key)\n    return key in table",
        "table = {'a': 1, 'b': 2}\n    table.__setitem__(key, 3)\n    return table.get(key)",
        "table = {'a': [1], 'b': [2]}\n    table['a'].append(key)\n    return table.get(key)",
        # leaves the function: a caller could keep or change it
        "table = {'a': 1, 'b': 2}\n    return table",
        "table = {'a': 1, 'b': 2}\n    remember(table)\n    return key in table",
        "table = {'a': 1, 'b': 2}\n    other = table\n    return key in other",
        "table = {'a': 1, 'b': 2}\n    return lambda: table.get(key)",
        # identity could tell a shared table from a fresh one
        "table = {'a': 1, 'b': 2}\n    return id(table)",
        "table = {'a': 1, 'b': 2}\n    return table is key",
        # not all constants
        "table = {'a': key, 'b': 2}\n    return table.get(key)",
        "table = {'a': len(key), 'b': 2}\n    return table.get(key)",
        "table = {'a': OFFSET, 'b': 2}\n    return table.get(key)",
        "table = {'a': str, 'b': 2}\n    str = repr\n    return table.get(key)",
        "table = {**BASE, 'b': 2}\n    return table.get(key)",
        "table = {'a': 1}\n    return table.get(key)",  # one item: not worth a global
        # bound more than once, conditionally, or used before it is bound
        "table = {'a': 1, 'b': 2}\n    table = {'c': 3, 'd': 4}\n    return table.get(key)",
        "if key:\n        table = {'a': 1, 'b': 2}\n    return table.get(key)",
        "found = key in table\n    table = {'a': 1, 'b': 2}\n    return found",
    ],
)
def test_stays_silent_where_one_shared_table_could_be_told_apart(body: str) -> None:
    module = f"OFFSET = 1\nBASE = {{}}\n\n\ndef look(key):\n    {body}\n"
    assert rewrite(RULE, module, "look") is None


def test_a_star_import_could_rebind_a_builtin_so_it_stays_silent() -> None:
    module = source(
        """
        from somewhere import *


        def look(key):
            table = {int: 1, str: 2}
            return table.get(key)
        """
    )
    assert rewrite(RULE, module) is None
