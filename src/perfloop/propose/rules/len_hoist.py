"""len-hoist: `len(X)` recomputed on every pass of a loop that cannot change X's length
is computed once before it.

    while i < len(items):                     items_len = len(items)
        if items[i] == target:        →       while i < items_len:
            return i                              if items[i] == target:
        i += 1                                        return i
                                                  i += 1

A local read replaces a global lookup of `len` and a call on every test.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def index_of(items, target):
    i = 0
    while i < len(items):
        if items[i] == target:
            return i
        i += 1
    return -1
"""

EXAMPLE_SILENT = """
def drain(items):
    done = []
    while len(items) > 0:
        done.append(items.pop())
    return done
"""


def _length_kept_in(analysis: _tools.Analysis, name: str, loop: cst.CSTNode) -> bool:
    """True if nothing in `loop` can change the length of `name` (item stores are fine)."""
    if name in _edits.assigned_in(loop):
        return False
    for occurrence in analysis.of_name(name):
        if not occurrence.inside(loop):
            continue
        if _edits.in_scope_within(occurrence, loop):
            return False
        parent = occurrence.parent
        if (
            isinstance(parent, cst.Subscript)
            and parent.value is occurrence.node
            and analysis.is_store(parent)
            and not isinstance(occurrence.ancestors[-2], cst.Del)
            and all(isinstance(item.slice, cst.Index) for item in parent.slice)
        ):
            continue  # `X[i] = v` replaces an item, the length stays
        if not _edits.read_only_use(analysis, occurrence):
            return False
    return True


class LenHoist(Rule):
    id = "len-hoist"
    rationale = (
        "The length of a sequence the loop does not resize is computed once instead of on "
        "every test."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`len(X)` inside a for/while loop (a while test included), X a plain name bound "
        "before the loop, becomes a local `X_len` computed just before the outermost loop "
        "in which X is not rebound and is only read, item-assigned (`X[i] = v`), tested, "
        "iterated, given to read-only builtins or to non-mutating methods: never appended "
        "to, popped, deleted from, slice-assigned or passed to another call. Silent when "
        "len is rebound or the use is inside a nested function. Differs when the length "
        "changes through an alias or a called function during the loop, for objects whose "
        "__len__ has effects or changes by itself, and when X has no length and the loop "
        "runs zero times (TypeError now raised before the loop)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "len"):
            return None
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        hoisted: dict[tuple[str, int], str] = {}
        for node in _tools.walk(func.body):
            if not _edits.is_call_to(node, "len"):
                continue
            assert isinstance(node, cst.Call)
            args = _edits.positional_args(node)
            if args is None or len(args) != 1 or not isinstance(args[0], cst.Name):
                continue
            name = args[0].value
            loop = next(
                (
                    loop
                    for loop in _edits.enclosing_loops(analysis, node)
                    if _length_kept_in(analysis, name, loop)
                    and _edits.bound_before(analysis, func, name, loop)
                ),
                None,
            )
            if loop is None or any(isinstance(a, cst.Lambda) for a in analysis.ancestors(node)):
                continue
            local = hoisted.get((name, id(loop)))
            if local is None:
                local = _tools.fresh_name(f"{name}_len", reserved)
                hoisted[(name, id(loop))] = local
                anchor = _edits.anchor(analysis, loop, avoid={name})
                edits.insert_before(
                    anchor, _edits.assign(local, node.with_changes(lpar=(), rpar=()))
                )
            edits.replace_with(node, lambda n, local=local: cst.Name(local))
        return _edits.apply_edits(func, edits) if edits else None
