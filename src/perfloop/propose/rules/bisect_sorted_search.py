"""bisect-sorted-search: `x in xs` on a list the function sorted itself becomes a binary search.

    limits = sorted(thresholds)
    for v in values:
        if v in limits:
            hits += 1
                    →
    limits = sorted(thresholds)
    for v in values:
        if (limits_pos := bisect.bisect_left(limits, v)) < len(limits) and limits[limits_pos] == v:
            hits += 1

`in` on a list compares item by item (O(n)); on a sorted list bisect finds the
place in O(log n). Unlike a set it needs only ordering, not hashing.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _local_uses, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def hits(values, thresholds):
    limits = sorted(thresholds)
    count = 0
    for v in values:
        if v in limits:
            count += 1
    return count
"""

EXAMPLE_SILENT = """
def hits(values, thresholds):
    limits = sorted(thresholds)
    count = 0
    for v in values:
        if v in limits:
            count += 1
            limits.append(v)
    return count
"""


def _plain_sorted(value: cst.BaseExpression) -> bool:
    """`sorted(X)` with one positional argument: ascending, natural order."""
    if not _edits.is_call_to(value, "sorted"):
        return False
    assert isinstance(value, cst.Call)
    args = _edits.positional_args(value)
    return args is not None and len(args) == 1


def _contains(name: str, position: str, value: cst.BaseExpression) -> cst.BaseExpression:
    """`(POS := bisect.bisect_left(NAME, VALUE)) < len(NAME) and NAME[POS] == VALUE`."""
    search = cst.Call(
        func=cst.Attribute(value=cst.Name("bisect"), attr=cst.Name("bisect_left")),
        args=[cst.Arg(cst.Name(name)), cst.Arg(value)],
    )
    walrus = cst.NamedExpr(
        target=cst.Name(position), value=search, lpar=[cst.LeftParen()], rpar=[cst.RightParen()]
    )
    length = cst.Call(func=cst.Name("len"), args=[cst.Arg(cst.Name(name))])
    inside = cst.Comparison(left=walrus, comparisons=[cst.ComparisonTarget(cst.LessThan(), length)])
    item = cst.Subscript(
        value=cst.Name(name), slice=[cst.SubscriptElement(cst.Index(cst.Name(position)))]
    )
    equal = cst.Comparison(left=item, comparisons=[cst.ComparisonTarget(cst.Equal(), value)])
    return cst.BooleanOperation(left=inside, operator=cst.And(), right=equal)


class BisectSortedSearch(Rule):
    id = "bisect-sorted-search"
    rationale = (
        "On a list the function sorted itself, bisect finds an item in O(log n) instead of "
        "comparing item by item."
    )
    safety = Safety.NEEDS_VERIFICATION
    min_python = (3, 8)  # :=
    imports = (("bisect", None),)
    description = (
        "A local bound once by `NAME = sorted(X)` (one argument: no key, not reversed) and "
        "otherwise only tested with `V in NAME` / `V not in NAME` (V a name or literal, at "
        "least one test inside a loop), measured with len, indexed (read) or used as a truth "
        "value gets each `in` test replaced by `(NAME_pos := bisect.bisect_left(NAME, V)) < "
        "len(NAME) and NAME[NAME_pos] == V` (negated for `not in`). Silent when NAME is "
        "changed, iterated, returned or passed on, in comprehensions (where := is not "
        "allowed in the iterable), or when sorted/len are rebound or the module binds "
        "`bisect` to something else. Differs when items are not totally ordered "
        "(NaN, sets: bisect compares with <, `in` with ==), for values that compare equal "
        "but sort apart, and when `==` returns something other than a bool."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        bindings = context.module_bindings
        if "bisect" in bindings and not _edits.imported_as(bindings, "bisect", "bisect"):
            return None
        if "bisect" in _tools.bound_names(func):
            return None
        if context.rebinds(func, "sorted") or context.rebinds(func, "len"):
            return None
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        for local in _local_uses.local_containers(func):
            if not _plain_sorted(local.assignment.value):
                continue
            tests = [u for u in local.uses if u.kind == "in"]
            if not any(_edits.enclosing_loops(analysis, u.node) for u in tests):
                continue
            if not all(u.kind in {"in", "len", "index", "truth"} for u in local.uses):
                continue
            if any(_in_comprehension(analysis, u.node) for u in tests):
                continue
            position = _tools.fresh_name(f"{local.name}_pos", reserved)
            for use in tests:
                target = analysis.ancestors(use.node)[-1]
                comparison = analysis.ancestors(use.node)[-2]
                assert isinstance(target, cst.ComparisonTarget)
                if not isinstance(comparison, cst.Comparison) or len(comparison.comparisons) != 1:
                    break
                value = comparison.left
                if not isinstance(value, (cst.Name, cst.Integer, cst.SimpleString)):
                    break
                negated = isinstance(target.operator, cst.NotIn)
                parent = analysis.ancestors(comparison)[-1]
                bare = isinstance(parent, (cst.If, cst.While)) and parent.test is comparison
                new = _replacement(local.name, position, value, negated, bare)
                edits.replace_with(comparison, lambda n, new=new: new)
        return _edits.apply_edits(func, edits) if edits else None


def _replacement(
    name: str, position: str, value: cst.BaseExpression, negated: bool, bare: bool
) -> cst.BaseExpression:
    """The bisect test, in parentheses unless it is a whole if/while test."""
    found: cst.BaseExpression = _contains(name, position, value)
    if negated:
        found = cst.UnaryOperation(operator=cst.Not(), expression=_tools.parenthesized(found))
    return found if bare else _tools.parenthesized(found)


def _in_comprehension(analysis: _tools.Analysis, node: cst.CSTNode) -> bool:
    return any(
        isinstance(a, (*_tools.COMPREHENSIONS, cst.Lambda)) for a in analysis.ancestors(node)
    )
