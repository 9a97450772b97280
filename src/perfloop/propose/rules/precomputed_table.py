"""precomputed-table: a pure function of one int whose result is a long expression gets a
table of its 256 first results, computed once at import, and answers from it for 0-255.

    def is_ignorable(u):                        _IS_IGNORABLE_TABLE = tuple(
        return u == 0xAD or 0x200B <= u ...   →     u == 0xAD or 0x200B <= u ... for u in range(256)
                                                )
                                                def is_ignorable(u):
                                                    if type(u) is int and 0 <= u < 256:
                                                        return _IS_IGNORABLE_TABLE[u]
                                                    return u == 0xAD or 0x200B <= u ...

Bytes, Latin-1 code points and small enums are called with the same few values over and
over; an indexed tuple answers in one step where the expression runs every comparison.
Other values (larger ints, bools, floats, int subclasses) run the original expression.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable

import libcst as cst

from perfloop.propose.rules import _tools
from perfloop.propose.rules.base import FunctionRewrite, Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def is_control(b):
    return b < 0x20 or b == 0x7F or 0x80 <= b <= 0x9F or b == 0xAD or b in (0x85, 0xA0)
"""

EXAMPLE_SILENT = """
def is_printable(b):
    return 0x20 <= b < 0x7F
"""

DOMAIN = 256
MIN_OPERATIONS = 6
"""Fewer operations than this and the guard and the global lookup cost as much as the
expression: fontTools' 4-operation `isascii(b)` ran 0.88× as fast with a table, its
40-comparison `is_Default_Ignorable(u)` 6.2× as fast (CPython 3.11, values 0-255)."""

PURE_BUILTINS = frozenset({"abs", "min", "max", "chr", "bool", "int", "str", "divmod"})
"""Builtins whose result depends only on their (int, str) arguments."""

_LITERALS = (cst.Integer, cst.Float, cst.SimpleString, cst.ConcatenatedString)
_RESULT_TYPES = (bool, int, float, str, bytes, type(None))


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _sole_parameter(func: cst.FunctionDef) -> str | None:
    params = func.params
    if (
        params.posonly_params
        or params.kwonly_params
        or params.star_kwarg
        or not isinstance(params.star_arg, cst.MaybeSentinel)
        or len(params.params) != 1
        or params.params[0].default is not None
    ):
        return None
    return params.params[0].name.value


def _returned_expression(func: cst.FunctionDef) -> cst.BaseExpression | None:
    """EXPR if the body is `return EXPR`, after an optional docstring."""
    body = func.body
    if not isinstance(body, cst.IndentedBlock):
        return _returned(_tools.single_small_statement(body))
    statements = list(body.body)
    if statements and func.get_docstring() is not None:
        statements = statements[1:]
    if len(statements) != 1 or not isinstance(statements[0], cst.SimpleStatementLine):
        return None
    line = statements[0]
    return _returned(line.body[0]) if len(line.body) == 1 else None


def _returned(statement: cst.CSTNode | None) -> cst.BaseExpression | None:
    if isinstance(statement, cst.Return) and statement.value is not None:
        return statement.value
    return None


class _Pure:
    """Whether an expression reads only `parameter`, literals and PURE_BUILTINS; its size."""

    def __init__(self, parameter: str) -> None:
        self.parameter = parameter
        self.operations = 0
        self.builtins_used: set[str] = set()

    def check(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Name):
            return node.value in (self.parameter, "True", "False", "None")
        if isinstance(node, _LITERALS):
            return not _tools.contains(node, (cst.FormattedString,))
        if isinstance(node, cst.UnaryOperation):
            self.operations += 1
            return self.check(node.expression)
        if isinstance(node, cst.BinaryOperation):
            self.operations += 1
            return self._bounded(node) and self.check(node.left) and self.check(node.right)
        if isinstance(node, cst.BooleanOperation):
            return self.check(node.left) and self.check(node.right)
        if isinstance(node, cst.Comparison):
            return self.check(node.left) and all(self._compared(c) for c in node.comparisons)
        if isinstance(node, cst.IfExp):
            return all(self.check(n) for n in (node.test, node.body, node.orelse))
        if isinstance(node, cst.Call):
            return self._call(node)
        if isinstance(node, cst.Subscript):  # "0123456789abcdef"[b >> 4]
            self.operations += 1
            return (
                isinstance(node.value, (cst.SimpleString, cst.ConcatenatedString))
                and len(node.slice) == 1
                and isinstance(node.slice[0].slice, cst.Index)
                and self.check(node.slice[0].slice.value)
            )
        return False

    def _compared(self, target: cst.ComparisonTarget) -> bool:
        self.operations += 1
        if isinstance(target.operator, (cst.Is, cst.IsNot)):
            return False  # identity of ints: not what a table keeps
        comparator = target.comparator
        if isinstance(target.operator, (cst.In, cst.NotIn)) and isinstance(
            comparator, (cst.Tuple, cst.List, cst.Set)
        ):
            return all(
                isinstance(e, cst.Element)
                and isinstance(e.value, (*_LITERALS, cst.UnaryOperation))
                and self.check(e.value)
                for e in comparator.elements
            )
        return self.check(comparator)

    def _call(self, node: cst.Call) -> bool:
        self.operations += 1
        if not (isinstance(node.func, cst.Name) and node.func.value in PURE_BUILTINS):
            return False
        if any(arg.keyword is not None or arg.star for arg in node.args):
            return False
        self.builtins_used.add(node.func.value)
        return all(self.check(arg.value) for arg in node.args)

    def _bounded(self, node: cst.BinaryOperation) -> bool:
        """No operation whose cost grows beyond reason for values below 256 (`"x" * n`,
        `2 ** n ** n`, `1 << big`): the table is computed while the rule runs."""
        if isinstance(node.operator, (cst.Power, cst.LeftShift)):
            right = node.right
            return isinstance(right, cst.Integer) or (
                isinstance(right, cst.Name) and right.value == self.parameter
            )
        if isinstance(node.operator, cst.Multiply):
            return not any(
                isinstance(side, (cst.SimpleString, cst.ConcatenatedString, cst.Call))
                for side in (node.left, node.right)
            )
        return True


def _results(parameter: str, expression: cst.BaseExpression) -> tuple[object, ...] | None:
    """The expression's value for each of 0..255, or None if one raises or is not a plain
    immutable value. Only literals, operators and PURE_BUILTINS are in it (checked)."""
    source = f"lambda {parameter}: ({_code(expression).strip()})"
    try:
        tree = ast.parse(source, mode="eval")
    except SyntaxError:
        return None
    namespace = {"__builtins__": {name: getattr(builtins, name) for name in PURE_BUILTINS}}
    function: Callable[[int], object] = eval(compile(tree, "<table>", "eval"), namespace)
    values = []
    for value in range(DOMAIN):
        try:
            result = function(value)
        except Exception:  # an input the original raises for: leave the function alone
            return None
        if type(result) not in _RESULT_TYPES:
            return None
        values.append(result)
    return tuple(values)


def _table_statement(
    name: str, parameter: str, expression: cst.BaseExpression
) -> cst.SimpleStatementLine:
    inner = expression.with_changes(lpar=(), rpar=())
    element = _code(inner).strip()
    text = f"{name} = tuple(\n    ({element})\n    for {parameter} in range({DOMAIN})\n)\n"
    statement = cst.parse_statement(text)
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement


def _guard(name: str, parameter: str) -> cst.If:
    statement = cst.parse_statement(
        f"if type({parameter}) is int and 0 <= {parameter} < {DOMAIN}:\n"
        f"    return {name}[{parameter}]\n"
    )
    assert isinstance(statement, cst.If)
    return statement


class PrecomputedTable(Rule):
    id = "precomputed-table"
    rationale = (
        "A pure function of one int answers for 0-255 from a tuple computed once at import, "
        "instead of evaluating its expression on every call."
    )
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "A module-level function (not a method, not decorated, not a generator) with one "
        "parameter P whose body is only `return EXPR` (after a docstring), EXPR reading "
        "nothing but P, literals, operators, `x in (literals)`, string literals indexed by "
        f"an expression and the builtins {', '.join(sorted(PURE_BUILTINS))} (not rebound "
        f"by the module), with at least {MIN_OPERATIONS} operations, and computing without "
        f"an exception to a bool, int, float, str, bytes or None for every P in "
        f"range({DOMAIN}) (the rule evaluates it to know): gets `_F_TABLE = tuple(EXPR for P "
        f"in range({DOMAIN}))` above it and `if type(P) is int and 0 <= P < {DOMAIN}: return "
        "_F_TABLE[P]` before its return. Every other argument (bool, float, int subclass, "
        "larger int, anything else) runs EXPR as before, so no input behaves differently; "
        "the table costs 256 evaluations at import."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> FunctionRewrite | None:
        context = context or RuleContext.standalone(func)
        if context.is_method or func.decorators or func.asynchronous is not None:
            return None
        parameter = _sole_parameter(func)
        expression = _returned_expression(func)
        if parameter is None or expression is None:
            return None
        pure = _Pure(parameter)
        if not pure.check(expression) or pure.operations < MIN_OPERATIONS:
            return None
        if any(
            context.rebinds(func, name)
            for name in (*pure.builtins_used, "type", "int", "tuple", "range")
        ):
            return None
        if _results(parameter, expression) is None:
            return None
        name = _tools.fresh_name(f"_{func.name.value.upper()}_TABLE", context.reserved_names(func))
        return FunctionRewrite(
            _with_guard(func, name, parameter), (_table_statement(name, parameter, expression),)
        )


def _with_guard(func: cst.FunctionDef, name: str, parameter: str) -> cst.FunctionDef:
    body = func.body
    guard = _guard(name, parameter)
    if not isinstance(body, cst.IndentedBlock):
        assert isinstance(body, cst.SimpleStatementSuite)
        return func.with_changes(
            body=cst.IndentedBlock(body=[guard, cst.SimpleStatementLine(body=body.body)])
        )
    *before, returned = body.body  # a docstring stays first
    statements = [
        *before,
        guard.with_changes(leading_lines=returned.leading_lines),  # takes the comments above
        returned.with_changes(leading_lines=()),
    ]
    return func.with_changes(body=body.with_changes(body=statements))
