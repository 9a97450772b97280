"""One rule for which def a qualname names, the same for ast (gate, verify) and libcst (rules,
patch): the later definition wins, as when the module runs; @overload stubs and property
setters are not the definition."""

from __future__ import annotations

import ast
import textwrap

import libcst as cst
import pytest

from perfloop.propose.apply import locate
from perfloop.qualnames import find_cst_function, find_function

SOURCE = textwrap.dedent(
    """
    from typing import overload


    def twice(x):
        return "first"


    def twice(x):
        return "second"


    @overload
    def parse(x: int) -> int: ...


    @overload
    def parse(x: str) -> str: ...


    def parse(x):
        return x


    class Box:
        @property
        def size(self):
            return "getter"

        @size.setter
        def size(self, value):
            self._size = value

        def __pack(self):
            return "mangled"

        class Inner:
            def deep(self):
                return "nested class"
    """
)

CASES = {
    "twice": '"second"',
    "parse": "x",
    "Box.size": '"getter"',
    "Box.__pack": '"mangled"',
    "Box.Inner.deep": '"nested class"',
}


def _returned(node: ast.FunctionDef | ast.AsyncFunctionDef | None) -> str:
    assert node is not None
    statement = node.body[-1]
    assert isinstance(statement, ast.Return) and statement.value is not None
    return ast.unparse(statement.value).replace("'", '"')


@pytest.mark.parametrize("qualname", list(CASES))
def test_ast_and_libcst_find_the_same_definition(qualname: str) -> None:
    expected = CASES[qualname]
    assert _returned(find_function(ast.parse(SOURCE), qualname)) == expected
    module = cst.parse_module(SOURCE)
    found = find_cst_function(module.body, qualname)
    assert found is not None
    cst_text = textwrap.dedent(module.code_for_node(found)).strip()
    assert _returned(find_function(ast.parse(cst_text), found.name.value)) == expected
    located = locate(module, qualname)
    assert located is not None and located.func is found


def test_names_that_are_not_defined_are_not_found() -> None:
    tree = ast.parse(SOURCE)
    assert find_function(tree, "Box.missing") is None
    assert find_function(tree, "Nope.size") is None
    assert find_cst_function(cst.parse_module(SOURCE).body, "Box") is None


def test_a_functions_source_is_cut_the_one_way_every_caller_uses() -> None:
    """qualnames.function_source serves the LLM prompt, the LLM answer's parse and outside
    candidates alike: decorators included, dedented, one newline at the end."""
    from perfloop.qualnames import function_source

    module = (
        "import functools\n\nclass Cart:\n    @functools.cache\n    def total(self):\n"
        "        return 1"
    )
    assert function_source(module, "Cart.total") == (
        "@functools.cache\ndef total(self):\n    return 1\n"
    )
    assert function_source(module, "Cart.missing") == ""
    assert function_source("def broken(:\n", "broken") == ""
