"""Planned edits to one function, applied in one pass: statements inserted before a
statement, and nodes replaced.

Rules that move something out of a loop (a set, a bound method, a compiled
pattern, an index) first decide everything on the original tree, keyed by node
identity, then hand the plan to `apply_edits`. Also here: where to put a hoisted
statement, and the questions these rules ask about the code inside a loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import libcst as cst

from perfloop.propose.rules import _tools

LOOPS = (cst.For, cst.While)

Replacement = Callable[
    [cst.CSTNode], cst.CSTNode | cst.RemovalSentinel | cst.FlattenSentinel[cst.BaseStatement]
]
"""Gets the node as already rewritten below it, returns what takes its place."""


@dataclass
class Edits:
    """What to change in a function, keyed by `id()` of nodes of the original tree."""

    before: dict[int, list[cst.BaseStatement]] = field(default_factory=dict)
    replace: dict[int, Replacement] = field(default_factory=dict)

    def insert_before(self, statement: cst.CSTNode, new: cst.BaseStatement) -> None:
        self.before.setdefault(id(statement), []).append(new)

    def replace_with(self, node: cst.CSTNode, replacement: Replacement) -> None:
        self.replace[id(node)] = replacement

    def remove(self, statement: cst.CSTNode) -> None:
        self.replace[id(statement)] = lambda node: cst.RemovalSentinel.REMOVE

    def __bool__(self) -> bool:
        return bool(self.before or self.replace)


def apply_edits(func: cst.FunctionDef, edits: Edits) -> cst.FunctionDef:
    """`func` with `edits` made; inserted statements take over the leading comments."""
    result = func.visit(_Apply(edits))
    assert isinstance(result, cst.FunctionDef)
    return result


class _Apply(cst.CSTTransformer):
    def __init__(self, edits: Edits) -> None:
        super().__init__()
        self._edits = edits

    def on_leave(
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.FlattenSentinel[cst.CSTNode] | cst.RemovalSentinel:
        result = super().on_leave(original_node, updated_node)
        replacement = self._edits.replace.get(id(original_node))
        if replacement is not None and isinstance(result, cst.CSTNode):
            result = replacement(result)
        inserted = self._edits.before.get(id(original_node))
        if not inserted or not isinstance(result, cst.BaseStatement):
            return result
        first = inserted[0].with_changes(leading_lines=result.leading_lines)
        return cst.FlattenSentinel([first, *inserted[1:], result.with_changes(leading_lines=())])


def assign(name: str, value: cst.BaseExpression) -> cst.SimpleStatementLine:
    """The statement `name = value`."""
    return cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(cst.Name(name))], value=value)]
    )


# --- where hoisted statements go -----------------------------------------------


def block_of(analysis: _tools.Analysis, statement: cst.CSTNode) -> Sequence[cst.CSTNode] | None:
    """The statement list `statement` stands in, if it is an indented block."""
    parent = analysis.ancestors(statement)[-1]
    return parent.body if isinstance(parent, cst.IndentedBlock) else None


def anchor(analysis: _tools.Analysis, loop: cst.CSTNode, avoid: Iterable[str] = ()) -> cst.CSTNode:
    """The statement before which to build something for `loop`: the loop, or the first
    of the inert initialisations (`out = []`, `total = 0`) directly before it, so that
    rules pairing such a line with its loop (list-comprehension) still see the pair.
    Lines assigning a name in `avoid` are not skipped."""
    block = block_of(analysis, loop)
    if block is None:
        return loop
    index = next(i for i, s in enumerate(block) if s is loop)
    avoided = set(avoid)
    while index > 0 and inert_initialisation(block[index - 1], avoided):
        index -= 1
    return block[index]


def inert_initialisation(statement: cst.CSTNode, avoid: set[str]) -> bool:
    """`NAME = <literal>` (`out = []`, `total = 0`, `seen = set()`) with NAME not in `avoid`."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return False
    small = statement.body[0]
    if not (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value not in avoid
    ):
        return False
    value = small.value
    if isinstance(value, (cst.List, cst.Tuple, cst.Set, cst.Dict)):
        return not value.elements
    if isinstance(value, cst.Call):
        return (
            isinstance(value.func, cst.Name)
            and value.func.value in {"set", "dict", "list"}
            and not value.args
        )
    return isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)) or (
        isinstance(value, cst.Name) and value.value in {"None", "True", "False"}
    )


def loops_in_scope(func: cst.FunctionDef) -> list[cst.For | cst.While]:
    """Every `for`/`while` statement of the function's own scope, outer loops first."""
    return [
        node
        for node in _tools.walk(func.body)
        if isinstance(node, LOOPS) and not _in_nested_scope(node, func)
    ]


def _in_nested_scope(node: cst.CSTNode, func: cst.FunctionDef) -> bool:
    analysis = _tools.Analysis.of(func)
    return any(isinstance(a, _tools.NEW_SCOPES) and a is not func for a in analysis.ancestors(node))


def enclosing_loops(analysis: _tools.Analysis, node: cst.CSTNode) -> list[cst.CSTNode]:
    """The loops of the function's own scope that run `node` repeatedly, outermost first.

    A `for` loop's iterable is evaluated once per entry into the loop, so it does
    not count as inside that loop (a `while` test does); neither does a loop's `else`.
    """
    chain = (*analysis.ancestors(node), node)
    loops: list[cst.CSTNode] = []
    for position, ancestor in enumerate(chain[:-1]):
        inside = chain[position + 1]
        if isinstance(ancestor, _tools.NEW_SCOPES) and position > 0:
            loops = []  # the loops around a nested function do not run its body
        elif isinstance(ancestor, cst.For):
            if inside is not ancestor.iter and inside is not ancestor.orelse:
                loops.append(ancestor)
        elif isinstance(ancestor, cst.While) and inside is not ancestor.orelse:
            loops.append(ancestor)
    return loops


# --- what the code in a loop does to a name --------------------------------------


def assigned_in(node: cst.CSTNode) -> set[str]:
    """Names bound anywhere in `node` (assignment, loop target, import, def, `:=`, del)."""
    return _tools.bound_names(node)


def attribute_chain(expression: cst.BaseExpression) -> list[str] | None:
    """["out", "append"] for `out.append`, ["self", "a", "b"] for `self.a.b`; else None."""
    if isinstance(expression, cst.Name):
        return [expression.value]
    if isinstance(expression, cst.Attribute) and not expression.lpar:
        inner = attribute_chain(expression.value)
        return None if inner is None else [*inner, expression.attr.value]
    return None


def attributes_stored(region: cst.CSTNode) -> set[tuple[str, ...]]:
    """Every `a.b.c` chain that is assigned or deleted in `region` (`a.b.c = ...`)."""
    analysis = _tools.Analysis.of(region)
    stored: set[tuple[str, ...]] = set()
    for node in _tools.walk(region):
        if isinstance(node, cst.Attribute) and analysis.is_store(node):
            chain = attribute_chain(node)
            if chain is not None:
                stored.add(tuple(chain))
        elif isinstance(node, cst.Del):
            for inner in _tools.walk(node.target):
                if (
                    isinstance(inner, cst.Attribute)
                    and (chain := attribute_chain(inner)) is not None
                ):
                    stored.add(tuple(chain))
    return stored


# Methods that change their object; any other method call is taken as harmless to
# the object's length and items only for the builtin containers' read-only methods.
MUTATING_METHODS = frozenset(
    {"append", "extend", "insert", "pop", "remove", "clear", "add", "discard", "update",
     "setdefault", "popitem", "sort", "reverse", "appendleft", "popleft", "extendleft",
     "rotate", "difference_update", "intersection_update", "symmetric_difference_update",
     "write"}
)  # fmt: skip

READ_ONLY_BUILTINS = frozenset(
    {"len", "sorted", "min", "max", "sum", "any", "all", "enumerate", "zip", "reversed",
     "tuple", "list", "set", "frozenset", "isinstance", "repr", "str", "abs", "round",
     "int", "float", "bool", "hash", "id", "type", "range", "iter", "print"}
)  # fmt: skip


def only_read_in(analysis: _tools.Analysis, name: str, region: cst.CSTNode) -> bool:
    """True if inside `region` `name` is only read: tested, indexed, iterated, given to
    read-only builtins or asked for a non-mutating method; never bound, stored into,
    deleted, given a mutating method call or passed to any other call."""
    if name in assigned_in(region):
        return False
    for occurrence in analysis.of_name(name):
        if not occurrence.inside(region):
            continue
        if in_scope_within(occurrence, region):
            return False  # a closure may run later, when the name changed
        if not read_only_use(analysis, occurrence):
            return False
    return True


def lets_others_reach(analysis: _tools.Analysis, name: str, region: cst.CSTNode) -> bool:
    """True if code in `region` hands the object `name` holds to code that may change its
    attributes: calls one of its methods (`name.inc()`), or uses `name` other than to read
    an attribute (passes, returns, stores or compares it)."""
    for occurrence in analysis.of_name(name):
        if not occurrence.inside(region):
            continue
        attribute = occurrence.parent
        if not isinstance(attribute, cst.Attribute) or attribute.value is not occurrence.node:
            return True
        outer = occurrence.ancestors[-2] if len(occurrence.ancestors) >= 2 else None
        if isinstance(outer, cst.Call) and outer.func is attribute:
            return True
    return False


def in_scope_within(occurrence: _tools.Occurrence, region: cst.CSTNode) -> bool:
    """True if the occurrence is in a function, lambda or class nested inside `region`."""
    ancestors = occurrence.ancestors
    start = next((i for i, a in enumerate(ancestors) if a is region), None)
    if start is None:
        return False
    return any(isinstance(a, _tools.NEW_SCOPES) for a in ancestors[start + 1 :])


def read_only_use(analysis: _tools.Analysis, occurrence: _tools.Occurrence) -> bool:
    node, parent = occurrence.node, occurrence.parent
    grandparent = occurrence.ancestors[-2] if len(occurrence.ancestors) >= 2 else None
    if isinstance(parent, cst.ComparisonTarget) and parent.comparator is node:
        return True
    if isinstance(parent, cst.Comparison) and parent.left is node:
        return True
    if isinstance(parent, cst.Subscript) and parent.value is node:
        return not analysis.is_store(parent) and not isinstance(grandparent, cst.Del)
    if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
        return True
    if isinstance(parent, cst.Attribute) and parent.value is node:
        if analysis.is_store(parent):
            return False
        called = isinstance(grandparent, cst.Call) and grandparent.func is parent
        return not called or parent.attr.value not in MUTATING_METHODS
    if isinstance(parent, cst.Arg) and parent.keyword is None and not parent.star:
        call = grandparent
        return (
            isinstance(call, cst.Call)
            and isinstance(call.func, cst.Name)
            and call.func.value in READ_ONLY_BUILTINS
        )
    if isinstance(parent, (cst.If, cst.While)) and parent.test is node:
        return True
    if isinstance(parent, (cst.BooleanOperation, cst.UnaryOperation, cst.BinaryOperation)):
        return True
    return isinstance(parent, cst.IfExp) and node is not parent.body and node is not parent.orelse


# --- names ---------------------------------------------------------------------


def params_of(func: cst.FunctionDef) -> list[cst.Param]:
    """Every parameter of `func`, `*args` and `**kwargs` included."""
    params = func.params
    star = [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]
    return [*params.posonly_params, *params.params, *params.kwonly_params, *star]


def is_call_to(node: cst.CSTNode, name: str) -> bool:
    """True if `node` is a call of the plain name `name`."""
    return (
        isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value == name
    )


def positional_args(call: cst.Call) -> list[cst.BaseExpression] | None:
    """The arguments' values if every argument is plain positional (no keyword, no star)."""
    if any(arg.keyword is not None or arg.star for arg in call.args):
        return None
    return [arg.value for arg in call.args]


def module_alias(bindings: Mapping[str, tuple[cst.CSTNode, ...]], module: str) -> str | None:
    """The name `module` is imported under at module level (`import numpy as np`: "np"),
    if that name is bound only by such imports; None otherwise."""
    for name in bindings:
        if imported_as(bindings, module, name):
            return name
    return None


def imported_as(bindings: Mapping[str, tuple[cst.CSTNode, ...]], module: str, name: str) -> bool:
    """True if the module-level name `name` is bound only by `import module [as name]`."""
    statements = bindings.get(name, ())
    return bool(statements) and all(_imports_module_as(s, module, name) for s in statements)


def _imports_module_as(statement: cst.CSTNode, module: str, name: str) -> bool:
    if not isinstance(statement, cst.Import):
        return False
    for alias in statement.names:
        asname = alias.asname
        bound = (
            asname.name.value
            if isinstance(asname, cst.AsName) and isinstance(asname.name, cst.Name)
            else None
        )
        dotted = _dotted(alias.name)
        if bound == name and dotted == module:
            return True
        if bound is None and dotted == module == name:
            return True
    return False


def imported_from(bindings: Mapping[str, tuple[cst.CSTNode, ...]], module: str, name: str) -> bool:
    """True if the module-level name `name` is bound only by `from module import name`."""
    statements = bindings.get(name, ())
    return bool(statements) and all(_imports_name_from(s, module, name) for s in statements)


def _imports_name_from(statement: cst.CSTNode, module: str, name: str) -> bool:
    if not (
        isinstance(statement, cst.ImportFrom)
        and not statement.relative
        and statement.module is not None
        and _dotted(statement.module) == module
        and not isinstance(statement.names, cst.ImportStar)
    ):
        return False
    return any(_dotted(alias.name) == name and alias.asname is None for alias in statement.names)


def _dotted(node: cst.BaseExpression) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return f"{_dotted(node.value)}.{node.attr.value}"
    return ""


_OPERATOR_WORDS = {
    cst.Add: "plus", cst.Subtract: "minus", cst.Multiply: "times", cst.Divide: "over",
    cst.FloorDivide: "div", cst.Modulo: "mod", cst.Power: "pow",
}  # fmt: skip


def readable_name(expression: cst.CSTNode, fallback: str, limit: int = 28) -> str:
    """A variable name made of the names, numbers and operators in `expression`
    (`len(xs)`: `len_xs`, `n - 1`: `n_minus_1`), or `fallback` if that is too long."""
    parts: list[str] = []
    for node in _tools.walk(expression):
        if isinstance(node, cst.Name):
            parts.append(node.value)
        elif isinstance(node, cst.Integer):
            parts.append(node.value.replace("_", ""))
        elif isinstance(node, tuple(_OPERATOR_WORDS)):
            parts.append(_OPERATOR_WORDS[type(node)])
    name = "_".join(p.strip("_") for p in parts if p.strip("_"))
    if not name or not name.isidentifier() or len(name) > limit:
        name = fallback
    return name


def bound_before(
    analysis: _tools.Analysis, func: cst.FunctionDef, name: str, loop: cst.CSTNode
) -> bool:
    """True if `name` has its value before `loop` starts and keeps it through the loop's
    statement: a parameter or a local every binding of which comes before the loop (none
    in a nested scope, no global/nonlocal), or a name the function does not bind at all."""
    start = analysis.position(loop)
    for occurrence in analysis.bindings_of(name):
        if isinstance(occurrence.parent, cst.Param):
            continue
        if _tools.in_nested_scope(occurrence, func):
            return False
        if _tools.in_shared_declaration(occurrence):
            return False
        if analysis.position(occurrence.node) > start:
            return False
    return True


def unconditional_in(analysis: _tools.Analysis, node: cst.CSTNode, loop: cst.CSTNode) -> bool:
    """True if `node` runs on every pass through `loop`'s body that gets that far: it is
    not inside an if/else, a conditional expression, the right side of and/or, an inner
    loop, a try or a with, nor in a comprehension or lambda."""
    chain = (*analysis.ancestors(node), node)
    start = next(i for i, a in enumerate(chain) if a is loop)
    for position in range(start + 1, len(chain) - 1):
        ancestor, inside = chain[position], chain[position + 1]
        conditional = (cst.If, cst.Try, cst.TryStar, cst.With, cst.Match, *LOOPS, cst.Lambda)
        if isinstance(ancestor, (*conditional, *_tools.COMPREHENSIONS)):
            return False
        if isinstance(ancestor, cst.IfExp) and inside is not ancestor.test:
            return False
        if isinstance(ancestor, cst.BooleanOperation) and inside is ancestor.right:
            return False
    return True


def range_len_of(loop: cst.For) -> tuple[str, str] | None:
    """(index name, sequence name) if `loop` is `for I in range(len(X)):`."""
    if not isinstance(loop.target, cst.Name):
        return None
    call = loop.iter
    if not (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Name)
        and call.func.value == "range"
        and len(call.args) == 1
        and call.args[0].keyword is None
        and not call.args[0].star
    ):
        return None
    inner = call.args[0].value
    if not (
        isinstance(inner, cst.Call)
        and isinstance(inner.func, cst.Name)
        and inner.func.value == "len"
        and len(inner.args) == 1
        and inner.args[0].keyword is None
        and not inner.args[0].star
        and isinstance(inner.args[0].value, cst.Name)
    ):
        return None
    return loop.target.value, inner.args[0].value.value
