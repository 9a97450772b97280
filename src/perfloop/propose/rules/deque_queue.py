"""deque-queue: a local list used as a queue (`pop(0)`, `insert(0, x)`) becomes a deque.

    queue = [start]                           queue = collections.deque([start])
    while queue:                      →       while queue:
        here = queue.pop(0)                       here = queue.popleft()
        queue.append(next_step(here))             queue.append(next_step(here))

`list.pop(0)` and `list.insert(0, x)` move every other item; a deque adds and
removes at both ends in constant time.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _local_uses, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def breadth_first(adjacency, start):
    order = []
    queue = [start]
    while queue:
        here = queue.pop(0)
        order.append(here)
        queue.extend(adjacency[here])
    return order
"""

EXAMPLE_SILENT = """
def breadth_first(adjacency, start):
    queue = [start]
    while queue:
        here = queue.pop(0)
        queue.extend(adjacency[here])
    return queue
"""

# list methods a deque has with the same meaning (pop(0)/insert(0, x) are translated)
_SAME_METHODS = frozenset(
    {"append", "extend", "pop", "clear", "remove", "count", "index", "reverse", "copy"}
)


def _front_call(use: _local_uses.Use) -> str | None:
    """ "popleft"/"appendleft" for `NAME.pop(0)` / `NAME.insert(0, x)`, else None."""
    call = use.call
    if call is None or any(a.keyword is not None or a.star for a in call.args):
        return None
    if use.method == "pop" and len(call.args) == 1 and _local_uses.integer_argument(call, 0, 0):
        return "popleft"
    if use.method == "insert" and len(call.args) == 2 and _local_uses.integer_argument(call, 0, 0):
        return "appendleft"
    return None


def _allowed(use: _local_uses.Use) -> bool:
    if use.kind in {"in", "truth", "len", "index"}:
        return True
    if use.kind != "method":
        return False
    if _front_call(use) is not None:
        return True
    call = use.call
    assert call is not None
    if use.method == "pop":  # only pop() from the right end
        return not call.args
    if use.method == "index":  # deque.index has no keyword arguments either
        return True
    return use.method in _SAME_METHODS


def _deque_call(value: cst.BaseExpression, alias: str) -> cst.Call | None:
    """`alias.deque(...)` for `[...]`, `[]` and `list(X)`; None for other values."""
    func = cst.Attribute(value=cst.Name(alias), attr=cst.Name("deque"))
    if isinstance(value, cst.List):
        if any(isinstance(e, cst.StarredElement) for e in value.elements):
            return None
        return cst.Call(func=func, args=[cst.Arg(value)] if value.elements else [])
    if _edits.is_call_to(value, "list"):
        assert isinstance(value, cst.Call)
        args = _edits.positional_args(value)
        if args is not None and len(args) <= 1:
            return cst.Call(func=func, args=[cst.Arg(a) for a in args])
    return None


class DequeQueue(Rule):
    id = "deque-queue"
    rationale = (
        "list.pop(0) and list.insert(0, x) move every other item; a deque adds and removes at "
        "both ends in constant time."
    )
    safety = Safety.NEEDS_VERIFICATION
    imports = (("collections", None),)
    description = (
        "A local bound once by `NAME = [...]`, `[]` or `list(X)` that is popped from the front "
        "(`NAME.pop(0)`) or pushed at the front (`NAME.insert(0, x)`) and otherwise only "
        "appended to, extended, popped at the end, tested with `in`, used as a truth value, "
        "measured with len, indexed (read), or given clear/remove/count/index/reverse/copy, "
        "becomes `collections.deque(...)` with `popleft()` / `appendleft(x)`. Silent when NAME "
        "is iterated, sliced, stored into, returned, passed on or used in a nested function, "
        "when list is rebound, and when the module binds `collections` to something else. "
        "Differs in error messages (`pop from an empty deque`) and for list methods called "
        "with keywords; `list(X)` accepts the same iterables as `deque(X)`."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        bindings = context.module_bindings
        if "collections" in bindings and not _edits.imported_as(
            bindings, "collections", "collections"
        ):
            return None
        if "collections" in _tools.bound_names(func) or context.rebinds(func, "list"):
            return None
        edits = _edits.Edits()
        for local in _local_uses.local_containers(func):
            fronts = [u for u in local.uses if _front_call(u) is not None]
            if not fronts or not all(_allowed(u) for u in local.uses):
                continue
            new_value = _deque_call(local.assignment.value, "collections")
            if new_value is None:
                continue
            edits.replace_with(local.assignment.value, lambda node, new=new_value: new)
            for use in fronts:
                method = _front_call(use)
                call = use.call
                assert call is not None and method is not None
                edits.replace_with(
                    call,
                    lambda node, method=method: node.with_changes(  # type: ignore[attr-defined]
                        func=node.func.with_changes(attr=cst.Name(method)),  # type: ignore[attr-defined]
                        args=node.args[1:],  # type: ignore[attr-defined]
                    ),
                )
        return _edits.apply_edits(func, edits) if edits else None
