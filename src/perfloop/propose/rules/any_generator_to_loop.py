"""any-generator-to-loop: `any()`/`all()` over a generator expression becomes a `for` loop.

    return any(token.match(*p) for p in patterns)      for p in patterns:
                                                 →         if token.match(*p):
                                                               return True
                                                       return False

    if any(word in text for word in markers):          for word in markers:
        hits += 1                                →         if word in text:
                                                               hits += 1
                                                               break

`any()` over a generator expression creates a generator and resumes it once per
item; for the short iterables hot code usually tests (a handful of patterns,
token types, markers) that costs 2-3x the loop, on every CPython version (3.12's
inlined comprehensions do not cover generator expressions). Taught by ruff's
SIM110 (astral-sh/ruff PR #12746: the rule's documentation stopped promising that
`any()` is faster after a benchmark showed it about 3x slower than the loop it
replaces) and python-jsonschema PR #1120 (its `type` validator, run on every node,
written as a loop for this reason). The opposite rewrite, `any-all-loop`, wins on
long scans with `map`; measurement decides for the inputs at hand.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def imt(token, patterns):
    if token is None:
        return False
    return any(token.match(*pattern) for pattern in patterns)
"""

EXAMPLE_SILENT = """
def imt(token, patterns):
    matched = [pattern for pattern in patterns if token.match(*pattern)]
    return any(matched)
"""

_LOOPS_AND_SCOPES = (cst.For, cst.While, *_tools.NEW_SCOPES)


class _Search:
    """A recognised `any(...)`/`all(...)` test: what a hit is and which way it decides."""

    def __init__(self, generator: cst.GeneratorExp, hit_when_true: bool, found: bool) -> None:
        self.generator = generator
        self.hit_when_true = hit_when_true
        """True for any() (an item whose element is true is a hit), False for all()."""
        self.found = found
        """What the whole test is when a hit is found: any() -> True, not any() -> False,
        all() -> False, not all() -> True."""

    @property
    def single_loop(self) -> bool:
        return self.generator.for_in.inner_for_in is None


def _search(test: cst.BaseExpression) -> _Search | None:
    """The search in `test` if it is exactly [not] any(GENEXP) / [not] all(GENEXP)."""
    negated = False
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        negated, test = True, test.expression
    if not (isinstance(test, cst.Call) and isinstance(test.func, cst.Name)):
        return None
    if test.func.value not in {"any", "all"} or len(test.args) != 1:
        return None
    argument = test.args[0]
    if argument.keyword is not None or argument.star:
        return None
    generator = argument.value
    if not isinstance(generator, cst.GeneratorExp):
        return None
    is_any = test.func.value == "any"
    return _Search(generator, hit_when_true=is_any, found=is_any != negated)


def _safe(analysis: _tools.Analysis, search: _Search, context_names: set[str]) -> bool:
    """The generator's own checks: nothing in it that a loop in the function would change."""
    generator = search.generator
    comp_for: cst.CompFor | None = generator.for_in
    targets: set[str] = set()
    while comp_for is not None:
        if comp_for.asynchronous is not None:
            return False
        names = _tools.target_names(comp_for.target)
        if names is None:  # stores into attributes or items
            return False
        targets |= names
        comp_for = comp_for.inner_for_in
    # a lambda or an inner generator would capture the loop's variable instead of the
    # generator's: refused, though both cells hold the same values while the search runs
    inside = (cst.Await, cst.Yield, cst.NamedExpr, cst.Lambda, cst.GeneratorExp)
    if any(_tools.contains(part, inside) for part in _parts(generator)):
        return False
    inner = _tools.names_in(generator)
    if _tools.calls_named(generator, _tools.FRAME_CALLS) or "__class__" in inner:
        return False
    if targets & context_names:
        return False  # declared global/nonlocal in the function
    return not _tools.used_outside(analysis, targets, generator)


def _parts(generator: cst.GeneratorExp) -> Iterator[cst.CSTNode]:
    """The element, targets, iterables and conditions (not the generator node itself)."""
    yield generator.elt
    comp_for: cst.CompFor | None = generator.for_in
    while comp_for is not None:
        yield comp_for.target
        yield comp_for.iter
        yield from (condition.test for condition in comp_for.ifs)
        comp_for = comp_for.inner_for_in


def _condition(search: _Search) -> cst.BaseExpression:
    """The test that makes an item a hit: the element for any(), `not` the element for all()."""
    element = search.generator.elt
    if search.hit_when_true:
        return element
    negated = isinstance(element, cst.UnaryOperation) and isinstance(element.operator, cst.Not)
    if negated and not element.lpar:
        return element.expression  # type: ignore[attr-defined]
    if isinstance(element, (cst.BooleanOperation, cst.IfExp)) and not element.lpar:
        element = _tools.parenthesized(element)
    return cst.UnaryOperation(operator=cst.Not(), expression=element)


def _block(statements: Sequence[cst.BaseStatement]) -> cst.IndentedBlock:
    return cst.IndentedBlock(body=list(statements))


def _loops(search: _Search, on_hit: Sequence[cst.BaseStatement]) -> cst.For:
    """`for T in I: [if C:] ... if HIT: <on_hit>`, one loop per `for` of the generator."""

    def nest(comp_for: cst.CompFor) -> cst.For:
        if comp_for.inner_for_in is not None:
            body: list[cst.BaseStatement] = [nest(comp_for.inner_for_in)]
        else:
            body = [cst.If(test=_bare(_condition(search)), body=_block(on_hit))]
        for condition in reversed(comp_for.ifs):
            body = [cst.If(test=_bare(condition.test), body=_block(body))]
        return cst.For(target=_bare(comp_for.target), iter=_bare(comp_for.iter), body=_block(body))

    return nest(search.generator.for_in)


def _bare(expression: cst.BaseExpression) -> cst.BaseExpression:
    """`expression` as a statement header needs it: without parentheses it does not need
    (tuples keep theirs), with parentheses if it spans lines (the call's held it)."""
    if expression.lpar and not isinstance(expression, (cst.Tuple, cst.GeneratorExp, cst.Yield)):
        expression = expression.with_changes(lpar=[], rpar=[])
    if not expression.lpar and "\n" in _CODE.code_for_node(expression):
        expression = _tools.parenthesized(expression)
    return expression


_CODE = cst.Module(body=[])


def _constant(value: bool) -> cst.Name:
    return cst.Name("True" if value else "False")


def _line(statement: cst.BaseSmallStatement) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[statement])


def _ends_the_function(statements: Sequence[cst.BaseStatement]) -> bool:
    """True if the block always ends in a `return` or `raise` (an `if` whose every
    branch does counts)."""
    if not statements:
        return False
    last = statements[-1]
    if isinstance(last, cst.SimpleStatementLine):
        return isinstance(last.body[-1], (cst.Return, cst.Raise))
    if isinstance(last, cst.If) and last.orelse is not None:
        return _ends_the_function(_statements(last.body)) and _ends_the_function(_otherwise(last))
    return False


def _leaves_a_loop(statements: Sequence[cst.BaseStatement]) -> bool:
    """True if a `break`/`continue` in the block belongs to a loop around it."""

    def visit(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        yield node
        if isinstance(node, _LOOPS_AND_SCOPES):
            return
        for child in node.children:
            yield from visit(child)

    return any(
        isinstance(node, (cst.Break, cst.Continue))
        for statement in statements
        for node in visit(statement)
    )


def _statements(suite: cst.BaseSuite) -> list[cst.BaseStatement]:
    if isinstance(suite, cst.IndentedBlock):
        return list(suite.body)
    return [cst.SimpleStatementLine(body=list(suite.body))]


def _otherwise(statement: cst.If) -> list[cst.BaseStatement]:
    """The statements that run when the `if` test is false (an `elif` becomes an `if`)."""
    orelse = statement.orelse
    if orelse is None:
        return []
    if isinstance(orelse, cst.If):
        return [orelse]
    return _statements(orelse.body)


def _scope_statements(func: cst.FunctionDef) -> Iterator[cst.CSTNode]:
    """Every statement of the function's own scope (not of nested functions or classes;
    an `elif` is part of its `if`, not a statement of its own)."""

    def visit(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
        for child in node.children:
            if isinstance(child, (cst.FunctionDef, cst.ClassDef)):
                continue
            is_elif = isinstance(node, cst.If) and child is node.orelse
            is_statement = isinstance(child, (cst.BaseCompoundStatement, cst.SimpleStatementLine))
            if is_statement and not is_elif:
                yield child
            yield from visit(child)

    yield from visit(func.body)


class AnyGeneratorToLoop(Rule):
    id = "any-generator-to-loop"
    rationale = (
        "any()/all() over a generator expression creates a generator and resumes it per "
        "item; a plain loop that stops at the first hit does the same work without it."
    )
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "`return [not] any(E for T in I [if C] ...)` becomes a loop that returns at the "
        "first hit and `return` the other constant after it (all() tests `not E`); "
        "`if [not] any/all(...):` becomes a loop that runs the branch taken on a hit at the "
        "first hit (then `break`, or nothing when the branch ends in return/raise) and the "
        "other branch in the loop's `else` (after the loop when the hit branch returns); "
        "`NAME = [not] any/all(...)` becomes a loop that sets NAME and breaks at the first "
        "hit, and sets it in the loop's `else`. Several `for` clauses only where the hit "
        "branch returns or raises. Silent when the generator's names are used elsewhere in "
        "the function or declared global/nonlocal, a `break`/`continue` in the hit branch "
        "belongs to an outer loop, the generator uses async/await/:=/lambda/nested "
        "comprehensions or frame-inspecting calls, or any/all are rebound. The same "
        "expressions run on the same items in the same order and stop at the same item; "
        "bool() of the element decides in both. Differs only where the element raises "
        "StopIteration (a generator turns it into RuntimeError, the loop lets it through) "
        "and in code that inspects frames."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "any") or context.rebinds(func, "all"):
            return None
        analysis = _tools.Analysis.of(func)
        declared = _tools.declared_shared(func)
        edits = _edits.Edits()
        for statement in _scope_statements(func):
            if isinstance(statement, cst.If):
                self._plan_if(analysis, declared, statement, edits)
            elif isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
                self._plan_line(analysis, declared, statement, edits)
        return _edits.apply_edits(func, edits) if edits else None

    @staticmethod
    def _plan_line(
        analysis: _tools.Analysis,
        declared: set[str],
        line: cst.SimpleStatementLine,
        edits: _edits.Edits,
    ) -> None:
        small = line.body[0]
        if isinstance(small, cst.Return) and small.value is not None:
            search = _search(small.value)
        elif (
            isinstance(small, cst.Assign)
            and len(small.targets) == 1
            and isinstance(small.targets[0].target, cst.Name)
            and small.targets[0].target.value not in declared
        ):
            search = _search(small.value)
            if search is not None and not search.single_loop:
                return
        else:
            return
        if search is not None and _safe(analysis, search, declared):
            edits.replace_with(line, _rewritten_line)

    @staticmethod
    def _plan_if(
        analysis: _tools.Analysis, declared: set[str], statement: cst.If, edits: _edits.Edits
    ) -> None:
        search = _search(statement.test)
        if search is None or not _safe(analysis, search, declared):
            return
        taken, not_taken = _statements(statement.body), _otherwise(statement)
        on_hit = taken if search.found else not_taken
        if _leaves_a_loop(on_hit):
            return
        if _ends_the_function(on_hit) or search.single_loop:
            edits.replace_with(statement, _rewritten_if)


# The rewrites proper run on the statement as already rewritten inside (a branch may hold
# another search); the checks above ran on the original, whose generator is the same.


def _rewritten_line(node: cst.CSTNode) -> cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement]:
    assert isinstance(node, cst.SimpleStatementLine)
    small = node.body[0]
    if isinstance(small, cst.Return):
        assert small.value is not None
        search = _search(small.value)
        assert search is not None
        loop = _loops(search, [_line(cst.Return(value=_constant(search.found)))])
        after = node.with_changes(
            body=[small.with_changes(value=_constant(not search.found))], leading_lines=()
        )
        return cst.FlattenSentinel([loop.with_changes(leading_lines=node.leading_lines), after])
    assert isinstance(small, cst.Assign)
    search = _search(small.value)
    assert search is not None
    hit = _line(cst.Assign(targets=small.targets, value=_constant(search.found)))
    miss = node.with_changes(
        body=[small.with_changes(value=_constant(not search.found))], leading_lines=()
    )
    loop = _loops(search, [hit, _line(cst.Break())])
    return loop.with_changes(orelse=cst.Else(body=_block([miss])), leading_lines=node.leading_lines)


def _rewritten_if(node: cst.CSTNode) -> cst.CSTNode | cst.FlattenSentinel[cst.BaseStatement]:
    assert isinstance(node, cst.If)
    search = _search(node.test)
    assert search is not None
    taken, not_taken = _statements(node.body), _otherwise(node)
    on_hit, on_miss = (taken, not_taken) if search.found else (not_taken, taken)
    if _leaves_a_loop(on_hit):
        return node
    if _ends_the_function(on_hit):
        loop = _loops(search, on_hit).with_changes(leading_lines=node.leading_lines)
        return cst.FlattenSentinel([loop, *on_miss])
    if not search.single_loop:
        return node
    loop = _loops(search, [*on_hit, _line(cst.Break())])
    if on_miss:
        loop = loop.with_changes(orelse=cst.Else(body=_block(on_miss)))
    return loop.with_changes(leading_lines=node.leading_lines)
