"""zip-parallel-index: an index loop over several sequences at once iterates them with zip.

    for i in range(len(u)):                   for u_item, v_item in zip(u, v):
        total += u[i] * v[i]          →           total += u_item * v_item

zip walks the sequences together: no range object and no index lookups.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety
from perfloop.propose.rules.enumerate_index import index_reads

EXAMPLE_FIRES = """
def dot(u, v):
    total = 0
    for i in range(len(u)):
        total += u[i] * v[i]
    return total
"""

EXAMPLE_SILENT = """
def dot(u, v):
    total = 0
    for i in range(len(u)):
        total += u[i] * v[i] * i
    return total
"""


class ZipParallelIndex(Rule):
    id = "zip-parallel-index"
    rationale = "zip() walks several sequences together: no range object and no index lookups."
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`for I in range(len(A)):` (no else) whose body uses I only as the index of reads "
        "`A[I]`, `B[I]`, ... of two or more plain names, A among them, becomes "
        "`for A_item, B_item, ... in zip(A, B, ...):`. Silent when I is used otherwise or "
        "after the loop, when a sequence is assigned, stored into, deleted from, used other "
        "than `S[...]` read or in a nested function, or when range/len/zip are rebound. "
        "Differs when another sequence is shorter than A (the loop raises IndexError, zip "
        "stops early), for mappings, and when a sequence changes through an alias or a "
        "called function while the loop runs."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if any(context.rebinds(func, name) for name in ("range", "len", "zip")):
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
            index, first = found
            reads = index_reads(analysis, loop, index, None)
            if not reads or first not in reads or len(reads) < 2:
                continue
            uses = [o for o in analysis.of_name(index) if o.inside(loop.body)]
            if len(uses) != sum(len(r) for r in reads.values()):
                continue  # I is used besides as an index
            if _tools.used_outside(analysis, {index}, loop):
                continue
            sequences = [first, *(name for name in reads if name != first)]
            items = {name: _tools.fresh_name(f"{name}_item", reserved) for name in sequences}
            target = cst.Tuple(
                elements=[cst.Element(cst.Name(items[name])) for name in sequences],
                lpar=[],
                rpar=[],
            )
            call = cst.Call(
                func=cst.Name("zip"), args=[cst.Arg(cst.Name(name)) for name in sequences]
            )
            edits.replace_with(
                loop,
                lambda node, target=target, call=call: node.with_changes(target=target, iter=call),  # type: ignore[attr-defined]
            )
            for name, subscripts in reads.items():
                for subscript in subscripts:
                    edits.replace_with(subscript, lambda node, item=items[name]: cst.Name(item))
        return _edits.apply_edits(func, edits) if edits else None
