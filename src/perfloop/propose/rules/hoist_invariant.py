"""hoist-invariant: arithmetic a loop recomputes on values it does not change is computed
once before the loop.

    for p in points:                          scale_times_2 = scale * 2
        out.append(p * (scale * 2))   →       for p in points:
                                                  out.append(p * scale_times_2)

Only whole subexpressions move (`(x * a) * b` keeps its order; `x * (a * b)` gives
`a * b`), so floats round the same way.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def scaled(values, low, high):
    out = []
    for v in values:
        out.append((v - low) / (high - low))
    return out
"""

EXAMPLE_SILENT = """
def scaled(values, low, high):
    out = []
    for v in values:
        out.append((v - low) / (high - low))
        low = v
    return out
"""

# Operators that do not raise on numbers: the hoisted value is computed even when the
# loop runs zero times, so `/`, `%`, `**` and items (ZeroDivisionError, IndexError on
# an empty row) stay where they are.
_ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply)


class _Leaves:
    """Whether an expression is made of values a loop keeps, and how it could fail."""

    def __init__(self, analysis: _tools.Analysis, func: cst.FunctionDef, loop: cst.CSTNode):
        self.analysis = analysis
        self.func = func
        self.loop = loop
        self.assigned = _edits.assigned_in(loop)

    def invariant(self, expression: cst.CSTNode) -> bool:
        if isinstance(expression, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
            return True
        if isinstance(expression, cst.Name):
            name = expression.value
            if name in {"True", "False", "None"}:
                return True
            return name not in self.assigned and _edits.bound_before(
                self.analysis, self.func, name, self.loop
            )
        if isinstance(expression, cst.Attribute):
            return self._kept_container(expression.value)
        if isinstance(expression, cst.BinaryOperation):
            return (
                isinstance(expression.operator, _ARITHMETIC)
                and self.invariant(expression.left)
                and self.invariant(expression.right)
            )
        if isinstance(expression, cst.UnaryOperation):
            return isinstance(expression.operator, cst.Minus) and self.invariant(
                expression.expression
            )
        return False

    def _kept_container(self, expression: cst.BaseExpression) -> bool:
        """A plain name the loop only reads and calls no method of (so its attributes stay)."""
        if not (isinstance(expression, cst.Name) and self.invariant(expression)):
            return False
        name = expression.value
        for node in _tools.walk(self.loop):
            if (
                isinstance(node, cst.Call)
                and isinstance(node.func, cst.Attribute)
                and isinstance(node.func.value, cst.Name)
                and node.func.value.value == name
            ):
                return False
        return _edits.only_read_in(self.analysis, name, self.loop)


def _cannot_raise(expression: cst.CSTNode) -> bool:
    """No attribute reads (which may fail): safe to evaluate where the loop might not."""
    return not _tools.contains(expression, (cst.Attribute,))


def _worth_hoisting(expression: cst.CSTNode) -> bool:
    """An operation on at least one variable (constants alone the compiler folds)."""
    return isinstance(expression, cst.BinaryOperation) and any(
        isinstance(n, cst.Name) and n.value not in {"True", "False", "None"}
        for n in _tools.walk(expression)
    )


class HoistInvariant(Rule):
    id = "hoist-invariant"
    rationale = (
        "Arithmetic on values the loop never changes is computed once before the loop "
        "instead of on every pass."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "A `+`, `-`, `*` expression (unary minus too) inside a for/while loop whose operands "
        "are literals, names bound before the loop and not assigned in it, and attributes "
        "(`obj.a`) of names the loop only reads and calls no method of, is computed into a "
        "fresh local just before the outermost loop in which it is invariant; only whole "
        "subexpressions move (no reassociation). Division, modulo, powers and items stay: "
        "they can raise (ZeroDivisionError, IndexError), and the hoisted value is computed "
        "even when the loop runs zero times. Where the loop might not evaluate it (under "
        "if, and/or, a conditional expression, an inner loop, try or with) expressions "
        "with attributes stay too. Silent inside nested functions, lambdas and "
        "comprehensions. Differs when an operand's operator or attribute has effects, "
        "raises (an int too large for a float, a missing attribute) or changes through an "
        "alias or a called function while the loop runs."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if _tools.calls_named(func, _tools.FRAME_CALLS):
            return None
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        leaves: dict[int, _Leaves] = {}
        taken: list[cst.CSTNode] = []  # hoisted expressions: their parts are not hoisted again
        hoisted: dict[tuple[str, int], str] = {}  # (code, id(loop)) -> local
        for node in _tools.walk(func.body):
            if not _worth_hoisting(node) or any(_inside(analysis, node, t) for t in taken):
                continue
            scopes = (cst.Lambda, *_tools.COMPREHENSIONS)
            if any(isinstance(a, scopes) for a in analysis.ancestors(node)):
                continue
            for loop in _edits.enclosing_loops(analysis, node):
                check = leaves.setdefault(id(loop), _Leaves(analysis, func, loop))
                if not check.invariant(node):
                    continue
                if not (_edits.unconditional_in(analysis, node, loop) or _cannot_raise(node)):
                    continue
                taken.append(node)
                value = node.with_changes(lpar=(), rpar=())
                key = (_code(value), id(loop))
                local = hoisted.get(key)
                if local is None:  # the same expression twice in a loop: one local
                    local = hoisted[key] = _tools.fresh_name(
                        _edits.readable_name(node, "invariant"), reserved
                    )
                    anchor = _edits.anchor(analysis, loop, avoid=_tools.names_in(node))
                    edits.insert_before(anchor, _edits.assign(local, value))
                edits.replace_with(node, lambda n, local=local: cst.Name(local))
                break
        return _edits.apply_edits(func, edits) if edits else None


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node).replace(" ", "")


def _inside(analysis: _tools.Analysis, node: cst.CSTNode, outer: cst.CSTNode) -> bool:
    return any(a is outer for a in analysis.ancestors(node))
