"""sum-loop: a loop that adds up values becomes one `sum([...])`.

    total = 0                         total = sum([a(i, j) * u for j, u in enumerate(us)])
    for j, u in enumerate(us):    →
        total += a(i, j) * u

sum() adds in C; the comprehension evaluates the same values in the same order.
Only up to Python 3.11: from 3.12 sum() of floats is compensated (Neumaier), so it
no longer gives the bits of the plain left-to-right `+=`.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _accumulate
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def part_a_times_u(i, u):
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += (i + j) * u_j
    return partial_sum
"""

EXAMPLE_SILENT = """
def part_a_times_u(i, u):
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += partial_sum * u_j
    return partial_sum
"""


def _zero(value: cst.BaseExpression) -> bool:
    """`0` or `0.0`: a start value that `sum(..., start)` reproduces."""
    if isinstance(value, cst.Integer):
        return value.evaluated_value == 0
    return isinstance(value, cst.Float) and value.evaluated_value == 0.0


def _added(statement: cst.BaseSmallStatement, name: str) -> tuple[cst.BaseExpression, ...] | None:
    """EXPR if `statement` is `name += EXPR`, except integer literals (count-loop's case)."""
    if (
        isinstance(statement, cst.AugAssign)
        and isinstance(statement.operator, cst.AddAssign)
        and isinstance(statement.target, cst.Name)
        and statement.target.value == name
        and not isinstance(statement.value, cst.Integer)
    ):
        return (statement.value,)
    return None


def _sum(loop: _accumulate.AccumulatorLoop) -> cst.BaseExpression:
    init = loop.init_line.body[0]
    assert isinstance(init, (cst.Assign, cst.AnnAssign)) and init.value is not None
    values = cst.ListComp(elt=_accumulate.element(loop.parts[0]), for_in=loop.comprehension_for())
    args = [cst.Arg(values)]
    if isinstance(init.value, cst.Float):  # sum(..., 0.0): the same float start
        args.append(cst.Arg(init.value))
    return cst.Call(func=cst.Name("sum"), args=args)


PATTERN = _accumulate.Pattern(is_empty_start=_zero, step_parts=_added, replacement=_sum)


class SumLoop(Rule):
    id = "sum-loop"
    rationale = "sum() adds the values in C instead of one interpreted += per item."
    safety = Safety.NEEDS_VERIFICATION
    max_python = (3, 11)  # sum() of floats is compensated from 3.12: other bits than +=
    description = (
        "`NAME = 0` (or `0.0`) directly followed by `for T in ITER:` whose body is only "
        "`NAME += EXPR` (EXPR not an integer literal: count-loop), optionally under one "
        "`if COND:` without else; becomes `NAME = sum([EXPR for T in ITER if COND])` "
        "(`sum(..., 0.0)` for a float start). Silent under the conditions of "
        "list-comprehension and when sum is rebound. Python 3.11 and older only: from 3.12 "
        "sum() adds floats with compensation, so the result differs in the last bits from "
        "the loop's. Differs where `+=` is not `+`: objects with their own __iadd__ (a "
        "numpy array accumulates in place, with its dtype's casting rules), and the error "
        "message for values that cannot be added."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "sum"):
            return None
        return _accumulate.rewrite_accumulator_loops(func, [PATTERN])
