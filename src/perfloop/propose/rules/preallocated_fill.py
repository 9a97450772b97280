"""preallocated-fill: a list made of placeholders and then filled index by index becomes a
list comprehension.

    points = [None] * n                       points = [Point(i) for i in range(n)]
    for i in range(n):                →
        points[i] = Point(i)

The comprehension builds the list once, without the placeholder list and one
index store per item.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _accumulate, _edits
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def benchmark(n):
    points = [None] * n
    for i in range(n):
        points[i] = Point(i)
    return points
"""

EXAMPLE_SILENT = """
def benchmark(n):
    points = [None] * n
    for i in range(n - 1):
        points[i] = Point(i)
    return points
"""

_PLACEHOLDERS = (cst.Integer, cst.Float, cst.SimpleString)


def _size(value: cst.BaseExpression) -> cst.BaseExpression | None:
    """N if `value` is `[PLACEHOLDER] * N` with N a plain name or an integer literal."""
    if not (
        isinstance(value, cst.BinaryOperation)
        and isinstance(value.operator, cst.Multiply)
        and isinstance(value.left, cst.List)
        and len(value.left.elements) == 1
    ):
        return None
    placeholder = value.left.elements[0].value
    if not (
        isinstance(placeholder, _PLACEHOLDERS)
        or (isinstance(placeholder, cst.Name) and placeholder.value in {"None", "False", "True"})
    ):
        return None
    size = value.right
    return size if isinstance(size, (cst.Name, cst.Integer)) and not size.lpar else None


def _store(statement: cst.BaseSmallStatement, name: str) -> tuple[cst.BaseExpression, ...] | None:
    """(INDEX, VALUE) if `statement` is exactly `name[INDEX] = VALUE`."""
    if not isinstance(statement, cst.Assign) or len(statement.targets) != 1:
        return None
    target = statement.targets[0].target
    if not (
        isinstance(target, cst.Subscript)
        and isinstance(target.value, cst.Name)
        and target.value.value == name
        and len(target.slice) == 1
        and isinstance(target.slice[0].slice, cst.Index)
    ):
        return None
    return target.slice[0].slice.value, statement.value


def _fills_every_index(loop: _accumulate.AccumulatorLoop, local_names: set[str]) -> bool:
    """The loop is `for I in range(N)` with the N of the start, stores at `[I]`, no condition."""
    init = loop.init_line.body[0]
    assert isinstance(init, (cst.Assign, cst.AnnAssign)) and init.value is not None
    size = _size(init.value)
    index = loop.parts[0]
    target = loop.loop.target
    iterable = loop.loop.iter
    if size is None or loop.condition is not None or not isinstance(target, cst.Name):
        return False
    if not (isinstance(index, cst.Name) and index.value == target.value and not index.lpar):
        return False
    if not (_edits.is_call_to(iterable, "range") and isinstance(iterable, cst.Call)):
        return False
    args = _edits.positional_args(iterable)
    if args is None or len(args) != 1:
        return False
    bound = args[0]
    if isinstance(size, cst.Name):
        return isinstance(bound, cst.Name) and bound.value == size.value
    return isinstance(bound, cst.Integer) and bound.value == size.value  # type: ignore[attr-defined]


PATTERN = _accumulate.Pattern(
    is_empty_start=lambda value: _size(value) is not None,
    step_parts=_store,
    replacement=lambda loop: cst.ListComp(
        elt=_accumulate.element(loop.parts[1]), for_in=loop.comprehension_for()
    ),
    extra_check=_fills_every_index,
)


class PreallocatedFill(Rule):
    id = "preallocated-fill"
    rationale = (
        "A comprehension builds the list in one go instead of a list of placeholders and "
        "one index store per item."
    )
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "`NAME = [P] * N` (P a literal, N a plain name or integer literal) directly followed "
        "by `for I in range(N):` whose body is only `NAME[I] = E` becomes `NAME = [E for I "
        "in range(N)]`. Silent under the conditions of list-comprehension (loop else, NAME "
        "in E, I used after the loop, try/with around it, closures, ...), for another range "
        "or index, and when range is rebound. Every index of the placeholder list is "
        "written once, in order, with the same E evaluated in the same order, so the list "
        "is the same; N that is negative gives [] and N that is not an int raises TypeError "
        "in both."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "range"):
            return None
        return _accumulate.rewrite_accumulator_loops(func, [PATTERN])
