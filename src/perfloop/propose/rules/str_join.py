"""str-join: a string built with `+=` in a loop becomes one `"".join(...)`.

    text = ""                                 text = "".join([ch for ch in raw if ch != " "])
    for ch in raw:                    →
        if ch != " ":
            text += ch

Repeated `+=` may copy the growing string on each step; `join` sizes the result once.
"""

from __future__ import annotations

import ast

import libcst as cst

from perfloop.propose.rules import _accumulate
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def strip_punctuation(review):
    cleaned = ""
    for ch in review:
        if ch not in ".,;:!?":
            cleaned += ch
    return cleaned
"""

EXAMPLE_SILENT = """
def strip_punctuation(review):
    cleaned = ""
    for ch in review:
        if ch in ".!?":
            break
        cleaned += ch
    return cleaned
"""


def _is_empty_str(value: cst.BaseExpression) -> bool:
    if not isinstance(value, cst.SimpleString):
        return False
    try:
        return ast.literal_eval(value.value) == ""  # b"" is bytes, not equal to ""
    except (ValueError, SyntaxError):
        return False


def _concatenation_step(
    statement: cst.BaseSmallStatement, name: str
) -> tuple[cst.BaseExpression, ...] | None:
    if (
        isinstance(statement, cst.AugAssign)
        and isinstance(statement.operator, cst.AddAssign)
        and isinstance(statement.target, cst.Name)
        and statement.target.value == name
    ):
        return (statement.value,)
    return None


def _join(loop: _accumulate.AccumulatorLoop) -> cst.BaseExpression:
    init = loop.init_line.body[0]
    assert isinstance(init, (cst.Assign, cst.AnnAssign)) and init.value is not None
    separator = init.value  # the same empty literal, in the author's quote style
    items = cst.ListComp(elt=_accumulate.element(loop.parts[0]), for_in=loop.comprehension_for())
    return cst.Call(
        func=cst.Attribute(value=separator, attr=cst.Name("join")), args=[cst.Arg(items)]
    )


PATTERN = _accumulate.Pattern(
    is_empty_start=_is_empty_str, step_parts=_concatenation_step, replacement=_join
)


class StrJoin(Rule):
    id = "str-join"
    rationale = (
        'Building a string with += in a loop may copy it on every step; "".join() builds it once.'
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        '`NAME = ""` directly followed by `for T in ITER:` whose body is only `NAME += EXPR`, '
        "optionally under one `if COND:` without else. Silent under the same conditions as "
        "list-comprehension (loop else, NAME in ITER/EXPR/COND, loop names used elsewhere, "
        "try/with around the loop, yield/await/:=). Differs when EXPR is not a str: both "
        "raise TypeError but with different messages, and join evaluates every EXPR before "
        "failing; a str subclass with its own __radd__ is not called by join."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        return _accumulate.rewrite_accumulator_loops(func, [PATTERN])
