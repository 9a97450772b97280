"""enumerate-index: `for i in range(len(xs))` that needs both `i` and `xs[i]` uses enumerate.

    for i in range(len(prices)):              for i, prices_item in enumerate(prices):
        if prices[i] > limit:         →           if prices_item > limit:
            return i                                  return i

enumerate hands out the index and the item together, saving the range object and
one index lookup per item. (When `i` is only ever used as `xs[i]`,
range-len-iteration drops the index altogether.)
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def first_above(prices, limit):
    for i in range(len(prices)):
        if prices[i] > limit:
            return i
    return -1
"""

EXAMPLE_SILENT = """
def first_above(prices, limit):
    for i in range(len(prices)):
        if prices[i] > limit:
            prices[i] = limit
    return prices
"""


def index_reads(
    analysis: _tools.Analysis, loop: cst.For, index: str, sequences: set[str] | None
) -> dict[str, list[cst.Subscript]] | None:
    """For each sequence, its `S[index]` reads in the loop's body; None if the body binds
    `index`, rebinds, stores into, deletes from, calls a method of or passes on a
    sequence, or uses a sequence in a nested scope.

    `sequences` None: every plain name subscripted with `index` counts as a sequence.
    """
    body = loop.body
    assigned = _edits.assigned_in(body)
    if index in assigned:
        return None
    reads: dict[str, list[cst.Subscript]] = {}
    for node in _tools.walk(body):
        if not (
            isinstance(node, cst.Subscript)
            and isinstance(node.value, cst.Name)
            and len(node.slice) == 1
            and isinstance(node.slice[0].slice, cst.Index)
            and isinstance(node.slice[0].slice.value, cst.Name)
            and node.slice[0].slice.value.value == index
            and not node.slice[0].slice.value.lpar
            and not getattr(node.slice[0].slice, "star", None)
        ):
            continue
        name = node.value.value
        if (sequences is None or name in sequences) and name != index:
            reads.setdefault(name, []).append(node)
    for name in reads:
        if name in assigned:
            return None
        for occurrence in analysis.of_name(name):
            if not occurrence.inside(body):
                continue
            parent = occurrence.parent
            if _edits.in_scope_within(occurrence, body):
                return None
            if not (isinstance(parent, cst.Subscript) and parent.value is occurrence.node):
                return None  # the sequence itself is used, not only its items
            if analysis.is_store(parent) or isinstance(occurrence.ancestors[-2], cst.Del):
                return None
    return reads


class EnumerateIndex(Rule):
    id = "enumerate-index"
    rationale = (
        "enumerate() yields the index and the item together: no range object and no index "
        "lookup per item."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`for I in range(len(X)):` (X a plain name, no else) whose body reads `X[I]` and also "
        "uses I otherwise (or I is read after the loop; if not, range-len-iteration applies) "
        "becomes `for I, X_item in enumerate(X):` with `X_item` for every `X[I]` read. Silent "
        "when the body assigns I or X, stores into or deletes from X, uses X other than "
        "`X[...]` read (method calls, passing it on), uses it in a nested function, or when "
        "range/len/enumerate are rebound. Equivalent for sequences not changed during the "
        "loop; differs for mappings (enumerate walks the keys) and when X changes through an "
        "alias or a called function while the loop runs."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if any(context.rebinds(func, name) for name in ("range", "len", "enumerate")):
            return None
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        for loop in _edits.loops_in_scope(func):
            if not isinstance(loop, cst.For) or loop.orelse is not None or loop.asynchronous:
                continue
            found = _edits.range_len_of(loop)
            if found is None:
                continue
            index, sequence = found
            reads = index_reads(analysis, loop, index, {sequence})
            if not reads or sequence not in reads:
                continue
            index_uses = [
                o for o in analysis.of_name(index) if o.inside(loop.body) or not o.inside(loop)
            ]
            if len(index_uses) == len(reads[sequence]):
                continue  # the index is only ever `X[I]`: range-len-iteration's case
            item = _tools.fresh_name(f"{sequence}_item", reserved)
            target = cst.Tuple(
                elements=[cst.Element(cst.Name(index)), cst.Element(cst.Name(item))],
                lpar=[],
                rpar=[],
            )
            call = cst.Call(func=cst.Name("enumerate"), args=[cst.Arg(cst.Name(sequence))])
            edits.replace_with(
                loop,
                lambda node, target=target, call=call: node.with_changes(target=target, iter=call),  # type: ignore[attr-defined]
            )
            for subscript in reads[sequence]:
                edits.replace_with(subscript, lambda node, item=item: cst.Name(item))
        return _edits.apply_edits(func, edits) if edits else None
