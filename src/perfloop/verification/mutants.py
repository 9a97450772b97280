"""Mutants of the original function, for the verifier's self-check.

Each mutant is the original module with one small fault put into the target
function (for a whole class as the target, into one of its methods): a comparison
or operator swapped, a boundary moved (`<` to `<=`, a range's stop by one), a
constant off by one, a statement dropped, the branches of an `if` swapped or its
test negated, a returned value replaced by None, `and`/`or`, `min`/`max`,
`any`/`all`, `break`/`continue` exchanged. A good verification tells each of them
apart from the original; the share it does is the verification strength (see
`strength`).

Annotations are not mutated (no call evaluates them), nor, unless exception messages
are compared, the arguments of the exception a `raise` builds: the equivalence relation
compares the type of a raised exception, not its arguments, so a fault there can only
change what no tier may look at. Mutants whose normalised AST
equals the original's (or an earlier mutant's) are not used: they are certainly
equivalent, and counting them would lower the score for nothing. Equivalence
beyond that is undecidable, so a surviving mutant may still be equivalent; the
score is a lower bound. Mutants that do not compile are dropped too.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from perfloop.qualnames import find_class, find_function, first_line

DEFAULT_MAX_MUTANTS = 30

_COMPARE_SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
}
_BINOP_SWAPS: dict[type, type] = {
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.FloorDiv,
    ast.FloorDiv: ast.Mult,
    ast.Div: ast.Mult,
    ast.Mod: ast.FloorDiv,
    ast.Pow: ast.Mult,
    ast.BitAnd: ast.BitOr,
    ast.BitOr: ast.BitAnd,
    ast.LShift: ast.RShift,
    ast.RShift: ast.LShift,
}
_NAME_SWAPS = {"min": "max", "max": "min", "any": "all", "all": "any"}
_SYMBOLS = {
    ast.Lt: "<",
    ast.LtE: "<=",
    ast.Gt: ">",
    ast.GtE: ">=",
    ast.Eq: "==",
    ast.NotEq: "!=",
    ast.In: "in",
    ast.NotIn: "not in",
    ast.Is: "is",
    ast.IsNot: "is not",
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.FloorDiv: "//",
    ast.Div: "/",
    ast.Mod: "%",
    ast.Pow: "**",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.And: "and",
    ast.Or: "or",
}


@dataclass(frozen=True)
class Mutant:
    kind: str  # "comparison", "operator", "constant", "statement", "branch", ...
    description: str  # "line 12: `<` to `<=`"
    module_source: str


@dataclass(frozen=True)
class MutantSet:
    mutants: tuple[Mutant, ...]
    excluded: int  # equal to the original (or an earlier mutant) once normalised
    possible: int  # how many distinct compiling mutants there were before the cap


# A mutation edits the copied function in place at one node; it returns a description
# of what it did, or None if it does not apply after all.
Mutation = Callable[[ast.AST, dict[int, tuple[ast.AST, str, int | None]]], str | None]


def generate_mutants(
    module_source: str,
    qualname: str,
    limit: int = DEFAULT_MAX_MUTANTS,
    *,
    messages_compared: bool = True,
) -> MutantSet:
    """Up to `limit` distinct, compiling mutants of `qualname`, spread over the kinds.

    When `qualname` names a class (a whole class as the target), each mutant has one fault
    in one of the methods the class body defines (properties and `__init__` included); the
    cap is spread over the methods first, then over the kinds within each, and a mutant's
    description names its method. With `messages_compared` false (the default relation
    ignores an exception's arguments), the arguments of an exception a `raise` builds are
    left alone."""
    try:
        tree = ast.parse(module_source)
    except SyntaxError:
        return MutantSet((), 0, 0)
    function = find_function(tree, qualname)
    if function is not None:
        units = [(function, "")]
    else:
        found = find_class(tree, qualname)
        if found is None:
            return MutantSet((), 0, 0)
        units = [
            (node, f"{node.name}, ")
            for node in found.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
    seen = {ast.dump(tree)}
    excluded = 0
    per_unit: list[tuple[Mutant, ...]] = []
    possible = 0
    for unit, prefix in units:
        by_kind, dropped = _function_mutants(module_source, unit, prefix, seen, messages_compared)
        excluded += dropped
        made = sum(len(v) for v in by_kind.values())
        possible += made
        per_unit.append(_spread(by_kind, made))
    return MutantSet(_round_robin(per_unit, limit), excluded, possible)


def _function_mutants(
    module_source: str,
    function: ast.FunctionDef | ast.AsyncFunctionDef,
    prefix: str,
    seen: set[str],
    messages_compared: bool = True,
) -> tuple[dict[str, list[Mutant]], int]:
    """The distinct compiling mutants of one def, by kind, and how many were excluded as
    equal to the original or to a mutant in `seen` (which grows)."""
    excluded = 0
    by_kind: dict[str, list[Mutant]] = {}
    docstring = _docstring_node(function)
    left_alone = _annotation_nodes(function)
    if not messages_compared:
        left_alone |= _raised_argument_nodes(function)
    for index, node in enumerate(ast.walk(function)):
        if node is docstring or (isinstance(node, ast.Expr) and node.value is docstring):
            continue
        if id(node) in left_alone:
            continue
        for kind, mutation in _mutations(node):
            mutated = _apply(function, index, mutation)
            if mutated is None:
                continue
            new_function, description = mutated
            source = _splice(module_source, function, new_function)
            try:
                new_tree = ast.parse(source)
                compile(new_tree, "<mutant>", "exec")
            except (SyntaxError, ValueError):
                continue
            dumped = ast.dump(new_tree)
            if dumped in seen:
                excluded += 1
                continue
            seen.add(dumped)
            line = getattr(node, "lineno", function.lineno)
            described = f"{prefix}line {line}: {description}"
            by_kind.setdefault(kind, []).append(Mutant(kind, described, source))
    return by_kind, excluded


def _round_robin(queues: list[tuple[Mutant, ...]], limit: int) -> tuple[Mutant, ...]:
    """One from each queue in turn, up to `limit`: a cap keeps every method of a class."""
    chosen: list[Mutant] = []
    lists = [list(queue) for queue in queues]
    while len(chosen) < limit and any(lists):
        for queue in lists:
            if queue and len(chosen) < limit:
                chosen.append(queue.pop(0))
    return tuple(chosen)


def _spread(by_kind: dict[str, list[Mutant]], limit: int) -> tuple[Mutant, ...]:
    """Round-robin over kinds, so a cap keeps every kind of fault."""
    return _round_robin([tuple(v) for _, v in sorted(by_kind.items())], limit)


def _annotation_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    """The ids of the nodes inside annotations (of parameters, of returns, of annotated
    assignments, in nested functions too). A call never evaluates them: a function's own
    annotations are evaluated once at its definition, or never under `from __future__
    import annotations`, and a local variable's never. A mutant there tells nothing about
    the verification: Markdown 3.7's `key: str | int | slice` gave three surviving `|` to
    `&` mutants that made `Registry.__getitem__` weakly verified."""
    roots: list[ast.AST | None] = []
    for node in ast.walk(function):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            arguments = node.args
            every = [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]
            every += [arguments.vararg, arguments.kwarg]
            roots += [argument.annotation for argument in every if argument is not None]
            roots.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            roots.append(node.annotation)
    return {id(inner) for root in roots if root is not None for inner in ast.walk(root)}


def _raised_argument_nodes(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[int]:
    """The ids of the nodes inside the arguments of an exception built by `raise`
    (`raise E(message, ...)`). Without exception messages compared, two exceptions of one
    type are the same outcome, so a fault in their arguments is an equivalent mutant: idna
    3.10's `check_label` builds `"... at position {}".format(pos + 1)` in four raises, and
    its `+` to `-` mutants survived every tier and made it weakly verified."""
    roots: list[ast.expr] = []
    for node in ast.walk(function):
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            roots += node.exc.args
            roots += [keyword.value for keyword in node.exc.keywords]
    return {id(inner) for root in roots for inner in ast.walk(root)}


def _docstring_node(function: ast.AST) -> ast.AST | None:
    body = getattr(function, "body", [])
    first = body[0] if body else None
    if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
        return first.value if isinstance(first.value.value, str) else None
    return None


def _apply(
    function: ast.FunctionDef | ast.AsyncFunctionDef, index: int, mutation: Mutation
) -> tuple[ast.AST, str] | None:
    clone = copy.deepcopy(function)
    nodes = list(ast.walk(clone))
    parents: dict[int, tuple[ast.AST, str, int | None]] = {}
    for parent in nodes:
        for field, value in ast.iter_fields(parent):
            if isinstance(value, list):
                for i, item in enumerate(value):
                    if isinstance(item, ast.AST):
                        parents[id(item)] = (parent, field, i)
            elif isinstance(value, ast.AST):
                parents[id(value)] = (parent, field, None)
    description = mutation(nodes[index], parents)
    if description is None:
        return None
    ast.fix_missing_locations(clone)
    return clone, description


def _replace(
    node: ast.AST, new: ast.AST, parents: dict[int, tuple[ast.AST, str, int | None]]
) -> bool:
    where = parents.get(id(node))
    if where is None:
        return False
    parent, field, position = where
    if position is None:
        setattr(parent, field, new)
    else:
        getattr(parent, field)[position] = new
    ast.copy_location(new, node)
    return True


def _plus(node: ast.expr, amount: int) -> ast.expr:
    op: ast.operator = ast.Add() if amount > 0 else ast.Sub()
    return ast.BinOp(left=node, op=op, right=ast.Constant(abs(amount)))


def _mutations(node: ast.AST) -> Iterator[tuple[str, Mutation]]:
    """The mutations that apply at `node` (each applied alone to a fresh copy)."""
    if isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            if type(op) in _COMPARE_SWAPS:
                yield "comparison", _swap_compare(position)
    elif isinstance(node, (ast.BinOp, ast.AugAssign)) and type(node.op) in _BINOP_SWAPS:
        yield "operator", _swap_binop
    elif isinstance(node, ast.BoolOp):
        yield "boolean", _swap_boolop
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.Not, ast.USub)):
        yield "boolean", _drop_unary
    elif isinstance(node, ast.Constant):
        if isinstance(node.value, bool):
            yield "constant", _flip_bool
        elif isinstance(node.value, (int, float)):
            yield "constant", _shift_constant(1)
            yield "constant", _shift_constant(-1)
        elif isinstance(node.value, str):
            yield "constant", _change_string
    elif isinstance(node, ast.If):
        yield "branch", _swap_or_negate_if
    elif isinstance(node, ast.IfExp):
        yield "branch", _swap_ifexp
    elif isinstance(node, ast.Return) and node.value is not None:
        if not (isinstance(node.value, ast.Constant) and node.value.value is None):
            yield "return", _return_none
    elif isinstance(node, (ast.Break, ast.Continue)):
        yield "statement", _swap_loop_jump
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        if not node.args and not node.keywords:
            yield "call", _drop_method_call
    elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        if node.func.id in _NAME_SWAPS:
            yield "call", _swap_name
        if node.func.id == "range" and node.args:
            yield "boundary", _range_stop(1)
            yield "boundary", _range_stop(-1)
    elif isinstance(node, ast.Slice):
        if node.lower is not None:
            yield "boundary", _slice_bound("lower")
        if node.upper is not None:
            yield "boundary", _slice_bound("upper")
    droppable = not isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Return))
    if isinstance(node, ast.stmt) and droppable:  # a dropped return is "returns None"
        yield "statement", _drop_statement


def _swap_compare(position: int) -> Mutation:
    def mutate(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
        assert isinstance(node, ast.Compare)
        old = node.ops[position]
        new = _COMPARE_SWAPS[type(old)]()
        node.ops[position] = new
        return f"`{_SYMBOLS[type(old)]}` to `{_SYMBOLS[type(new)]}`"

    return mutate


def _swap_binop(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, (ast.BinOp, ast.AugAssign))
    old = node.op
    node.op = _BINOP_SWAPS[type(old)]()
    suffix = "=" if isinstance(node, ast.AugAssign) else ""
    return f"`{_SYMBOLS[type(old)]}{suffix}` to `{_SYMBOLS[type(node.op)]}{suffix}`"


def _swap_boolop(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.BoolOp)
    old = node.op
    node.op = ast.Or() if isinstance(old, ast.And) else ast.And()
    return f"`{_SYMBOLS[type(old)]}` to `{_SYMBOLS[type(node.op)]}`"


def _drop_unary(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.UnaryOp)
    symbol = "not " if isinstance(node.op, ast.Not) else "-"
    return f"`{symbol}` dropped" if _replace(node, node.operand, parents) else None


def _flip_bool(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.Constant)
    old = node.value
    node.value = not old
    return f"`{old}` to `{node.value}`"


def _shift_constant(amount: int) -> Mutation:
    def mutate(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
        assert isinstance(node, ast.Constant)
        old = node.value
        node.value = old + amount
        return f"`{old!r}` to `{node.value!r}`"

    return mutate


def _change_string(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.Constant)
    old = node.value
    node.value = "" if old else "x"
    return f"`{old!r}` to `{node.value!r}`"


def _swap_or_negate_if(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.If)
    if node.orelse:
        node.body, node.orelse = node.orelse, node.body
        return "if/else branches swapped"
    node.test = ast.UnaryOp(op=ast.Not(), operand=node.test)
    return "if condition negated"


def _swap_ifexp(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.IfExp)
    node.body, node.orelse = node.orelse, node.body
    return "conditional expression's branches swapped"


def _return_none(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.Return)
    node.value = ast.Constant(None)
    return "returns None instead"


def _swap_loop_jump(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    new: ast.stmt = ast.Continue() if isinstance(node, ast.Break) else ast.Break()
    old = "break" if isinstance(node, ast.Break) else "continue"
    return (
        f"`{old}` to `{'continue' if old == 'break' else 'break'}`"
        if _replace(node, new, parents)
        else None
    )


def _drop_method_call(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
    name = node.func.attr
    return f"`.{name}()` dropped" if _replace(node, node.func.value, parents) else None


def _swap_name(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    old = node.func.id
    node.func = ast.Name(id=_NAME_SWAPS[old], ctx=ast.Load())
    return f"`{old}` to `{_NAME_SWAPS[old]}`"


def _range_stop(amount: int) -> Mutation:
    def mutate(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
        assert isinstance(node, ast.Call)
        position = 0 if len(node.args) == 1 else 1
        node.args[position] = _plus(node.args[position], amount)
        return f"range stop {'+' if amount > 0 else '-'} 1"

    return mutate


def _slice_bound(which: str) -> Mutation:
    def mutate(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
        assert isinstance(node, ast.Slice)
        setattr(node, which, _plus(getattr(node, which), 1))
        return f"slice {which} bound + 1"

    return mutate


def _drop_statement(node: ast.AST, parents: dict) -> str | None:  # type: ignore[type-arg]
    where = parents.get(id(node))
    if where is None or where[2] is None:
        return None
    parent, field, position = where
    body = getattr(parent, field)
    if len(body) == 1:
        body[position] = ast.Pass()
    else:
        del body[position]
    kind = type(node).__name__.lower()
    return f"{kind} statement dropped"


def _splice(module_source: str, function: ast.AST, new_function: ast.AST) -> str:
    """The module source with the function's lines replaced by the new function's code."""
    lines = module_source.splitlines(keepends=True)
    start = first_line(function) - 1  # type: ignore[arg-type]
    end = function.end_lineno  # type: ignore[attr-defined]
    indent = " " * function.col_offset  # type: ignore[attr-defined]
    text = ast.unparse(new_function)
    body = "".join(indent + line + "\n" if line else "\n" for line in text.splitlines())
    return "".join(lines[:start]) + body + "".join(lines[end:])
