"""hoist-global-lookup: globals and builtins read in a loop are bound to locals before it.

    for token in tokens:                      _STOPWORDS = STOPWORDS
        if token not in STOPWORDS:    →       _len = len
            n += len(token)                   for token in tokens:
                                                  if token not in _STOPWORDS:
                                                      n += _len(token)

A local is read from the frame's array; a global or builtin is looked up in the
module's and then the builtins' dict on every pass.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def total_length(words):
    total = 0
    for word in words:
        total += len(word)
    return total
"""

EXAMPLE_SILENT = """
def total_length(words):
    global len
    total = 0
    for word in words:
        total += len(word)
    return total
"""

_NEVER = frozenset({"True", "False", "None", "__debug__", "__class__", "__name__", "__file__"})


def _local_name(name: str, reserved: set[str]) -> str:
    return _tools.fresh_name(f"_{name}" if not name.startswith("_") else f"{name}_local", reserved)


class HoistGlobalLookup(Rule):
    id = "hoist-global-lookup"
    rationale = (
        "A local variable is read from the frame; a global or builtin is looked up in two "
        "dicts on every pass through the loop."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "Names read inside a for/while loop that the function does not bind (module globals "
        "and builtins, not True/False/None or dunders) are bound to fresh locals "
        "(`_len = len`) just before the outermost loop (above `out = []`-style lines), and "
        "the loop reads the locals. Silent when the function declares global/nonlocal, calls "
        "frame-inspecting functions (locals, vars, eval, exec, super, ...), or has no loop; "
        "reads in nested functions, lambdas and classes keep the global. Differs when "
        "something the loop calls rebinds the global while the loop runs (the loop keeps "
        "the old value) and when the name is not defined and the loop runs zero times "
        "(NameError now raised before the loop)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if _tools.contains(func.body, (cst.Global, cst.Nonlocal)):
            return None
        if _tools.calls_named(func, _tools.FRAME_CALLS):
            return None
        analysis = _tools.Analysis.of(func)
        local_names = _tools.bound_names(func)
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        renamed: dict[str, str] = {}
        bound: set[tuple[str, int]] = set()  # (name, id of the outermost loop)
        for occurrence in analysis.occurrences:
            name = occurrence.node.value
            if name in local_names or name in _NEVER or name.startswith("__"):
                continue
            if name not in context.module_bindings and name not in _tools.BUILTIN_NAMES:
                continue  # not defined anywhere we can see: leave the NameError where it was
            if _tools.in_nested_scope(occurrence, func):
                continue
            loops = _edits.enclosing_loops(analysis, occurrence.node)
            if not loops:
                continue
            local = renamed.get(name) or renamed.setdefault(name, _local_name(name, reserved))
            if (name, id(loops[0])) not in bound:  # bound before each outermost loop
                bound.add((name, id(loops[0])))
                anchor = _edits.anchor(analysis, loops[0])
                edits.insert_before(anchor, _edits.assign(local, cst.Name(name)))
            edits.replace_with(
                occurrence.node,
                lambda node, local=local: node.with_changes(value=local),  # type: ignore[attr-defined]
            )
        return _edits.apply_edits(func, edits) if edits else None
