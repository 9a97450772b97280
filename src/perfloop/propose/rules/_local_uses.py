"""How a local variable is used, for rules that change the type of a local container
(a list used only as a set or as a queue).

A `LocalUses` holds the one statement that binds the name and every other
occurrence, each classified by what it does with the container.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _tools


@dataclass(frozen=True)
class Use:
    """One occurrence of the container's name and what it does there."""

    kind: str
    """`in` (tested with in / not in), `truth` (an if/while/conditional-expression test,
    `not NAME`, `bool(NAME)`), `len`
    (`len(NAME)`), `method` (`NAME.m(...)` as an expression, see `method`),
    `index` (`NAME[i]` read), or `other`."""
    node: cst.Name
    call: cst.Call | None = None
    """The method call or the len() call."""
    statement_call: bool = False
    """A method call whose result is thrown away (`NAME.append(x)` as a statement)."""

    @property
    def method(self) -> str | None:
        if self.call is None or not isinstance(self.call.func, cst.Attribute):
            return None
        return self.call.func.attr.value


@dataclass(frozen=True)
class LocalUses:
    name: str
    assignment: cst.Assign
    uses: tuple[Use, ...]


def local_containers(func: cst.FunctionDef) -> list[LocalUses]:
    """Every local bound exactly once, by a plain `NAME = VALUE` in the function's own scope,
    not a parameter, not global/nonlocal, never used in a nested scope."""
    analysis = _tools.Analysis.of(func)
    results = []
    for name in sorted(_tools.bound_names(func)):
        bindings = analysis.bindings_of(name)
        if len(bindings) != 1:
            continue
        binding = bindings[0]
        assignment = binding.parent
        if not (
            isinstance(assignment, cst.AssignTarget)
            and isinstance(binding.ancestors[-2], cst.Assign)
            and len(binding.ancestors[-2].targets) == 1
        ):
            continue
        statement = binding.ancestors[-2]
        assert isinstance(statement, cst.Assign)
        if _tools.in_nested_scope(binding, func):
            continue
        others = [o for o in analysis.of_name(name) if o.node is not binding.node]
        if any(_tools.in_nested_scope(o, func) for o in others):
            continue
        if any(_tools.in_shared_declaration(o) for o in others):
            continue
        results.append(LocalUses(name, statement, tuple(_classify(analysis, o) for o in others)))
    return results


def _classify(analysis: _tools.Analysis, occurrence: _tools.Occurrence) -> Use:
    node, parent = occurrence.node, occurrence.parent
    ancestors = occurrence.ancestors
    grandparent = ancestors[-2] if len(ancestors) >= 2 else None
    if (
        isinstance(parent, cst.ComparisonTarget)
        and parent.comparator is node
        and isinstance(parent.operator, (cst.In, cst.NotIn))
    ):
        return Use("in", node)
    if isinstance(parent, (cst.If, cst.While, cst.IfExp)) and parent.test is node:
        return Use("truth", node)
    if (
        isinstance(parent, cst.Arg)
        and isinstance(grandparent, cst.Call)
        and isinstance(grandparent.func, cst.Name)
        and grandparent.func.value == "bool"
        and len(grandparent.args) == 1
    ):
        return Use("truth", node)
    if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
        return Use("truth", node)
    if (
        isinstance(parent, cst.Attribute)
        and parent.value is node
        and isinstance(grandparent, cst.Call)
        and grandparent.func is parent
        and not analysis.is_store(parent)
    ):
        discarded = isinstance(ancestors[-3], cst.Expr) if len(ancestors) >= 3 else False
        return Use("method", node, grandparent, statement_call=discarded)
    if (
        isinstance(parent, cst.Arg)
        and isinstance(grandparent, cst.Call)
        and isinstance(grandparent.func, cst.Name)
        and grandparent.func.value == "len"
        and len(grandparent.args) == 1
    ):
        return Use("len", node, grandparent)
    if (
        isinstance(parent, cst.Subscript)
        and parent.value is node
        and not analysis.is_store(parent)
        and not isinstance(grandparent, cst.Del)
        and len(parent.slice) == 1
        and isinstance(parent.slice[0].slice, cst.Index)
    ):
        return Use("index", node)
    return Use("other", node)


def integer_argument(call: cst.Call, position: int, value: int) -> bool:
    """True if the call's argument at `position` is the literal `value`, positional."""
    if len(call.args) <= position:
        return False
    arg = call.args[position]
    return (
        arg.keyword is None
        and not arg.star
        and isinstance(arg.value, cst.Integer)
        and arg.value.evaluated_value == value
    )
