"""list-comprehension: an append loop becomes a list (or dict, or set) comprehension.

    out = []                                  out = [f(x) for x in xs if x]
    for x in xs:                      →
        if x:
            out.append(f(x))

Also `d = {}` + `d[K] = V` → `{K: V for ...}` and `s = set()` + `s.add(E)` → `{E for ...}`.
The comprehension runs the same steps in the same order without looking up and
calling `out.append` on every item.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _accumulate
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def selling_days(series):
    days = []
    for units in series:
        if units:
            days.append(units)
    return days
"""

EXAMPLE_SILENT = """
def selling_days(series):
    days = []
    for units in series:
        if units:
            days.append(units)
    return days, units
"""


def _list_step(
    statement: cst.BaseSmallStatement, name: str
) -> tuple[cst.BaseExpression, ...] | None:
    value = _accumulate.method_call_argument(statement, name, "append")
    return None if value is None else (value,)


def _set_step(
    statement: cst.BaseSmallStatement, name: str
) -> tuple[cst.BaseExpression, ...] | None:
    value = _accumulate.method_call_argument(statement, name, "add")
    return None if value is None else (value,)


def _dict_step(
    statement: cst.BaseSmallStatement, name: str
) -> tuple[cst.BaseExpression, ...] | None:
    """(KEY, VALUE) if `statement` is exactly `name[KEY] = VALUE`."""
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    if not (
        isinstance(target, cst.Subscript)
        and isinstance(target.value, cst.Name)
        and target.value.value == name
    ):
        return None
    keys: list[cst.BaseExpression] = []
    for item in target.slice:
        if not isinstance(item.slice, cst.Index) or getattr(item.slice, "star", None):
            return None
        keys.append(item.slice.value)
    if len(keys) == 1:
        key = keys[0]
    else:
        key = cst.Tuple(elements=[cst.Element(k) for k in keys])
    return key, statement.value


def _is_empty_list(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.List) and not value.elements


def _is_empty_dict(value: cst.BaseExpression) -> bool:
    return isinstance(value, cst.Dict) and not value.elements


def _is_empty_set_call(value: cst.BaseExpression) -> bool:
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value == "set"
        and not value.args
    )


def _is_simple(expression: cst.BaseExpression, local_names: set[str]) -> bool:
    """A literal, a local variable or a tuple of those: evaluating it cannot fail or act."""
    if isinstance(expression, cst.Name):
        return expression.value in local_names or expression.value in {"True", "False", "None"}
    if isinstance(
        expression,
        (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString),
    ):
        return True
    if isinstance(expression, cst.Tuple):
        return all(_is_simple(e.value, local_names) for e in expression.elements)
    return False


def _dict_order_safe(loop: _accumulate.AccumulatorLoop, local_names: set[str]) -> bool:
    """`d[K] = V` evaluates V first, `{K: V ...}` evaluates K first: one of them must be inert."""
    key, value = loop.parts
    return _is_simple(key, local_names) or _is_simple(value, local_names)


PATTERNS = (
    _accumulate.Pattern(
        is_empty_start=_is_empty_list,
        step_parts=_list_step,
        replacement=lambda loop: cst.ListComp(
            elt=_accumulate.element(loop.parts[0]), for_in=loop.comprehension_for()
        ),
    ),
    _accumulate.Pattern(
        is_empty_start=_is_empty_dict,
        step_parts=_dict_step,
        replacement=lambda loop: cst.DictComp(
            key=_accumulate.element(loop.parts[0]),
            value=_accumulate.element(loop.parts[1]),
            for_in=loop.comprehension_for(),
        ),
        extra_check=_dict_order_safe,
    ),
    _accumulate.Pattern(
        is_empty_start=_is_empty_set_call,
        step_parts=_set_step,
        replacement=lambda loop: cst.SetComp(
            elt=_accumulate.element(loop.parts[0]), for_in=loop.comprehension_for()
        ),
    ),
)


class ListComprehension(Rule):
    id = "list-comprehension"
    rationale = (
        "A comprehension builds the list, dict or set without looking up and calling "
        ".append/.add/__setitem__ on every item."
    )
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "`NAME = []` directly followed by `for T in ITER:` whose body is only "
        "`NAME.append(EXPR)`, optionally under one `if COND:` without else (likewise "
        "`NAME = {}` + `NAME[K] = V`, `NAME = set()` + `NAME.add(E)`). Silent if the loop "
        "has an else, NAME appears in ITER/EXPR/COND, the loop's names are used elsewhere in "
        "the function (comprehension variables do not leak), NAME is global/nonlocal or used "
        "by a nested function, the loop is inside try or with (a half-built NAME could be "
        "seen after an exception), EXPR/COND use yield, await, := or frame-inspecting calls "
        "(locals, vars, super, ...), or, for dicts, neither K nor V is a plain local or literal "
        "(the loop evaluates V first, the comprehension K). Under these conditions the same "
        "expressions run in the same order, so the result is the same for every input "
        "(code that inspects the caller's frame aside)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        patterns = [
            p
            for p in PATTERNS
            if p.is_empty_start is not _is_empty_set_call or not context.rebinds(func, "set")
        ]
        return _accumulate.rewrite_accumulator_loops(func, patterns)
