"""square-multiply: `x ** 2` becomes `x * x` for a plain name or attribute.

    r = (self.x ** 2 + self.y ** 2)           r = (self.x * self.x + self.y * self.y)

One multiplication instead of a call of the general power function.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def norm(self):
    return (self.x ** 2 + self.y ** 2 + self.z ** 2) ** 0.5
"""

EXAMPLE_SILENT = """
def norm(vector):
    return (vector.length() ** 2) ** 0.5
"""

_TIGHTER_THAN_TIMES = (cst.Power,)
_TIMES_LEVEL = (cst.Multiply, cst.Divide, cst.FloorDivide, cst.Modulo, cst.MatrixMultiply)


def _plain(node: cst.BaseExpression) -> bool:
    """A name or an attribute chain of a name: evaluating it twice reads the same value."""
    if isinstance(node, cst.Name):
        return node.value not in {"True", "False", "None"}
    return isinstance(node, cst.Attribute) and _plain(node.value)


def _needs_parens(node: cst.BinaryOperation, parent: cst.CSTNode) -> bool:
    """`x * x` must keep the grouping of `x ** 2` where the parent binds as tight as `*`."""
    if node.lpar:
        return False
    if isinstance(parent, cst.BinaryOperation):
        return isinstance(parent.operator, (*_TIMES_LEVEL, *_TIGHTER_THAN_TIMES))
    return isinstance(parent, (cst.UnaryOperation, cst.Attribute, cst.Subscript, cst.Call)) and (
        not isinstance(parent, cst.Call) or parent.func is node
    )


class SquareMultiply(Rule):
    id = "square-multiply"
    rationale = "x * x is one multiplication; x ** 2 calls the general power function."
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`X ** 2` with X a plain name or an attribute chain of one (`self.x`) becomes `X * X`, "
        "in parentheses where the neighbours bind as tightly as `*` (so `2 * x ** 2` gives "
        "`2 * (x * x)`, not a reassociated product). Differs for floats in the last bit for "
        "about 1 in 1,000 values (the C library's pow is not correctly rounded, `*` is), "
        "for floats so large that the square overflows (** raises OverflowError, * gives "
        "inf), for attributes computed on each access (read twice now), and for types "
        "whose ** and * disagree."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if not (
                isinstance(node, cst.BinaryOperation)
                and isinstance(node.operator, cst.Power)
                and isinstance(node.right, cst.Integer)
                and node.right.evaluated_value == 2
                and _plain(node.left)
            ):
                continue
            parens = _needs_parens(node, analysis.ancestors(node)[-1])
            edits.replace_with(node, lambda n, parens=parens: _square(n, parens))
        return _edits.apply_edits(func, edits) if edits else None


def _square(node: cst.CSTNode, parens: bool) -> cst.BaseExpression:
    assert isinstance(node, cst.BinaryOperation)
    base = node.left.with_changes(lpar=(), rpar=())
    product = cst.BinaryOperation(
        left=base, operator=cst.Multiply(), right=base, lpar=node.lpar, rpar=node.rpar
    )
    return _tools.parenthesized(product) if parens else product
