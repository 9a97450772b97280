"""sum-lists-flatten: `sum(lists, [])` becomes a flat comprehension.

    sum(groups, [])
        →   [item for sublist in groups
             for item in (sublist if isinstance(sublist, list) else [] + sublist)]

`sum` with a list start concatenates pairwise and copies the growing result each
time (quadratic); the comprehension appends every item once. A sublist that is
not a list goes through `[] + sublist`, so it raises the TypeError sum raises.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def all_order_lines(orders):
    return sum([order["lines"] for order in orders], [])
"""

EXAMPLE_SILENT = """
def all_order_lines(orders):
    return sum([order["lines"] for order in orders], [None])
"""


def _lists_summed(node: cst.CSTNode) -> cst.BaseExpression | None:
    """X if `node` is `sum(X, [])` or `sum(X, start=[])`."""
    if not _edits.is_call_to(node, "sum"):
        return None
    assert isinstance(node, cst.Call)
    args = node.args
    if len(args) != 2 or args[0].keyword is not None or any(a.star for a in args):
        return None
    start = args[1]
    if start.keyword is not None and start.keyword.value != "start":
        return None
    if not (isinstance(start.value, cst.List) and not start.value.elements):
        return None
    return args[0].value


def _flat(lists: cst.BaseExpression, reserved: set[str]) -> cst.ListComp:
    """`[item for sublist in X for item in (sublist if isinstance(sublist, list) else
    [] + sublist)]`: a non-list raises the TypeError `[] + x` raises, as in sum."""
    names = reserved | _tools.all_identifiers(lists)
    sublist = _tools.fresh_name("sublist", names)
    item = _tools.fresh_name("item", names)
    iterable = lists.with_changes(lpar=(), rpar=())
    if _tools.needs_parens_in_comprehension(iterable):
        iterable = _tools.parenthesized(iterable)
    concatenated = cst.BinaryOperation(
        left=cst.List(elements=[]), operator=cst.Add(), right=cst.Name(sublist)
    )
    checked = cst.IfExp(
        test=cst.Call(
            func=cst.Name("isinstance"),
            args=[cst.Arg(cst.Name(sublist)), cst.Arg(cst.Name("list"))],
        ),
        body=cst.Name(sublist),
        orelse=concatenated,
        lpar=[cst.LeftParen()],
        rpar=[cst.RightParen()],
    )
    return cst.ListComp(
        elt=cst.Name(item),
        for_in=cst.CompFor(
            target=cst.Name(sublist),
            iter=iterable,
            inner_for_in=cst.CompFor(target=cst.Name(item), iter=checked),
        ),
    )


class SumListsFlatten(Rule):
    id = "sum-lists-flatten"
    rationale = (
        "sum(lists, []) copies the growing result for every list (quadratic); a comprehension "
        "appends each item once."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`sum(X, [])` (or `start=[]`) becomes `[item for sublist in X for item in (sublist "
        "if isinstance(sublist, list) else [] + sublist)]`: X is evaluated and consumed as "
        "sum does, lists (subclasses too) give their items in order, and anything else "
        "goes through `[] + sublist`, which raises the TypeError sum raises (same message). "
        "Silent when sum, isinstance or list are rebound. Differs for objects with their "
        "own __radd__ (sum hands them the list so far, the rewrite an empty list) and for a "
        "list changed while it is flattened."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if any(context.rebinds(func, name) for name in ("sum", "isinstance", "list")):
            return None
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            lists = _lists_summed(node)
            if lists is None:
                continue
            flat = _flat(lists, reserved)
            edits.replace_with(
                node,
                lambda n, flat=flat: flat.with_changes(lpar=n.lpar, rpar=n.rpar),  # type: ignore[attr-defined]
            )
        return _edits.apply_edits(func, edits) if edits else None
