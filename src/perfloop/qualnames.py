"""Which def in a module source is the function `f` or method `Class.m` (classes nest).

The one place that answers it, for ast trees (gate, verify, LLM prompts) and libcst
trees (rules, patch splicing). The rule is Python's: when a name is defined twice
at the same level, the later definition wins. Two kinds of def do not define the
name even though they bind it:

- `@overload` stubs (`typing.overload`): the implementation is the definition;
- property accessors (`@name.setter`, `@name.deleter`): they extend the property
  whose getter is the definition, and the getter is what a target `Class.name` means.

A name mangled by Python (`Class.__m`) is written as in the source.
"""

from __future__ import annotations

import ast
import textwrap
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # libcst takes half a second to import: only the functions that take its
    import libcst as cst  # trees import it, so a sandbox worker that reads ast alone does not

_Node = TypeVar("_Node")
_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def find_function(tree: ast.Module, qualname: str) -> _FunctionNode | None:
    """The def that `qualname` names in a parsed module, or None."""
    found = _find(tree.body, qualname.split("."), _describe_ast)
    return found if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)) else None


def find_class(tree: ast.Module, qualname: str) -> ast.ClassDef | None:
    """The class that `qualname` names in a parsed module (`Outer.Inner` for a nested one),
    or None."""
    found = _find(tree.body, qualname.split("."), _describe_ast, want_class=True)
    return found if isinstance(found, ast.ClassDef) else None


def find_cst_function(body: Sequence[cst.CSTNode], qualname: str) -> cst.FunctionDef | None:
    """The def that `qualname` names in a libcst module body, or None."""
    import libcst as cst

    found = _find(body, qualname.split("."), _describe_cst)
    return found if isinstance(found, cst.FunctionDef) else None


def find_cst_path(
    body: Sequence[cst.CSTNode], qualname: str
) -> tuple[cst.FunctionDef, tuple[cst.ClassDef, ...]] | None:
    """The def `qualname` names and the classes it is in, outermost first."""
    import libcst as cst

    parts = qualname.split(".")
    classes: list[cst.ClassDef] = []
    for part in parts[:-1]:
        owner = _find(body, [part], _describe_cst, want_class=True)
        if not isinstance(owner, cst.ClassDef):
            return None
        classes.append(owner)
        body = owner.body.body if isinstance(owner.body, cst.IndentedBlock) else ()
    function = find_cst_function(body, parts[-1])
    return None if function is None else (function, tuple(classes))


# (kind, name, decorator texts, inner body): kind is "def", "class" or "" (anything else)
_Described = tuple[str, str, tuple[str, ...], Sequence[object]]


def _find(
    body: Sequence[_Node],
    parts: list[str],
    describe: Callable[[_Node], _Described],
    want_class: bool = False,
) -> _Node | None:
    for depth, part in enumerate(parts):
        last = depth == len(parts) - 1
        wanted = "class" if want_class or not last else "def"
        found = None
        for statement in body:
            kind, name, decorators, inner = describe(statement)
            if kind == wanted and name == part and _defines(name, decorators):
                found, found_body = statement, inner
        if found is None:
            return None
        if last:
            return found
        body = found_body  # type: ignore[assignment]
    return None


def _defines(name: str, decorators: tuple[str, ...]) -> bool:
    for text in decorators:
        if text == "overload" or text.endswith(".overload"):
            return False
        if text in (f"{name}.setter", f"{name}.deleter"):
            return False
    return True


def _describe_ast(node: ast.stmt) -> _Described:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return "def", node.name, tuple(_ast_text(d) for d in node.decorator_list), ()
    if isinstance(node, ast.ClassDef):
        return "class", node.name, (), node.body
    return "", "", (), ()


def _ast_text(node: ast.expr) -> str:
    return ast.unparse(node.func if isinstance(node, ast.Call) else node)


def _describe_cst(node: cst.CSTNode) -> _Described:
    import libcst as cst

    if isinstance(node, cst.FunctionDef):
        decorators = tuple(_cst_text(d.decorator) for d in node.decorators)
        return "def", node.name.value, decorators, ()
    if isinstance(node, cst.ClassDef):
        inner = node.body.body if isinstance(node.body, cst.IndentedBlock) else ()
        return "class", node.name.value, (), inner
    return "", "", (), ()


def _cst_text(node: cst.BaseExpression) -> str:
    import libcst as cst

    if isinstance(node, cst.Call):
        node = node.func
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_cst_text(node.value)}.{node.attr.value}"
    return ""


def first_line(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> int:
    """The line a def starts on, its decorators included."""
    return min([node.lineno, *(decorator.lineno for decorator in node.decorator_list)])


def function_source(module_source: str, qualname: str) -> str:
    """The function's own source, decorators included, dedented and ending in a newline;
    '' when the module does not define it or does not parse."""
    try:
        node = find_function(ast.parse(module_source), qualname)
    except SyntaxError:
        return ""
    if node is None:
        return ""
    lines = module_source.splitlines(keepends=True)[first_line(node) - 1 : node.end_lineno]
    text = textwrap.dedent("".join(lines))
    return text if text.endswith("\n") else text + "\n"
