"""Accumulator loops: `NAME = <empty>` directly followed by a `for` that only adds to NAME.

Shared by the rules that turn such a loop into one expression (a comprehension,
`"".join(...)`). A `Pattern` says what the empty start value looks like, what
one step looks like, and how to build the replacement expression.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _tools


@dataclass(frozen=True)
class AccumulatorLoop:
    """A matched `NAME = <empty>` + `for TARGET in ITER: [if COND:] <step>`."""

    init_line: cst.SimpleStatementLine
    loop: cst.For
    name: str
    parts: tuple[cst.BaseExpression, ...]
    """What one step adds: (EXPR,) for append/add/+=, (KEY, VALUE) for `NAME[KEY] = VALUE`."""
    condition: cst.BaseExpression | None

    def comprehension_for(self) -> cst.CompFor:
        """`for TARGET in ITER [if COND]` as a comprehension clause."""
        iterable = self.loop.iter
        if _tools.needs_parens_in_comprehension(iterable):
            iterable = _tools.parenthesized(iterable)
        ifs = []
        if self.condition is not None:
            condition = self.condition
            if _tools.needs_parens_in_comprehension(condition):
                condition = _tools.parenthesized(condition)
            ifs.append(cst.CompIf(test=condition))
        return cst.CompFor(target=self.loop.target, iter=iterable, ifs=ifs)


@dataclass(frozen=True)
class Pattern:
    """One kind of accumulator: its empty start value, its step, its replacement."""

    is_empty_start: Callable[[cst.BaseExpression], bool]
    step_parts: Callable[[cst.BaseSmallStatement, str], tuple[cst.BaseExpression, ...] | None]
    replacement: Callable[[AccumulatorLoop], cst.BaseExpression]
    extra_check: Callable[[AccumulatorLoop, set[str]], bool] = lambda loop, local_names: True
    """Further precondition, given the names the function binds."""
    match_body: (
        Callable[
            [cst.BaseSuite, str],
            tuple[tuple[cst.BaseExpression, ...], cst.BaseExpression | None] | None,
        ]
        | None
    ) = None
    """For steps that are more than one small statement (an if/else): (parts, condition)
    from the whole loop body, or None; replaces `step_parts` when given."""


def rewrite_accumulator_loops(
    func: cst.FunctionDef, patterns: Sequence[Pattern]
) -> cst.FunctionDef | None:
    """`func` with every matching accumulator loop replaced, or None if none matches."""
    analysis = _tools.Analysis.of(func)
    local_names = _tools.bound_names(func)
    replacements: dict[int, cst.SimpleStatementLine] = {}
    for block in _statement_blocks(func):
        for init_line, loop in itertools.pairwise(block):
            found = _match(init_line, loop, patterns)
            if found is None:
                continue
            accumulator, pattern = found
            if not _safe(accumulator, func, analysis):
                continue
            if not pattern.extra_check(accumulator, local_names):
                continue
            replacements[id(init_line)] = _new_statement(accumulator, pattern)
    if not replacements:
        return None
    return func.visit(_Replace(func, replacements))


def _statement_blocks(func: cst.FunctionDef) -> list[Sequence[cst.CSTNode]]:
    """Every statement list in the function's own scope (nested defs and classes excluded)."""
    blocks: list[Sequence[cst.CSTNode]] = []

    def walk(statements: Sequence[cst.CSTNode]) -> None:
        blocks.append(statements)
        for statement in statements:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                continue
            for block in _tools.child_blocks(statement):
                walk(block)

    if isinstance(func.body, cst.IndentedBlock):
        walk(func.body.body)
    return blocks


def _match(
    init_line: cst.CSTNode, loop: cst.CSTNode, patterns: Sequence[Pattern]
) -> tuple[AccumulatorLoop, Pattern] | None:
    if not isinstance(init_line, cst.SimpleStatementLine) or not isinstance(loop, cst.For):
        return None
    if len(init_line.body) != 1 or loop.asynchronous is not None or loop.orelse is not None:
        return None
    init = init_line.body[0]
    if isinstance(init, cst.Assign) and len(init.targets) == 1:
        target, value = init.targets[0].target, init.value
    elif isinstance(init, cst.AnnAssign) and init.value is not None:
        target, value = init.target, init.value
    else:
        return None
    if not isinstance(target, cst.Name):
        return None
    step, condition = _step_and_condition(loop.body)
    for pattern in patterns:
        if not pattern.is_empty_start(value):
            continue
        if pattern.match_body is not None:
            found = pattern.match_body(loop.body, target.value)
            if found is not None:
                return AccumulatorLoop(init_line, loop, target.value, *found), pattern
            continue
        parts = None if step is None else pattern.step_parts(step, target.value)
        if parts is not None:
            return AccumulatorLoop(init_line, loop, target.value, parts, condition), pattern
    return None


def _step_and_condition(
    body: cst.BaseSuite,
) -> tuple[cst.BaseSmallStatement | None, cst.BaseExpression | None]:
    """The loop body's only statement, possibly under one `if` without `else`."""
    statement = _tools.single_statement(body)
    if isinstance(statement, cst.If):
        if statement.orelse is not None:
            return None, None
        return _tools.single_small_statement(statement.body), statement.test
    if isinstance(statement, cst.BaseSmallStatement):
        return statement, None
    return None, None


def _safe(accumulator: AccumulatorLoop, func: cst.FunctionDef, analysis: _tools.Analysis) -> bool:
    """The preconditions under which the loop and the single expression are the same."""
    loop, name = accumulator.loop, accumulator.name
    loop_names = _tools.target_names(loop.target)
    if loop_names is None or name in loop_names:
        return False
    per_step = [*accumulator.parts]
    if accumulator.condition is not None:
        per_step.append(accumulator.condition)
    if any(name in _tools.names_in(node) for node in [loop.iter, *per_step]):
        return False
    for node in per_step:
        if _tools.contains(node, (cst.Yield, cst.Await, cst.NamedExpr)):
            return False
        if _tools.calls_named(node, _tools.FRAME_CALLS) or "__class__" in _tools.names_in(node):
            return False
    if _tools.used_outside(analysis, loop_names, loop):
        return False
    for occurrence in analysis.of_name(name):
        if _tools.in_nested_scope(occurrence, func):
            return False
        if _tools.in_shared_declaration(occurrence):
            return False
    return not _tools.enclosed_by_exception_handling(analysis, loop)


def _new_statement(accumulator: AccumulatorLoop, pattern: Pattern) -> cst.SimpleStatementLine:
    init_line = accumulator.init_line
    init = init_line.body[0]
    assert isinstance(init, (cst.Assign, cst.AnnAssign))
    comments = [line for line in accumulator.loop.leading_lines if line.comment is not None]
    return init_line.with_changes(
        body=[init.with_changes(value=pattern.replacement(accumulator))],
        leading_lines=[*init_line.leading_lines, *comments],
    )


class _Replace(cst.CSTTransformer):
    """Swap each matched init line for its new statement and drop the loop after it."""

    def __init__(self, root: cst.FunctionDef, replacements: dict[int, cst.SimpleStatementLine]):
        super().__init__()
        self._root = root
        self._replacements = replacements

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return node is self._root

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False

    def leave_IndentedBlock(
        self, original_node: cst.IndentedBlock, updated_node: cst.IndentedBlock
    ) -> cst.IndentedBlock:
        body: list[cst.BaseStatement] = []
        skip_next = False
        for original, updated in zip(original_node.body, updated_node.body):
            if skip_next:
                skip_next = False
                continue
            replacement = self._replacements.get(id(original))
            if replacement is not None:
                body.append(replacement)
                skip_next = True
            else:
                body.append(updated)
        return updated_node.with_changes(body=body)


# --- building blocks for the patterns ----------------------------------------


def method_call_argument(
    statement: cst.BaseSmallStatement, name: str, method: str
) -> cst.BaseExpression | None:
    """EXPR if `statement` is exactly `name.method(EXPR)` with one positional argument."""
    if not isinstance(statement, cst.Expr) or not isinstance(statement.value, cst.Call):
        return None
    call = statement.value
    func = call.func
    if not (
        isinstance(func, cst.Attribute)
        and isinstance(func.value, cst.Name)
        and func.value.value == name
        and func.attr.value == method
    ):
        return None
    if len(call.args) != 1 or call.args[0].keyword is not None or call.args[0].star:
        return None
    return call.args[0].value


def element(expression: cst.BaseExpression) -> cst.BaseExpression:
    """`expression` made fit to stand as a comprehension's element."""
    if _tools.needs_parens_as_element(expression):
        return _tools.parenthesized(expression)
    return expression
