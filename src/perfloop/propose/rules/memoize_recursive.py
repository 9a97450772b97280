"""memoize-recursive: a recursive function gets a memo that lives for one outer call.

    def ways(amount, coins, index):           def ways(amount, coins, index):
        ...ways(a, c, i + 1)...       →           @functools.cache
                                                  def _ways_memo(amount, coins, index):
                                                      ...ways→_ways_memo...
                                                  return _ways_memo(amount, coins, index)

Overlapping subproblems are computed once per call of `ways` instead of once per
path through the recursion. The cache is made afresh on every outer call, so no
state survives between calls (a module-level cache would make every later
measurement a cache hit and hold memory forever).
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = '''
def fib(n):
    """The n-th Fibonacci number."""
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
'''

EXAMPLE_SILENT = """
def fib(n, memo=None):
    if n < 2:
        return n
    return fib(n - 1) + fib(n - 2)
"""


def _plain_parameters(params: cst.Parameters) -> list[cst.Param] | None:
    """The parameters if all are positional-or-keyword without defaults, else None."""
    if params.posonly_params or params.kwonly_params or params.star_kwarg is not None:
        return None
    if params.star_arg is not cst.MaybeSentinel.DEFAULT:  # *args, or a bare *
        return None
    if any(p.default is not None for p in params.params):
        return None
    return list(params.params)


def _docstring_and_rest(
    body: cst.BaseSuite,
) -> tuple[list[cst.BaseStatement], list[cst.BaseStatement]]:
    statements: list[cst.BaseStatement]
    if isinstance(body, cst.SimpleStatementSuite):
        statements = [cst.SimpleStatementLine(body=body.body)]
    else:
        assert isinstance(body, cst.IndentedBlock)
        statements = list(body.body)
    first = statements[0] if statements else None
    if (
        isinstance(first, cst.SimpleStatementLine)
        and len(first.body) == 1
        and isinstance(first.body[0], cst.Expr)
        and isinstance(first.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    ):
        return [first], statements[1:]
    return [], statements


class _RenameSelfCalls(cst.CSTTransformer):
    def __init__(self, old: str, new: str) -> None:
        super().__init__()
        self._old = old
        self._new = new

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.Call:
        func = updated_node.func
        if isinstance(func, cst.Name) and func.value == self._old:
            return updated_node.with_changes(func=func.with_changes(value=self._new))
        return updated_node


def _self_calls(body: cst.CSTNode, name: str) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class _Find(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Name) and node.func.value == name:
                calls.append(node)

    body.visit(_Find())
    return calls


def _result_discarded(analysis: _tools.Analysis, call: cst.Call) -> bool:
    parent = analysis.ancestors(call)[-1]
    return isinstance(parent, cst.Expr)


class MemoizeRecursive(Rule):
    id = "memoize-recursive"
    rationale = (
        "A per-call memo computes each distinct recursive subproblem once instead of once "
        "per path through the recursion."
    )
    safety = Safety.NEEDS_VERIFICATION
    min_python = (3, 9)  # functools.cache
    imports = (("functools", None),)
    description = (
        "A module-level function (not a method), without decorators, that calls itself by "
        "name and uses the results, twice or more or inside a loop (so subproblems can "
        "repeat), does not store into or call mutating methods (append, update, ...) on its "
        "parameters, returns a value, has only positional-or-keyword parameters "
        "without defaults (no *args, **kwargs, keyword-only or positional-only), and has no "
        "global, nonlocal, yield, await, or lambda using its parameters; its own name and "
        "`functools` are not rebound. The body moves into an inner `@functools.cache` "
        "function created on every outer call. Differs when an argument is unhashable "
        "(TypeError), when the body has side effects (they run once per distinct arguments), "
        "and near the recursion limit (each level goes through the cache wrapper)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        name = func.name.value
        if context.is_method or func.decorators or func.asynchronous is not None:
            return None
        params = _plain_parameters(func.params)
        if not params:
            return None
        param_names = {p.name.value for p in params}
        if not self._body_allowed(func, name, param_names, context):
            return None

        docstring, rest = _docstring_and_rest(func.body)
        if not rest:
            return None
        memo_name = _tools.fresh_name(f"_{name.lstrip('_')}_memo", context.reserved_names(func))
        renamer = _RenameSelfCalls(name, memo_name)
        inner_body = [statement.visit(renamer) for statement in rest]
        blank_lines = [line for line in inner_body[0].leading_lines if line.comment is None]
        inner_body[0] = inner_body[0].with_changes(
            leading_lines=[line for line in inner_body[0].leading_lines if line.comment is not None]
        )
        inner = cst.FunctionDef(
            name=cst.Name(memo_name),
            params=cst.Parameters(params=[p.with_changes(annotation=None) for p in params]),
            body=cst.IndentedBlock(body=inner_body),
            decorators=[
                cst.Decorator(
                    decorator=cst.Attribute(value=cst.Name("functools"), attr=cst.Name("cache"))
                )
            ],
            leading_lines=blank_lines,
        )
        call_inner = cst.SimpleStatementLine(
            body=[
                cst.Return(
                    value=cst.Call(
                        func=cst.Name(memo_name),
                        args=[cst.Arg(cst.Name(p.name.value)) for p in params],
                    )
                )
            ]
        )
        body = func.body
        new_body = (
            body.with_changes(body=[*docstring, inner, call_inner])
            if isinstance(body, cst.IndentedBlock)
            else cst.IndentedBlock(body=[*docstring, inner, call_inner])
        )
        return func.with_changes(body=new_body)

    @staticmethod
    def _body_allowed(
        func: cst.FunctionDef, name: str, param_names: set[str], context: RuleContext
    ) -> bool:
        body = func.body
        calls = _self_calls(body, name)
        if not calls:
            return False
        analysis = _tools.Analysis.of(func)
        if any(_result_discarded(analysis, call) for call in calls):
            return False  # called for its effects, not its value: a memo would skip them
        if len(calls) < 2 and not any(_repeated(analysis, call) for call in calls):
            return False  # one call per level: no subproblem comes twice, a memo only costs
        if _mutates_a_parameter(analysis, param_names):
            return False  # an effect on the caller's objects: a memo would skip it
        if name in _tools.bound_names(body) or name in param_names:
            return False
        if "functools" in _tools.bound_names(func):
            return False
        for statement in context.module_bindings.get("functools", ()):
            if not _is_plain_import_functools(statement):
                return False
        if _tools.contains(body, (cst.Global, cst.Nonlocal, cst.Yield, cst.Await)):
            return False
        if not any(isinstance(n, cst.Return) and n.value is not None for n in _tools.walk(body)):
            return False
        for node in _tools.walk(body):
            if isinstance(node, cst.Lambda) and _tools.names_in(node.body) & param_names:
                return False
        return True


def _repeated(analysis: _tools.Analysis, call: cst.Call) -> bool:
    """True if `call` sits in a loop or comprehension, so one level may make it many times."""
    loops = (cst.For, cst.While, *_tools.COMPREHENSIONS)
    return any(isinstance(a, loops) for a in analysis.ancestors(call))


_MUTATING_METHODS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "add", "discard", "update",
     "setdefault", "popitem", "sort", "reverse", "write"}
)  # fmt: skip


def _mutates_a_parameter(analysis: _tools.Analysis, param_names: set[str]) -> bool:
    """True if the body stores into, deletes from, or calls a mutating method on a parameter."""
    for occurrence in analysis.occurrences:
        if occurrence.node.value not in param_names:
            continue
        parent = occurrence.parent
        if isinstance(parent, (cst.Subscript, cst.Attribute)) and parent.value is occurrence.node:
            if analysis.is_store(parent):
                return True
            grandparent = occurrence.ancestors[-2]
            if (
                isinstance(parent, cst.Attribute)
                and parent.attr.value in _MUTATING_METHODS
                and isinstance(grandparent, cst.Call)
                and grandparent.func is parent
            ):
                return True
    return False


def _is_plain_import_functools(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.Import) and any(
        isinstance(alias.name, cst.Name)
        and alias.name.value == "functools"
        and alias.asname is None
        for alias in statement.names
    )
