"""dispatch-dict: a long `if`/`elif` chain testing one value against literals, each branch
giving a literal, becomes one lookup in a dict built once at module level.

    if kind == "a":                         _KIND_NAME_TABLE = {"a": "alpha", "b": "beta", ...}
        return "alpha"                  →
    elif kind == "b":                       def kind_name(kind):
        return "beta"                           return _KIND_NAME_TABLE.get(kind, "other")
    ...
    else:
        return "other"

The chain compares the value with each literal in turn until one matches; the dict
hashes it once. Branches may return a literal or assign one to the same name; a
test may be `x == L` or `x in (L1, L2)`. The table holds only immutable literals, so
it keeps no state between calls.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import FunctionRewrite, Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def weekday_number(day):
    if day == "mon":
        return 0
    elif day == "tue":
        return 1
    elif day == "wed":
        return 2
    elif day == "thu":
        return 3
    elif day in ("fri", "friday"):
        return 4
    else:
        return -1
"""

EXAMPLE_SILENT = """
def weekday_number(day):
    if day == "mon":
        return 0
    elif day == "tue":
        return 1
    elif day == "wed":
        return 2
    elif day == "thu":
        return 3
    else:
        return -1
"""

MIN_KEYS = 5
"""Fewer literals than this and the chain is as fast: on CPython 3.11 a `str ==` that
fails costs a few nanoseconds, and `.get` on a global dict about as much as four of
them (benchmarks/rules_micro.py; measured 1.07× slower at 4 keys, 1.18× faster at 5)."""

_IMMUTABLE = (int, float, complex, str, bytes, bool, type(None))


@dataclass(frozen=True)
class _Branch:
    keys: tuple[cst.BaseExpression, ...]
    value: cst.BaseExpression
    target: str | None
    """The name assigned in the branch; None for `return value`."""


@dataclass(frozen=True)
class _Chain:
    subject: cst.BaseExpression
    branches: tuple[_Branch, ...]
    rest: cst.If | cst.Else | None
    """What runs when no literal matched: the next `elif` or the `else`, kept as written."""


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def _literal_value(node: cst.BaseExpression) -> tuple[bool, object]:
    """(True, value) if `node` is a literal (no names, calls or f-strings), else (False, None)."""
    try:
        return True, ast.literal_eval(_code(node).strip())
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None


def _key(node: cst.BaseExpression) -> object | None:
    """The value of an int, str or bytes literal (`3`, `-1`, `"a"`); else None.

    These hash consistently with `==` among themselves and against every builtin
    number and string type, and no two of different types are equal.
    """
    ok, value = _literal_value(node)
    if ok and type(value) in (int, str, bytes):
        return value
    return None


def _immutable(value: object) -> bool:
    if isinstance(value, tuple):
        return all(_immutable(item) for item in value)
    return type(value) in _IMMUTABLE


def _tested_keys(test: cst.BaseExpression, subject: str | None) -> tuple[str, list] | None:
    """(subject code, key nodes) if `test` is `S == L` or `S in (L1, ...)` with literal Ls."""
    if not (isinstance(test, cst.Comparison) and len(test.comparisons) == 1) or test.lpar:
        return None
    left, comparison = test.left, test.comparisons[0]
    if _edits.attribute_chain(left) is None:
        return None
    code = _code(left)
    if subject is not None and code != subject:
        return None
    if isinstance(comparison.operator, cst.Equal):
        keys = [comparison.comparator]
    elif isinstance(comparison.operator, cst.In) and isinstance(
        comparison.comparator, (cst.Tuple, cst.List, cst.Set)
    ):
        keys = [element.value for element in comparison.comparator.elements]
        if not keys or any(isinstance(e, cst.StarredElement) for e in keys):
            return None
    else:
        return None
    if any(_key(key) is None for key in keys):
        return None
    return code, keys


def _branch_body(body: cst.BaseSuite) -> tuple[cst.BaseExpression, str | None] | None:
    """(literal, None) for `return LITERAL`, (literal, NAME) for `NAME = LITERAL`."""
    statement = _tools.single_small_statement(body)
    if isinstance(statement, cst.Return) and statement.value is not None:
        value, target = statement.value, None
    elif (
        isinstance(statement, cst.Assign)
        and len(statement.targets) == 1
        and isinstance(statement.targets[0].target, cst.Name)
    ):
        value, target = statement.value, statement.targets[0].target.value
    else:
        return None
    ok, literal = _literal_value(value)
    return (value, target) if ok and _immutable(literal) else None


def _chain(node: cst.If) -> _Chain | None:
    """The longest run of matching branches from `node` on, if it tests enough literals."""
    subject_code: str | None = None
    subject: cst.BaseExpression | None = None
    branches: list[_Branch] = []
    seen: set[tuple[type, object]] = set()
    current: cst.If | cst.Else | None = node
    while isinstance(current, cst.If):
        tested = _tested_keys(current.test, subject_code)
        body = _branch_body(current.body)
        if tested is None or body is None:
            break
        if branches and body[1] != branches[0].target:
            break
        values = {(type(v), v) for v in (_key(k) for k in tested[1])}
        if len(values) != len(tested[1]) or values & seen:
            # a repeated literal: the first branch wins in the chain, the last in a dict
            return None
        seen |= values
        subject_code = tested[0]
        if subject is None:
            assert isinstance(current.test, cst.Comparison)
            subject = current.test.left
        branches.append(_Branch(tuple(tested[1]), body[0], body[1]))
        current = current.orelse
    if subject is None or len(seen) < MIN_KEYS:
        return None
    return _Chain(subject, tuple(branches), current)


def _table_statement(name: str, chain: _Chain) -> cst.SimpleStatementLine:
    lines = [
        f"    {_code(key).strip()}: {_code(branch.value).strip()},\n"
        for branch in chain.branches
        for key in branch.keys
    ]
    statement = cst.parse_statement(f"{name} = {{\n{''.join(lines)}}}\n")
    assert isinstance(statement, cst.SimpleStatementLine)
    return statement


def _small(statement: cst.BaseSmallStatement) -> cst.SimpleStatementLine:
    return cst.SimpleStatementLine(body=[statement])


def _set(target: str | None, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    if target is None:
        return _small(cst.Return(value=value))
    return _edits.assign(target, value)


def _default(rest: cst.If | cst.Else | None, target: str | None) -> cst.BaseExpression | None:
    """D if the chain ends in `else: return D` / `else: NAME = D` (D a literal), else None."""
    if not isinstance(rest, cst.Else):
        return None
    body = _branch_body(rest.body)
    if body is None or body[1] != target:
        return None
    return body[0]


def _rest_of(updated: cst.If, chain: _Chain) -> cst.If | cst.Else | None:
    """The chain's `rest` as rewritten below it (a nested chain in an `else` may have been)."""
    current: cst.If | cst.Else | None = updated
    for _ in chain.branches:
        assert isinstance(current, cst.If)
        current = current.orelse
    return current


def _replacement(chain: _Chain, table: str, updated: cst.If) -> cst.BaseStatement:
    """`return T.get(S, D)`, `N = T.get(S, D)` / `S = T.get(S, S)`, or `if S in T: ... T[S]`."""
    target = chain.branches[0].target
    rest = _rest_of(updated, chain)
    subject = chain.subject.with_changes(lpar=(), rpar=())
    default = _default(chain.rest, target)
    if default is None and chain.rest is None and target == _code(subject):
        default = subject  # `S = T.get(S, S)`: S keeps its value when nothing matches
    if default is not None:
        get = cst.Call(
            func=cst.Attribute(value=cst.Name(table), attr=cst.Name("get")),
            args=[cst.Arg(subject), cst.Arg(default.with_changes(lpar=(), rpar=()))],
        )
        return _set(target, get)
    lookup = cst.Subscript(value=cst.Name(table), slice=[cst.SubscriptElement(cst.Index(subject))])
    test = cst.Comparison(
        left=subject, comparisons=[cst.ComparisonTarget(cst.In(), cst.Name(table))]
    )
    return cst.If(test=test, body=cst.IndentedBlock(body=[_set(target, lookup)]), orelse=rest)


class DispatchDict(Rule):
    id = "dispatch-dict"
    rationale = (
        "A long `if x == 'a' ... elif x == 'b'` chain of literals compares x once per branch; "
        "a dict built once at import finds the answer with one hash lookup."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        f"An `if`/`elif` run of at least {MIN_KEYS} distinct int, str or bytes literals, each "
        "test `S == L` or `S in (L1, L2)` with the same S (a name or `a.b` attribute), each "
        "branch only `return V` or `NAME = V` (the same NAME throughout) with V an immutable "
        "literal, becomes a module-level dict placed above the function and "
        "`return T.get(S, D)` / `NAME = T.get(S, D)` when the chain ends in `else` giving the "
        "literal D (`S = T.get(S, S)` when S itself is assigned and there is no else), else "
        "`if S in T: return T[S]` with the remaining `elif`/`else` kept. Differs for subjects "
        "a hash lookup treats otherwise than `==`: unhashable values (a list raises "
        "TypeError where the chain said no match), objects whose __hash__ disagrees with their "
        "__eq__ (a case-insensitive str subclass that keeps str's hash equals 'add' in the "
        "chain but misses it in the dict), and __eq__ with side effects. Builtin numbers "
        "(True, 1.0, Decimal, Fraction) and str/int Enum mixins hash like the literal they "
        "equal and behave the same. An attribute subject is read once "
        "or twice instead of once per test (a property runs fewer times)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> FunctionRewrite | None:
        context = context or RuleContext.standalone(func)
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        qualname = "_".join([*context.enclosing_classes, func.name.value]).strip("_")
        base = f"_{qualname.upper()}_TABLE"  # unique per function: merged patches cannot clash
        edits = _edits.Edits()
        tables: list[cst.SimpleStatementLine] = []
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.If) or isinstance(analysis.ancestors(node)[-1], cst.If):
                continue  # an `elif` is looked at as part of its chain
            chain = _chain(node)
            if chain is None:
                continue
            name = _tools.fresh_name(base, reserved)
            tables.append(_table_statement(name, chain))
            edits.replace_with(
                node,
                lambda n, chain=chain, name=name: _replacement(chain, name, n).with_changes(
                    leading_lines=n.leading_lines
                ),
            )
        if not edits:
            return None
        return FunctionRewrite(_edits.apply_edits(func, edits), tuple(tables))
