"""math-sqrt: `x ** 0.5` and `pow(x, 0.5)` become `math.sqrt(x)`.

    distance = (dx * dx + dy * dy) ** 0.5     distance = math.sqrt(dx * dx + dy * dy)

math.sqrt is one correctly rounded machine instruction; `** 0.5` goes through the
general power function.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def distance(dx, dy):
    return (dx * dx + dy * dy) ** 0.5
"""

EXAMPLE_SILENT = """
def distance(dx, dy):
    return (dx * dx + dy * dy) ** 1.5
"""


def _is_half(node: cst.BaseExpression) -> bool:
    return isinstance(node, cst.Float) and node.evaluated_value == 0.5


def _radicand(node: cst.CSTNode, analysis: _tools.Analysis) -> cst.BaseExpression | None:
    """X if `node` is `X ** 0.5` or `pow(X, 0.5)`."""
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Power):
        return node.left if _is_half(node.right) else None
    if _edits.is_call_to(node, "pow"):
        assert isinstance(node, cst.Call)
        args = _edits.positional_args(node)
        if args is not None and len(args) == 2 and _is_half(args[1]):
            return args[0]
    return None


class MathSqrt(Rule):
    id = "math-sqrt"
    rationale = "math.sqrt is a single correctly rounded operation; ** 0.5 calls the general pow."
    safety = Safety.NEEDS_VERIFICATION
    imports = (("math", None),)
    description = (
        "`X ** 0.5` and `pow(X, 0.5)` become `math.sqrt(X)`. Silent when pow is rebound, the "
        "function binds `math`, or the module binds `math` to something other than the "
        "module. Differs for negative X (** gives a complex number, sqrt raises ValueError), "
        "for values other than int and float (Decimal, Fraction, numpy arrays: sqrt converts "
        "to float), for ints too large for a float (both raise OverflowError), and in the "
        "last bit for about 1 in 2,000 floats, because the C library's pow is not correctly "
        "rounded and sqrt is."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        bindings = context.module_bindings
        if "math" in bindings and not _edits.imported_as(bindings, "math", "math"):
            return None
        if "math" in _tools.bound_names(func):
            return None
        analysis = _tools.Analysis.of(func)
        pow_rebound = context.rebinds(func, "pow")
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            radicand = _radicand(node, analysis)
            if radicand is None or (pow_rebound and isinstance(node, cst.Call)):
                continue
            edits.replace_with(node, _sqrt_of)
        return _edits.apply_edits(func, edits) if edits else None


def _sqrt_of(node: cst.CSTNode) -> cst.CSTNode:
    """`math.sqrt(X)` for the (already rewritten) `X ** 0.5` or `pow(X, 0.5)`."""
    if isinstance(node, cst.BinaryOperation):
        radicand, lpar, rpar = node.left, node.lpar, node.rpar
    else:
        assert isinstance(node, cst.Call)
        radicand, lpar, rpar = node.args[0].value, node.lpar, node.rpar
    return cst.Call(
        func=cst.Attribute(value=cst.Name("math"), attr=cst.Name("sqrt")),
        args=[cst.Arg(radicand.with_changes(lpar=(), rpar=()))],
        lpar=lpar,
        rpar=rpar,
    )
