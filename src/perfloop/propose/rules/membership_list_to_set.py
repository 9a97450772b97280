"""membership-list-to-set: a local list that is only appended to and tested with `in`
becomes a set.

    visited = [start]                         visited = {start}
    while queue:                              while queue:
        ...                           →           ...
        if n not in visited:                      if n not in visited:
            visited.append(n)                         visited.add(n)

`in` on a list compares item by item, so a search that records what it has seen
gets quadratic; on a set each test is one hash lookup.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _local_uses, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def reachable(adjacency, start):
    seen = [start]
    todo = [start]
    while todo:
        here = todo.pop()
        for neighbour in adjacency[here]:
            if neighbour not in seen:
                seen.append(neighbour)
                todo.append(neighbour)
    return len(todo)
"""

EXAMPLE_SILENT = """
def reachable(adjacency, start):
    seen = [start]
    for neighbour in adjacency[start]:
        if neighbour not in seen:
            seen.append(neighbour)
    return seen
"""


def _qualifies(analysis: _tools.Analysis, local: _local_uses.LocalUses) -> bool:
    value = local.assignment.value
    if not isinstance(value, cst.List) or any(
        isinstance(e, cst.StarredElement) for e in value.elements
    ):
        return False
    tests = [u for u in local.uses if u.kind == "in"]
    if not any(_edits.enclosing_loops(analysis, u.node) for u in tests):
        return False  # a test that runs once gains nothing
    for use in local.uses:
        if use.kind in {"in", "truth"}:
            continue
        if use.kind == "method" and use.method == "append" and use.statement_call:
            assert use.call is not None
            if len(use.call.args) == 1 and use.call.args[0].keyword is None:
                continue
        return False  # iterated, counted, indexed, returned, passed on: order and duplicates matter
    return True


class MembershipListToSet(Rule):
    id = "membership-list-to-set"
    rationale = (
        "A list that is only appended to and searched with `in` answers each test item by "
        "item; a set answers it with one hash lookup."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "A local bound once by `NAME = [...]` (no starred items) and otherwise only tested "
        "with `x in NAME` / `x not in NAME` (at least once inside a loop), used as a truth "
        "value, or appended to with `NAME.append(x)` as a statement becomes `NAME = {...}` "
        "(`set()` for `[]`) with `NAME.add(x)`. Silent when NAME is iterated, indexed, "
        "counted with len (duplicates would count), returned, passed on, used in a nested "
        "function, or when set is rebound. Differs when an item or a tested value is "
        "unhashable (TypeError) or its __hash__ disagrees with its __eq__."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "set"):
            return None
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        for local in _local_uses.local_containers(func):
            if not _qualifies(analysis, local):
                continue
            value = local.assignment.value
            assert isinstance(value, cst.List)
            if value.elements:
                new_value: cst.BaseExpression = cst.Set(
                    elements=value.elements,
                    lbrace=cst.LeftCurlyBrace(),
                    rbrace=cst.RightCurlyBrace(),
                )
            else:
                new_value = cst.Call(func=cst.Name("set"))
            edits.replace_with(value, lambda node, new=new_value: new)
            for use in local.uses:
                if use.kind == "method":
                    assert use.call is not None and isinstance(use.call.func, cst.Attribute)
                    edits.replace_with(
                        use.call.func,
                        lambda node: node.with_changes(attr=cst.Name("add")),  # type: ignore[attr-defined]
                    )
        return _edits.apply_edits(func, edits) if edits else None
