"""any-all-loop: a loop that looks for one item that passes a test becomes `any()`.

    for word in words:                        return any(word.isupper() for word in words)
        if word.isupper():            →
            return True
    return False

    found = False                             found = any(is_hot(item) for item in items)
    for item in items:                →       (`any(map(is_hot, items))` when the test
        if is_hot(item):                       is a plain function of the item)
            found = True
            break

`any()` stops at the first hit like the loop; with `map` the whole scan runs in C.
"""

from __future__ import annotations

import itertools

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def has_discontinued(lines, is_discontinued):
    for line in lines:
        if is_discontinued(line):
            return True
    return False
"""

EXAMPLE_SILENT = """
def has_discontinued(lines, is_discontinued):
    for line in lines:
        if is_discontinued(line):
            return line
    return False
"""


def _bool_constant(expression: cst.BaseExpression | None) -> bool | None:
    if isinstance(expression, cst.Name) and expression.value in {"True", "False"}:
        return expression.value == "True"
    return None


def _hit(loop: cst.CSTNode) -> tuple[cst.BaseExpression, cst.BaseSuite] | None:
    """(COND, if-body) if `loop` is `for T in I:` whose body is only `if COND:` (no else)."""
    if not isinstance(loop, cst.For) or loop.orelse is not None or loop.asynchronous:
        return None
    statement = _tools.single_statement(loop.body)
    if not isinstance(statement, cst.If) or statement.orelse is not None:
        return None
    return statement.test, statement.body


def _returned(statement: cst.CSTNode | None) -> bool | None:
    """True/False if `statement` is `return True` / `return False`."""
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        statement = statement.body[0]
    if isinstance(statement, cst.Return):
        return _bool_constant(statement.value)
    return None


def _flag_then_break(body: cst.BaseSuite, flag: str) -> bool | None:
    """True/False if `body` is exactly `FLAG = True; break` (or False), as lines or `;`."""
    if isinstance(body, cst.SimpleStatementSuite):
        smalls = list(body.body)
    elif isinstance(body, cst.IndentedBlock) and all(
        isinstance(line, cst.SimpleStatementLine) for line in body.body
    ):
        smalls = [s for line in body.body for s in line.body]  # type: ignore[union-attr]
    else:
        return None
    if len(smalls) != 2 or not isinstance(smalls[1], cst.Break):
        return None
    assignment = smalls[0]
    if (
        isinstance(assignment, cst.Assign)
        and len(assignment.targets) == 1
        and isinstance(assignment.targets[0].target, cst.Name)
        and assignment.targets[0].target.value == flag
    ):
        return _bool_constant(assignment.value)
    return None


def _any_call(loop: cst.For, condition: cst.BaseExpression, negate: bool) -> cst.BaseExpression:
    target_names = _tools.target_names(loop.target) or set()
    iterable = loop.iter
    mapped = _mapped_function(condition, loop.target, target_names)
    if mapped is not None:
        argument: cst.BaseExpression = cst.Call(
            func=cst.Name("map"), args=[cst.Arg(mapped), cst.Arg(iterable)]
        )
    else:
        if _tools.needs_parens_in_comprehension(iterable):
            iterable = _tools.parenthesized(iterable)
        if _tools.needs_parens_in_comprehension(condition):
            condition = _tools.parenthesized(condition)
        argument = cst.GeneratorExp(  # the sole argument: no parentheses of its own
            elt=condition, for_in=cst.CompFor(target=loop.target, iter=iterable), lpar=[], rpar=[]
        )
    call = cst.Call(func=cst.Name("any"), args=[cst.Arg(argument)])
    return cst.UnaryOperation(operator=cst.Not(), expression=call) if negate else call


def _mapped_function(
    condition: cst.BaseExpression, target: cst.BaseExpression, target_names: set[str]
) -> cst.BaseExpression | None:
    """F if the condition is `F(T)` with T the loop's only name and F a plain name not T."""
    if not (isinstance(target, cst.Name) and isinstance(condition, cst.Call)):
        return None
    args = _edits.positional_args(condition)
    func = condition.func
    if (
        args is not None
        and len(args) == 1
        and isinstance(args[0], cst.Name)
        and args[0].value == target.value
        and not args[0].lpar
        and isinstance(func, cst.Name)
        and func.value not in target_names
        and not condition.lpar
    ):
        return func
    return None


def _loop_safe(
    analysis: _tools.Analysis, loop: cst.For, condition: cst.BaseExpression, flag: str | None
) -> bool:
    names = _tools.target_names(loop.target)
    if names is None or (flag is not None and flag in names):
        return False
    if _tools.contains(condition, (cst.Yield, cst.Await, cst.NamedExpr)):
        return False
    if _tools.calls_named(condition, _tools.FRAME_CALLS) or "__class__" in _tools.names_in(
        condition
    ):
        return False
    if flag is not None and flag in _tools.names_in(loop.iter) | _tools.names_in(condition):
        return False
    return not _tools.used_outside(analysis, names, loop)


def _statement_blocks(func: cst.FunctionDef) -> list[tuple[cst.CSTNode, ...]]:
    blocks = []
    for node in _tools.walk(func.body):
        if isinstance(node, cst.IndentedBlock):
            blocks.append(tuple(node.body))
    return blocks


class AnyAllLoop(Rule):
    id = "any-all-loop"
    rationale = (
        "any() stops at the first hit like the loop; with map() over a plain function the "
        "whole scan runs in C."
    )
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "`for T in ITER: if COND: return True` directly followed by `return False` (or the "
        "other way round, giving `not any(...)`) becomes `return any(COND for T in ITER)`; "
        "`FLAG = False` directly followed by `for T in ITER: if COND: FLAG = True; break` "
        "becomes `FLAG = any(COND for T in ITER)`. When COND is `F(T)` with F a plain name, "
        "`any(map(F, ITER))`. Silent when the loop or the if has an else, the loop's names "
        "are used elsewhere in the function, FLAG appears in ITER or COND, COND uses "
        "yield/await/:=/frame-inspecting calls, or any/map are rebound; not in generators. "
        "The same COND runs on the same items in the same order and stops at the same item; "
        "bool(COND) decides in both. With map, F is looked up once instead of per item "
        "(a difference only if calling F rebinds the name F)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "any") or context.rebinds(func, "map"):
            return None
        if _tools.contains(func.body, (cst.Yield,)):
            return None
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        for block in _statement_blocks(func):
            for first, second in itertools.pairwise(block):
                self._plan_return_form(analysis, first, second, edits)
                self._plan_flag_form(analysis, first, second, edits)
        return _edits.apply_edits(func, edits) if edits else None

    @staticmethod
    def _plan_return_form(
        analysis: _tools.Analysis, loop: cst.CSTNode, after: cst.CSTNode, edits: _edits.Edits
    ) -> None:
        hit = _hit(loop)
        if hit is None:
            return
        condition, body = hit
        inside, outside = _returned(_tools.single_statement(body)), _returned(after)
        if inside is None or outside is None or inside == outside:
            return
        assert isinstance(loop, cst.For) and isinstance(after, cst.SimpleStatementLine)
        if not _loop_safe(analysis, loop, condition, None):
            return
        value = _any_call(loop, condition, negate=not inside)
        new_return = after.with_changes(
            body=[cst.Return(value=value)],
            leading_lines=[*loop.leading_lines, *after.leading_lines],
        )
        edits.remove(loop)
        edits.replace_with(after, lambda node: new_return)

    @staticmethod
    def _plan_flag_form(
        analysis: _tools.Analysis, init: cst.CSTNode, loop: cst.CSTNode, edits: _edits.Edits
    ) -> None:
        if not (isinstance(init, cst.SimpleStatementLine) and len(init.body) == 1):
            return
        assignment = init.body[0]
        if not (
            isinstance(assignment, cst.Assign)
            and len(assignment.targets) == 1
            and isinstance(assignment.targets[0].target, cst.Name)
        ):
            return
        start = _bool_constant(assignment.value)
        hit = _hit(loop)
        if start is None or hit is None:
            return
        flag = assignment.targets[0].target.value
        condition, body = hit
        set_to = _flag_then_break(body, flag)
        if set_to is None or set_to == start:
            return
        assert isinstance(loop, cst.For)
        if not _loop_safe(analysis, loop, condition, flag):
            return
        for occurrence in analysis.of_name(flag):
            if _tools.in_nested_scope(occurrence, analysis.ancestors(init)[0]):
                return  # a closure could see the flag while the loop runs
        value = _any_call(loop, condition, negate=not set_to)
        new_init = init.with_changes(body=[assignment.with_changes(value=value)])
        edits.replace_with(init, lambda node: new_init)
        edits.remove(loop)
