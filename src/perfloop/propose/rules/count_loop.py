"""count-loop: a loop that counts matching items becomes one `len([...])`.

    count = 0                                 count = len([1 for ch in review if ch == "."])
    for ch in review:                 →
        if ch == ".":
            count += 1

The comprehension runs the same test on every item without the interpreter's
loop and `+=` steps; len of the list of hits is the count.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _accumulate
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def days_meeting_target(series, target):
    count = 0
    for units in series:
        if units >= target:
            count += 1
    return count
"""

EXAMPLE_SILENT = """
def days_meeting_target(series, target):
    count = 0
    for units in series:
        if units >= target:
            count += 1
        else:
            count -= 1
    return count
"""


def _is_zero(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Integer) and value.evaluated_value == 0


def _plus_one(
    statement: cst.BaseSmallStatement, name: str
) -> tuple[cst.BaseExpression, ...] | None:
    """(1,) if `statement` is exactly `name += 1`."""
    if (
        isinstance(statement, cst.AugAssign)
        and isinstance(statement.operator, cst.AddAssign)
        and isinstance(statement.target, cst.Name)
        and statement.target.value == name
        and isinstance(statement.value, cst.Integer)
        and statement.value.evaluated_value == 1
    ):
        return (statement.value,)
    return None


def _length_of_hits(loop: _accumulate.AccumulatorLoop) -> cst.BaseExpression:
    hits = cst.ListComp(elt=cst.Integer("1"), for_in=loop.comprehension_for())
    return cst.Call(func=cst.Name("len"), args=[cst.Arg(hits)])


PATTERN = _accumulate.Pattern(
    is_empty_start=_is_zero, step_parts=_plus_one, replacement=_length_of_hits
)


class CountLoop(Rule):
    id = "count-loop"
    rationale = (
        "len() of a comprehension of the hits counts them without an interpreted += per item."
    )
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "`NAME = 0` directly followed by `for T in ITER:` whose body is only `NAME += 1`, "
        "optionally under one `if COND:` without else; becomes `NAME = len([1 for T in ITER "
        "if COND])`. Silent under the conditions of list-comprehension (loop else, NAME in "
        "ITER/COND, loop names used after the loop, NAME global/nonlocal or in a closure, "
        "try/with around the loop, yield/await/:=/frame-inspecting calls) and when len is "
        "rebound. The same COND runs on the same items in the same order and the count is "
        "the same int. The list of hits costs memory: one pointer per hit."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "len"):
            return None
        return _accumulate.rewrite_accumulator_loops(func, [PATTERN])
