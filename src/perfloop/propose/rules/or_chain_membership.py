"""or-chain-membership: `x == a or x == b or ...` against literals becomes `x in {a, b, ...}`.

    if ch == "." or ch == "!" or ch == "?":    →    if ch in {".", "!", "?"}:

The compiler makes a set of literals a constant frozenset, so the test is one hash
lookup instead of a comparison per literal (and `x` is read once).
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _counting, _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def is_closed(status):
    return status == "cancelled" or status == "refunded" or status == "chargeback"
"""

EXAMPLE_SILENT = """
def is_closed(status, other):
    return status == "cancelled" or other == "refunded"
"""


def _operands(node: cst.BooleanOperation, operator: type) -> list[cst.BaseExpression] | None:
    """The operands of a chain of one boolean operator, left to right."""
    operands: list[cst.BaseExpression] = []
    for side in (node.left, node.right):
        if isinstance(side, cst.BooleanOperation):
            if not isinstance(side.operator, operator):
                return None
            inner = _operands(side, operator)
            if inner is None:
                return None
            operands.extend(inner)
        else:
            operands.append(side)
    return operands


def _literal(node: cst.BaseExpression) -> bool:
    """An int or plain string literal (hashable, and equal only to what it should be)."""
    if isinstance(node, cst.Integer):
        return True
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        return not _tools.contains(node, (cst.FormattedString,))
    return (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    )


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _membership(
    node: cst.BooleanOperation,
) -> tuple[cst.BaseExpression, list[cst.BaseExpression], bool] | None:
    """(X, literals, negated) if `node` is `X == L1 or X == L2 ...` or `X != L1 and ...`."""
    if isinstance(node.operator, cst.Or):
        wanted, negated = cst.Equal, False
    elif isinstance(node.operator, cst.And):
        wanted, negated = cst.NotEqual, True
    else:
        return None
    operands = _operands(node, type(node.operator))
    if operands is None or len(operands) < 2:
        return None
    subject: cst.BaseExpression | None = None
    literals: list[cst.BaseExpression] = []
    for operand in operands:
        if not (
            isinstance(operand, cst.Comparison)
            and len(operand.comparisons) == 1
            and isinstance(operand.comparisons[0].operator, wanted)
            and not operand.lpar
        ):
            return None
        left, right = operand.left, operand.comparisons[0].comparator
        if not _literal(right) or not _counting.simple(left):
            return None
        if subject is None:
            subject = left
        elif _code(subject) != _code(left):
            return None
        literals.append(right)
    assert subject is not None
    return subject, literals, negated


class OrChainMembership(Rule):
    id = "or-chain-membership"
    rationale = (
        "`x in {a, b, c}` with literals is one hash lookup in a constant frozenset instead of "
        "a comparison per literal."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "A whole chain `X == L1 or X == L2 [or ...]` (or `X != L1 and X != L2 ...`), X a name, "
        "literal, attribute or item of those, the same in every comparison, the Ls int or "
        "plain string literals, becomes `X in {L1, L2, ...}` (`X not in {...}`). Differs "
        "when X is unhashable (TypeError where == said False), when X's __eq__ or __hash__ "
        "are unusual or have effects, and when == returns something other than a bool (the "
        "chain returns that object, `in` a bool)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        taken: list[cst.CSTNode] = []
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.BooleanOperation):
                continue
            if any(a is t for t in taken for a in analysis.ancestors(node)):
                continue  # part of a chain already rewritten
            found = _membership(node)
            if found is None:
                continue
            taken.append(node)
            subject, literals, negated = found
            operator: cst.BaseCompOp = cst.NotIn() if negated else cst.In()
            literal_set = cst.Set(elements=[cst.Element(lit) for lit in literals])
            new = cst.Comparison(
                left=subject, comparisons=[cst.ComparisonTarget(operator, literal_set)]
            )
            parens = bool(node.lpar) or _tools.needs_parens_among_operators(
                analysis.ancestors(node)[-1], node
            )
            edits.replace_with(
                node, lambda n, new=new, parens=parens: _tools.parenthesized(new) if parens else new
            )
        return _edits.apply_edits(func, edits) if edits else None
