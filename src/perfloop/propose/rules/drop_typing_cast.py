"""drop-typing-cast: `cast(T, X)` from `typing` becomes `X`.

    value = cast(Tuple[int, Result, int], value)      (the line is gone)
    return value[0], value[1].copy()                  return value[0], value[1].copy()

`typing.cast` only tells a type checker what `X` is; at run time it returns `X`, after
a call and after building `T`: a subscripted generic (`Tuple[int, Result, int]`) goes
through typing's cache on every call, 208 ns against 5 ns for the name alone (Python
3.11). Maintainers remove it from hot paths: pandas #44624 (`DatetimeArray.__getitem__`,
4.76 -> 3.44 us), arcade #1572, typedload #212.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
from typing import Tuple, cast

def cached(cache, key):
    value = cache[key]
    value = cast(Tuple[int, str, int], value)
    return value[0], value[1]
"""

EXAMPLE_SILENT = """
from mylib import cast

def cached(cache, key):
    value = cache[key]
    return cast(tuple, value)
"""

TYPING_MODULES = ("typing", "typing_extensions")


def _is_type_expression(node: cst.BaseExpression) -> bool:
    """What a type is written as, and nothing else: names, dotted names, strings, None,
    `...`, subscripts and `|` of those, and the lists of `Callable[[A, B], R]`. Building
    it calls nothing of the user's (a subscript of a user's class would call its
    `__class_getitem__`: generic classes only build an alias)."""
    if isinstance(node, (cst.Name, cst.SimpleString, cst.ConcatenatedString, cst.Ellipsis)):
        return True
    if isinstance(node, cst.Attribute):
        return _is_type_expression(node.value)
    if isinstance(node, cst.Subscript):
        return _is_type_expression(node.value) and all(
            isinstance(element.slice, cst.Index) and _is_type_expression(element.slice.value)
            for element in node.slice
        )
    if isinstance(node, (cst.List, cst.Tuple)):
        return all(
            isinstance(element, cst.Element) and _is_type_expression(element.value)
            for element in node.elements
        )
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        return _is_type_expression(node.left) and _is_type_expression(node.right)
    return False


def _cast_names(context: RuleContext, func: cst.FunctionDef) -> tuple[set[str], set[str]]:
    """The plain names bound to `typing.cast` (`from typing import cast`) and the module
    names `typing` is imported as (`import typing as t`), where the function does not
    rebind them."""
    bindings = context.module_bindings
    bound = _tools.bound_names(func)
    plain = {
        "cast"
        for module in TYPING_MODULES
        if _edits.imported_from(bindings, module, "cast") and "cast" not in bound
    }
    modules = {
        alias
        for module in TYPING_MODULES
        if (alias := _edits.module_alias(bindings, module)) is not None and alias not in bound
    }
    return plain, modules


def _casts_to(node: cst.CSTNode, plain: set[str], modules: set[str]) -> cst.BaseExpression | None:
    """X if `node` is `cast(T, X)` of typing, T a type expression; None otherwise."""
    if not isinstance(node, cst.Call):
        return None
    func = node.func
    if isinstance(func, cst.Name):
        is_cast = func.value in plain
    else:
        is_cast = (
            isinstance(func, cst.Attribute)
            and func.attr.value == "cast"
            and isinstance(func.value, cst.Name)
            and func.value.value in modules
        )
    args = _edits.positional_args(node)
    if not is_cast or args is None or len(args) != 2 or not _is_type_expression(args[0]):
        return None
    return args[1]


class DropTypingCast(Rule):
    id = "drop-typing-cast"
    rationale = "typing.cast returns its argument; the call and the type it builds cost time."
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`cast(T, X)` and `typing.cast(T, X)`, where `cast` is imported from typing (or "
        "typing_extensions) and the function does not rebind it, become `X` when T is "
        "written as a type (names, dotted names, strings, None, subscripts and `|` of "
        "them); a line `x = cast(T, x)` goes. Differs where building T fails (a name "
        "that only exists for the type checker, `if TYPE_CHECKING:`; the original raises "
        "NameError) or where a subscripted class runs code of its own in "
        "`__class_getitem__`."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        plain, modules = _cast_names(context, func)
        if not plain and not modules:
            return None
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if _casts_to(node, plain, modules) is not None:
                edits.replace_with(node, _argument_of)
            if isinstance(node, cst.IndentedBlock):
                for statement in node.body:
                    if _recasts_itself(statement, plain, modules):  # `x = cast(T, x)`: gone
                        edits.replace_with(statement, _removed if len(node.body) > 1 else _pass)
        return _edits.apply_edits(func, edits) if edits else None


def _recasts_itself(statement: cst.CSTNode, plain: set[str], modules: set[str]) -> bool:
    """True for the line `x = cast(T, x)`: without the cast, `x = x` does nothing."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return False
    assign = statement.body[0]
    if not (isinstance(assign, cst.Assign) and len(assign.targets) == 1):
        return False
    target, value = assign.targets[0].target, _casts_to(assign.value, plain, modules)
    return (
        isinstance(target, cst.Name)
        and isinstance(value, cst.Name)
        and value.value == target.value
        and not value.lpar
    )


def _removed(node: cst.CSTNode) -> cst.RemovalSentinel:
    return cst.RemovalSentinel.REMOVE


def _pass(node: cst.CSTNode) -> cst.CSTNode:
    return cst.SimpleStatementLine([cst.Pass()])


def _argument_of(node: cst.CSTNode) -> cst.CSTNode:
    """X for the (already rewritten) `cast(T, X)`: in the call's own parentheses if it had
    any, in new ones unless X is an atom."""
    assert isinstance(node, cst.Call)
    value = node.args[1].value
    if node.lpar and not value.lpar:
        return value.with_changes(lpar=node.lpar, rpar=node.rpar)
    if isinstance(value, _ATOMS):
        return value
    return _tools.parenthesized(value)


_ATOMS = (cst.Name, cst.Attribute, cst.Subscript, cst.Call, cst.BaseString, cst.Integer)
