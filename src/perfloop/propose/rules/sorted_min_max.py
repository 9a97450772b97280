"""sorted-min-max: `sorted(X)[0]` becomes `min(X)`, `sorted(X)[-1]` becomes `max(X)`.

    lowest = sorted(prices)[0]                lowest = min(prices)
    last = sorted(xs, key=f)[-1]      →       last = max(xs, key=f)

Sorting is O(n log n) and builds a list; min and max are one O(n) pass.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def price_band(prices):
    return sorted(prices)[0], sorted(prices)[-1]
"""

EXAMPLE_SILENT = """
def price_band(prices):
    return sorted(prices, reverse=True)[0], sorted(prices)[1]
"""


def _index(subscript: cst.Subscript) -> int | None:
    """0 or -1 if the subscript is exactly `[0]` or `[-1]`, else None."""
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return None
    index = subscript.slice[0].slice
    if getattr(index, "star", None):
        return None
    value = index.value
    if isinstance(value, cst.Integer) and value.value == "0":
        return 0
    if (
        isinstance(value, cst.UnaryOperation)
        and isinstance(value.operator, cst.Minus)
        and isinstance(value.expression, cst.Integer)
        and value.expression.value == "1"
    ):
        return -1
    return None


def _sorted_call(expression: cst.BaseExpression) -> cst.Call | None:
    """The call if `expression` is `sorted(X)` or `sorted(X, key=K)`, else None."""
    if not (
        isinstance(expression, cst.Call)
        and isinstance(expression.func, cst.Name)
        and expression.func.value == "sorted"
    ):
        return None
    args = expression.args
    if not args or args[0].keyword is not None or args[0].star:
        return None
    rest = args[1:]
    if len(rest) > 1 or any(a.keyword is None or a.keyword.value != "key" for a in rest):
        return None
    return expression


class _Replace(cst.CSTTransformer):
    def __init__(self, analysis: _tools.Analysis) -> None:
        super().__init__()
        self._analysis = analysis
        self.replaced = 0

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        if self._analysis.is_store(original_node):
            return updated_node  # `sorted(x)[0] = 1` is legal; `min(x) = 1` is not
        index = _index(updated_node)
        call = _sorted_call(updated_node.value)
        if index is None or call is None:
            return updated_node
        self.replaced += 1
        function = "min" if index == 0 else "max"
        return call.with_changes(
            func=cst.Name(function),
            lpar=[*updated_node.lpar, *call.lpar],
            rpar=[*call.rpar, *updated_node.rpar],
        )


class SortedMinMax(Rule):
    id = "sorted-min-max"
    rationale = "min()/max() find the smallest or largest item in one pass instead of sorting all."
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`sorted(X)[0]` → `min(X)` and `sorted(X)[-1]` → `max(X)`, with `key=K` carried over; "
        "silent with `reverse=` or any other argument, any other index or slice, or when "
        "sorted/min/max are rebound. Differs on empty X (IndexError vs ValueError), on ties "
        "(`sorted(...)[-1]` is the last of the largest items, `max` the first: visible with key= "
        "or with equal but distinct items such as 1 and 1.0) and on unordered values such as NaN."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if any(context.rebinds(func, name) for name in ("sorted", "min", "max")):
            return None
        transformer = _Replace(_tools.Analysis.of(func))
        rewritten = func.visit(transformer)
        return rewritten if transformer.replaced else None
