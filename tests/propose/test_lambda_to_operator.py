"""lambda-to-operator: key lambdas that index or read attributes become operator getters."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.lambda_to_operator import LambdaToOperator

RULE = LambdaToOperator()

# pyparsing 3.1.1, pyparsing/diagram/__init__.py: the end of to_railroad (abridged).
PYPARSING_TO_RAILROAD = """
def to_railroad(diags):
    seen = set()
    resolved = []
    for d in diags:
        if d.name is not None and d.name not in seen:
            seen.add(d.name)
            resolved.append(d)
    return sorted(resolved, key=lambda diag: diag.index)
"""


def test_pyparsing_sorted_by_an_attribute() -> None:
    assert rewrite(RULE, PYPARSING_TO_RAILROAD) == source(
        """
        import operator
        def to_railroad(diags):
            seen = set()
            resolved = []
            for d in diags:
                if d.name is not None and d.name not in seen:
                    seen.add(d.name)
                    resolved.append(d)
            return sorted(resolved, key=operator.attrgetter("index"))
        """
    ).replace('"index"', "'index'")


# pygments 2.17.2, pygments/sphinxext.py: PygmentsDoc.document_lexers_overview (abridged).
PYGMENTS_LEXER_ORDER = """
def lexer_order(lexers, modules):
    names = [classname for classname, data in sorted(lexers.items(), key=lambda x: x[0])]
    return names, sorted(modules.items(), key=lambda x: (x[1], x[0]))
"""


def test_pygments_sorted_items_by_key_and_by_a_pair() -> None:
    rewritten = rewrite(RULE, PYGMENTS_LEXER_ORDER)
    assert rewritten is not None
    assert "sorted(lexers.items(), key=operator.itemgetter(0))" in rewritten
    assert "sorted(modules.items(), key=operator.itemgetter(1, 0))" in rewritten
    before, after = load(source(PYGMENTS_LEXER_ORDER)), load(rewritten)
    lexers = {"PythonLexer": ("pygments.lexers.python",), "CLexer": ("pygments.lexers.c_cpp",)}
    modules = {"b": 2, "a": 2, "c": 1}
    assert before(lexers, modules) == after(lexers, modules)


def test_map_filter_min_max_and_attribute_paths() -> None:
    module = (
        "def f(rows):\n"
        "    a = list(map(lambda r: r[-1], rows))\n"
        "    b = list(filter(lambda r: r.real.imag, rows))\n"
        "    return a, b, min(rows, key=lambda r: r['k']), max(rows, key=lambda r: (r.x, r.y))\n"
    )
    rewritten = rewrite(RULE, module)
    assert rewritten is not None
    for expected in (
        "map(operator.itemgetter(-1), rows)",
        "filter(operator.attrgetter('real.imag'), rows)",
        "min(rows, key=operator.itemgetter('k'))",
        "max(rows, key=operator.attrgetter('x', 'y'))",
    ):
        assert expected in rewritten


UNSAFE = {
    "an index from a variable": "def f(xs, i):\n    return sorted(xs, key=lambda x: x[i])\n",
    "a computed body": "def f(xs):\n    return sorted(xs, key=lambda x: x[0] + 1)\n",
    "two parameters": "def f(xs):\n    return list(map(lambda x, y: x[0], xs, xs))\n",
    "a default": "def f(xs):\n    return sorted(xs, key=lambda x, k=0: x[k])\n",
    "not a known consumer": "def f(xs):\n    return xs.sort(key=lambda x: x[0])\n",
    "sorted rebound": "sorted = print\ndef f(xs):\n    return sorted(xs, key=lambda x: x[0])\n",
    "operator is something else": (
        "operator = None\ndef f(xs):\n    return sorted(xs, key=lambda x: x[0])\n"
    ),
    "a mixed tuple": "def f(xs):\n    return sorted(xs, key=lambda x: (x[0], x.y))\n",
    "the lambda is kept": "def f(xs):\n    key = lambda x: x[0]\n    return sorted(xs, key=key)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


SORTING = "def f(rows):\n    return sorted(rows, key=lambda r: (r[1], r[0]))\n"


@given(
    st.lists(
        st.one_of(
            st.tuples(st.integers(), st.integers()),
            st.tuples(st.integers()),  # too short: IndexError from both
            st.just(None),  # not subscriptable: TypeError from both
        ),
        max_size=6,
    )
)
def test_same_results_and_exceptions(rows: list[Any]) -> None:
    rewritten = rewrite(RULE, SORTING)
    assert rewritten is not None
    assert outcome(load(source(SORTING)), rows) == outcome(load(rewritten), rows)
