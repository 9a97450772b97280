"""range-len-iteration: `for i in range(len(xs))` that only reads `xs[i]` iterates `xs` itself.

    for i in range(len(series)):              for series_item in series:
        if series[i] >= target:       →           if series_item >= target:
            count += 1                                count += 1

Iterating the sequence directly saves building the range and one index lookup per item.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def days_meeting_target(series, target):
    count = 0
    for i in range(len(series)):
        if series[i] >= target:
            count += 1
    return count
"""

EXAMPLE_SILENT = """
def days_meeting_target(series, target):
    count = 0
    for i in range(len(series)):
        if series[i] >= target:
            count += i
    return count
"""


def _is_item_read(
    analysis: _tools.Analysis, subscript: cst.CSTNode, sequence: str, index: str
) -> bool:
    """True if `subscript` is `sequence[index]` read (not stored to, not deleted)."""
    if not isinstance(subscript, cst.Subscript) or analysis.is_store(subscript):
        return False
    if not (isinstance(subscript.value, cst.Name) and subscript.value.value == sequence):
        return False
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return False
    item = subscript.slice[0].slice
    return (
        not getattr(item, "star", None)
        and isinstance(item.value, cst.Name)
        and item.value.value == index
        and not item.value.lpar
    )


def _loops_in_scope(node: cst.CSTNode, root: cst.FunctionDef) -> list[cst.For]:
    """Every `for` statement of the function's own scope (not of nested defs or classes)."""
    loops: list[cst.For] = []
    for child in node.children:
        if isinstance(child, (cst.FunctionDef, cst.ClassDef, cst.Lambda)) and child is not root:
            continue
        if isinstance(child, cst.For):
            loops.append(child)
        loops.extend(_loops_in_scope(child, root))
    return loops


def _item_reads(analysis: _tools.Analysis, func: cst.FunctionDef, loop: cst.For) -> set[int] | None:
    """Ids of the `X[I]` nodes in the loop's body, or None if the loop does not qualify."""
    found = _edits.range_len_of(loop)
    if found is None or loop.orelse is not None or loop.asynchronous is not None:
        return None
    index, sequence = found
    if index == sequence:
        return None
    reads: set[int] = set()
    for occurrence in analysis.occurrences:
        name = occurrence.node.value
        if name not in (index, sequence) or not occurrence.inside(loop.body):
            continue
        if _tools.in_nested_scope(occurrence, func):
            return None  # a closure may read X[I] later, after X changed
        parent = occurrence.parent
        if name == sequence:
            # X may appear only as `X[...]`, read: no assignment, method call or call argument
            if not isinstance(parent, cst.Subscript) or parent.value is not occurrence.node:
                return None
            if analysis.is_store(parent):
                return None
            if _is_item_read(analysis, parent, sequence, index):
                reads.add(id(parent))
        else:
            # I may appear only as the index of `X[I]`
            subscript = occurrence.ancestors[-3] if len(occurrence.ancestors) >= 3 else None
            if not isinstance(parent, cst.Index) or subscript is None:
                return None
            if not _is_item_read(analysis, subscript, sequence, index):
                return None
    if not reads or _tools.used_outside(analysis, {index}, loop):
        return None
    return reads


class _Rewrite(cst.CSTTransformer):
    def __init__(self, loops: dict[int, tuple[str, str]], reads: dict[int, str]) -> None:
        super().__init__()
        self._loops = loops
        self._reads = reads

    def leave_Subscript(
        self, original_node: cst.Subscript, updated_node: cst.Subscript
    ) -> cst.BaseExpression:
        new_name = self._reads.get(id(original_node))
        if new_name is None:
            return updated_node
        return cst.Name(new_name, lpar=updated_node.lpar, rpar=updated_node.rpar)

    def leave_For(self, original_node: cst.For, updated_node: cst.For) -> cst.For:
        planned = self._loops.get(id(original_node))
        if planned is None:
            return updated_node
        sequence, new_name = planned
        return updated_node.with_changes(target=cst.Name(new_name), iter=cst.Name(sequence))


class RangeLenIteration(Rule):
    id = "range-len-iteration"
    rationale = (
        "Iterating the sequence itself skips building the range and one index lookup per item."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`for I in range(len(X)):` with X a plain name, no else, where the body uses I only "
        "as `X[I]` read (never stored to or deleted, never I alone or in arithmetic, not in "
        "a nested function or lambda), never rebinds X, calls methods on X or passes X "
        "anywhere (X appears only as `X[...]` read), and I is not used after the loop; "
        "range/len are not rebound. Becomes `for X_item in X:`. Equivalent when X is a "
        "sequence (list, tuple, str, bytes, array) that is not changed while the loop runs; "
        "differs for mappings (a dict iterates keys, `d[i]` looks up values), for "
        "label-indexed containers (a pandas Series), and when X is changed through an alias "
        "or by a called function: X's type and aliases are not known statically, hence "
        "verification."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "range") or context.rebinds(func, "len"):
            return None
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        loops: dict[int, tuple[str, str]] = {}
        reads: dict[int, str] = {}
        for loop in _loops_in_scope(func, func):
            found = _item_reads(analysis, func, loop)
            if found is None:
                continue
            _, sequence = _edits.range_len_of(loop) or ("", "")
            new_name = _tools.fresh_name(f"{sequence}_item", reserved)
            loops[id(loop)] = (sequence, new_name)
            reads.update(dict.fromkeys(found, new_name))
        if not loops:
            return None
        return func.visit(_Rewrite(loops, reads))
