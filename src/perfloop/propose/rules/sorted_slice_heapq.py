"""sorted-slice-heapq: `sorted(X)[:k]` becomes `heapq.nsmallest(k, X)`.

    ranked = sorted(items, key=rank)          ranked = heapq.nsmallest(n, items, key=rank)
    return ranked[:n]                 →       return ranked

    top = sorted(xs, reverse=True)[:3]  →     top = heapq.nlargest(3, xs)

Sorting is O(N log N) over all items; keeping the k best in a heap is O(N log k).
heapq documents both as equivalent to the sorted slice, ties included.
"""

from __future__ import annotations

import itertools

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def top_terms(counts, n):
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n]
"""

EXAMPLE_SILENT = """
def top_terms(counts, n):
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return ranked[:n], ranked
"""


def _sorted_parts(call: cst.BaseExpression) -> tuple[list[cst.Arg], bool] | None:
    """(the arguments for heapq, largest-first) for `sorted(X[, key=K][, reverse=BOOL])`."""
    if not _edits.is_call_to(call, "sorted"):
        return None
    assert isinstance(call, cst.Call)
    args = list(call.args)
    if not args or args[0].keyword is not None or args[0].star:
        return None
    kept = [args[0].with_changes(comma=cst.MaybeSentinel.DEFAULT)]
    largest = False
    for arg in args[1:]:
        keyword = arg.keyword.value if arg.keyword is not None else None
        if keyword == "key" and not arg.star:
            kept.append(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        elif (
            keyword == "reverse"
            and isinstance(arg.value, cst.Name)
            and arg.value.value in {"True", "False"}
        ):
            largest = arg.value.value == "True"
        else:
            return None
    return kept, largest


def _head_length(subscript: cst.BaseExpression) -> cst.BaseExpression | None:
    """k if `subscript` is `...[:k]`, k a name or a non-negative integer literal."""
    if not isinstance(subscript, cst.Subscript) or len(subscript.slice) != 1:
        return None
    part = subscript.slice[0].slice
    if not (isinstance(part, cst.Slice) and part.lower is None and part.step is None):
        return None
    upper = part.upper
    if isinstance(upper, cst.Name) or (
        isinstance(upper, cst.Integer) and upper.evaluated_value >= 0
    ):
        return upper
    return None


def _heapq_call(args: list[cst.Arg], largest: bool, k: cst.BaseExpression) -> cst.Call:
    function = "nlargest" if largest else "nsmallest"
    return cst.Call(
        func=cst.Attribute(value=cst.Name("heapq"), attr=cst.Name(function)),
        args=[cst.Arg(k.with_changes(lpar=(), rpar=())), *args],
    )


class SortedSliceHeapq(Rule):
    id = "sorted-slice-heapq"
    rationale = (
        "heapq.nsmallest/nlargest keep only the k best items in a heap instead of sorting all."
    )
    safety = Safety.NEEDS_VERIFICATION
    imports = (("heapq", None),)
    description = (
        "`sorted(X[, key=K][, reverse=True|False])[:k]` becomes `heapq.nsmallest(k, X[, key=K])` "
        "(`nlargest` for reverse=True), k a name or a non-negative integer literal; also "
        "`NAME = sorted(...)` directly followed by `return NAME[:k]` when NAME is used nowhere "
        "else (the assignment takes the heapq call, the return gives NAME). Silent for other "
        "arguments or slices and when sorted is rebound or the module binds `heapq` to "
        "something else. heapq documents both as equivalent to the sorted slice, stable "
        "order of ties included. Differs for a negative k given by a name (the slice drops "
        "items from the end, heapq returns []), for a k that is not an int (other "
        "TypeError), and for unordered values such as NaN."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        bindings = context.module_bindings
        if "heapq" in bindings and not _edits.imported_as(bindings, "heapq", "heapq"):
            return None
        if "heapq" in _tools.bound_names(func) or context.rebinds(func, "sorted"):
            return None
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if isinstance(node, cst.Subscript) and not analysis.is_store(node):
                k = _head_length(node)
                parts = _sorted_parts(node.value)
                if k is not None and parts is not None:
                    call = _heapq_call(*parts, k)
                    edits.replace_with(
                        node,
                        lambda n, call=call: call.with_changes(lpar=n.lpar, rpar=n.rpar),  # type: ignore[attr-defined]
                    )
            if isinstance(node, cst.IndentedBlock):
                for first, second in itertools.pairwise(node.body):
                    self._plan_two_lines(analysis, first, second, edits)
        return _edits.apply_edits(func, edits) if edits else None

    @staticmethod
    def _plan_two_lines(
        analysis: _tools.Analysis, first: cst.CSTNode, second: cst.CSTNode, edits: _edits.Edits
    ) -> None:
        """`NAME = sorted(...)` then `return NAME[:k]`."""
        if not (
            isinstance(first, cst.SimpleStatementLine)
            and isinstance(second, cst.SimpleStatementLine)
            and len(first.body) == len(second.body) == 1
        ):
            return
        assignment, returned = first.body[0], second.body[0]
        if not (
            isinstance(assignment, cst.Assign)
            and len(assignment.targets) == 1
            and isinstance(assignment.targets[0].target, cst.Name)
            and isinstance(returned, cst.Return)
            and isinstance(returned.value, cst.Subscript)
            and isinstance(returned.value.value, cst.Name)
        ):
            return
        name = assignment.targets[0].target.value
        k = _head_length(returned.value)
        parts = _sorted_parts(assignment.value)
        if returned.value.value.value != name or k is None or parts is None:
            return
        if len(analysis.of_name(name)) != 2:
            return  # NAME is used elsewhere: it must stay the whole sorted list
        if isinstance(k, cst.Name) and k.value == name:
            return
        call = _heapq_call(*parts, k)
        edits.replace_with(assignment.value, lambda n, call=call: call)
        edits.replace_with(returned.value, lambda n, name=name: cst.Name(name))
