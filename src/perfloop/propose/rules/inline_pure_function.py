"""inline-pure-function: a call of a one-line module function is replaced by the
function's expression.

    def eval_a(i, j):
        return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)

    for j, u_j in enumerate(u):
        total += eval_a(i, j) * u_j
                →
    for j, u_j in enumerate(u):
        total += (1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)) * u_j

A Python call costs more than a few arithmetic operations (a frame, argument
binding); the expression computes the same operations on the same values.

An argument that is not a plain name or number (`ranges[pos - 1]`) is evaluated once, in
its place in the order, by giving it a name first; that is done where the call is the
whole value of an assignment or a return, as in idna 3.10's `intranges_contain`:

    left, right = _decode_range(ranges[pos - 1])
                →
    r = ranges[pos - 1]
    left, right = (r >> 32), (r & ((1 << 32) - 1))
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def part_a_times_u(i, u):
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += eval_a(i, j) * u_j
    return partial_sum


def eval_a(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
"""

EXAMPLE_SILENT = """
def part_a_times_u(i, u):
    partial_sum = 0
    for j, u_j in enumerate(u):
        partial_sum += eval_a(i, j + 1) * u_j
    return partial_sum


def eval_a(i, j):
    return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)
"""


@dataclass(frozen=True)
class OneLiner:
    params: tuple[str, ...]
    expression: cst.BaseExpression
    free_names: frozenset[str]  # names the expression reads besides its parameters


@functools.lru_cache(maxsize=512)  # asked for every function of a module, per target
def one_liner(func: cst.FunctionDef) -> OneLiner | None:
    """The parameters and expression of `def f(a, b): return EXPR` (a docstring allowed),
    plain positional parameters, EXPR without lambdas, comprehensions, :=, yield, await
    or calls that look at frames."""
    params = func.params
    if (
        func.decorators
        or func.asynchronous is not None
        or params.posonly_params
        or params.kwonly_params
        or params.star_arg is not cst.MaybeSentinel.DEFAULT
        or params.star_kwarg is not None
        or any(p.default is not None for p in params.params)
        or not isinstance(func.body, cst.IndentedBlock)
    ):
        return None
    statements = [s for s in func.body.body if not _docstring(s)]
    if len(statements) != 1:
        return None
    returned = _tools.single_small_statement(cst.IndentedBlock(body=statements))  # type: ignore[arg-type]
    if not isinstance(returned, cst.Return) or returned.value is None:
        return None
    expression = returned.value
    excluded = (cst.Lambda, cst.NamedExpr, cst.Yield, cst.Await, *_tools.COMPREHENSIONS)
    if _tools.contains(expression, excluded) or _tools.calls_named(expression, _tools.FRAME_CALLS):
        return None
    names = tuple(p.name.value for p in params.params)
    return OneLiner(names, expression, frozenset(_tools.names_in(expression) - set(names)))


def _docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _plain_argument(node: cst.BaseExpression) -> bool:
    """A name or a non-negative number: reading it twice, or not at all, changes nothing."""
    if isinstance(node, cst.Name):
        return not node.lpar
    return isinstance(node, (cst.Integer, cst.Float)) and not node.lpar


def _statement_of_whole_value(
    analysis: _tools.Analysis, func: cst.FunctionDef, call: cst.Call
) -> cst.SimpleStatementLine | None:
    """The line `call` is the whole value of (`x = G(...)`, `a, b = G(...)`, `return
    G(...)`), alone on its line, in an indented block of `func`'s own scope; else None.
    The values of its arguments can be named in statements put before that line: nothing
    of the line is evaluated before the call (assignment targets are stored after it)."""
    ancestors = analysis.ancestors(call)
    if len(ancestors) < 3:
        return None
    statement, line, block = ancestors[-1], ancestors[-2], ancestors[-3]
    if not (
        isinstance(statement, (cst.Assign, cst.AnnAssign, cst.Return))
        and statement.value is call
        and isinstance(line, cst.SimpleStatementLine)
        and len(line.body) == 1
        and isinstance(block, cst.IndentedBlock)
    ):
        return None
    if any(isinstance(a, _tools.NEW_SCOPES) and a is not func for a in ancestors):
        return None  # a name given in a nested function or class body is bound there
    return line


_STRINGS = (cst.SimpleString, cst.FormattedString, cst.ConcatenatedString)


def _quotes_inside_an_fstring(
    analysis: _tools.Analysis, call: cst.Call, inlined: cst.BaseExpression
) -> bool:
    """Whether putting `inlined` where `call` is would put a string literal inside an
    f-string's braces, which Python before 3.12 cannot parse when the quotes are the same
    (hypothesis 6's `f"{get_pretty_function_description(f)} is used ..."`)."""
    inside = any(isinstance(a, cst.FormattedStringExpression) for a in analysis.ancestors(call))
    return inside and _tools.contains(inlined, _STRINGS)


def _order_kept(
    args: list[cst.BaseExpression], local_names: set[str], func: cst.FunctionDef
) -> bool:
    """Whether evaluating the non-plain arguments first, and reading the plain ones in the
    inlined expression afterwards, reads the same values: a name read before a non-plain
    argument in the call must be a local no other code can rebind meanwhile."""
    last = max(i for i, a in enumerate(args) if not _plain_argument(a))
    if any(_tools.contains(a, (cst.Yield, cst.Await)) for a in args):
        return False
    early_names = [a.value for a in args[:last] if isinstance(a, cst.Name)]
    if not early_names:
        return True
    return not _tools.contains(func, (cst.Nonlocal,)) and all(n in local_names for n in early_names)


class _Substitute(cst.CSTTransformer):
    def __init__(self, values: dict[str, cst.BaseExpression]) -> None:
        super().__init__()
        self._values = values

    def leave_Name(self, original_node: cst.Name, updated_node: cst.Name) -> cst.BaseExpression:
        value = self._values.get(original_node.value)
        if value is None:
            return updated_node
        return value.with_changes(lpar=updated_node.lpar, rpar=updated_node.rpar)

    def leave_Attribute(
        self, original_node: cst.Attribute, updated_node: cst.Attribute
    ) -> cst.Attribute:
        return updated_node.with_changes(attr=original_node.attr)  # `.b` is never a parameter

    def leave_Arg(self, original_node: cst.Arg, updated_node: cst.Arg) -> cst.Arg:
        return updated_node.with_changes(keyword=original_node.keyword)


class InlinePureFunction(Rule):
    id = "inline-pure-function"
    rationale = (
        "A call of a one-line function costs a frame and argument binding; its expression, "
        "inlined, computes the same operations on the same values."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "A call `G(a, b, ...)` where G is a module-level function bound only by its def, "
        "written `def G(p, q, ...): return EXPR` (a docstring allowed; plain positional "
        "parameters; EXPR without lambdas, comprehensions, :=, yield, await or "
        "frame-inspecting calls), its arguments positional and as many as parameters, "
        "becomes `(EXPR)` with the arguments put in for the parameters. An argument that is "
        "not a plain name or number is first assigned to a new local, in a statement put "
        "before the call's line; that is done only where the call is the whole value of an "
        "assignment or a return, and where a name argument read before it is a local "
        "nothing else can rebind. Silent when the caller binds a name EXPR reads as a "
        "global (it would read the caller's local instead), for recursion, and for "
        "methods. The same "
        "operations run on the same values in the same order, so results are the same, "
        "floats included. Differs when G is replaced at run time (monkeypatching), in "
        "tracebacks and recursion depth, and for a name argument that is unbound and unused "
        "by EXPR (NameError no longer raised)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        local_names = _tools.bound_names(func)
        inlinable: dict[str, OneLiner] = {}
        for statement in context.module.body:
            if not isinstance(statement, cst.FunctionDef):
                continue
            name = statement.name.value
            if name == func.name.value or name in local_names:
                continue
            if context.module_bindings.get(name) != (statement,):
                continue
            found = one_liner(statement)
            if found is not None and not found.free_names & local_names:
                inlinable[name] = found
        if not inlinable:
            return None
        analysis = _tools.Analysis.of(func)
        reserved = _tools.all_identifiers(func).union(*(c.free_names for c in inlinable.values()))
        named: dict[str, str] = {}  # a parameter -> the local its argument's value gets
        # a new local would show in what locals(), vars() or dir() give the caller
        sees_locals = _tools.calls_named(func, _tools.FRAME_CALLS - {"super"})
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)):
                continue
            callee = inlinable.get(node.func.value)
            args = _edits.positional_args(node)
            if callee is None or args is None or len(args) != len(callee.params):
                continue
            values: dict[str, cst.BaseExpression] = dict(zip(callee.params, args))
            line = _statement_of_whole_value(analysis, func, node)
            if not all(_plain_argument(a) for a in args):
                if line is None or sees_locals or not _order_kept(args, local_names, func):
                    continue
                for param, arg in zip(callee.params, args):
                    if not _plain_argument(arg):
                        if param not in named:
                            named[param] = _tools.fresh_name(param, reserved)
                        value = arg
                        if isinstance(arg, (cst.GeneratorExp, cst.NamedExpr)):
                            value = _tools.parenthesized(arg)  # `f(x for x in y)` had the call's
                        edits.insert_before(line, _edits.assign(named[param], value))
                        values[param] = cst.Name(named[param])
            body = callee.expression.visit(_Substitute(values))
            assert isinstance(body, cst.BaseExpression)
            if _quotes_inside_an_fstring(analysis, node, body):
                continue
            if line is not None:
                inlined = body  # a whole value: as the callee wrote it, its own parentheses kept
            elif isinstance(body, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
                inlined = body.with_changes(lpar=(), rpar=())
            else:
                inlined = _tools.parenthesized(body.with_changes(lpar=(), rpar=()))
            edits.replace_with(node, lambda n, inlined=inlined: inlined)
        return _edits.apply_edits(func, edits) if edits else None
