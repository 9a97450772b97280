"""hoist-attribute-lookup: a method or module attribute looked up in a loop is looked up once.

    for x in xs:                              math_sqrt = math.sqrt
        out.append(math.sqrt(x))      →       out_append = out.append
                                              for x in xs:
                                                  out_append(math_sqrt(x))

The attribute lookup (an instance dict, then the class's method resolution order,
then binding the method) happens once instead of once per pass.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
import math


def distances(points):
    out = []
    for x, y in points:
        out.append(math.sqrt(x * x + y * y))
    return out
"""

EXAMPLE_SILENT = """
def distances(points, out):
    for x, y in points:
        out.append(x * x + y * y)
        out = []
    return out
"""


def _outermost_invariant_loop(
    analysis: _tools.Analysis,
    func: cst.FunctionDef,
    node: cst.Attribute,
    chain: list[str],
    stored_in: dict[int, set[tuple[str, ...]]],
    is_module: bool,
) -> cst.CSTNode | None:
    """The outermost loop around `node` that neither rebinds the chain's root nor stores
    into the chain, with the root bound before it; None if there is none.

    A longer chain (`self._current.is_bare_key_char`) also needs a loop that lets nothing
    else reach its root: tomlkit 0.13.2's parser loops `while self._current.is_spaces()
    and self.inc()`, and `self.inc()` moves `self._current` on, so a hoisted
    `self._current.is_spaces` would test the first character forever. A module root is
    exempt (`os.path.join`: a module's submodules are not rebound by calls)."""
    if any(isinstance(a, cst.Lambda) for a in analysis.ancestors(node)):
        return None
    for loop in _edits.enclosing_loops(analysis, node):  # outermost first
        if chain[0] in _edits.assigned_in(loop):
            continue
        if id(loop) not in stored_in:
            stored_in[id(loop)] = _edits.attributes_stored(loop)
        stored = stored_in[id(loop)]
        if any(tuple(chain[:length]) in stored for length in range(2, len(chain) + 1)):
            continue
        if len(chain) > 2 and not is_module and _edits.lets_others_reach(analysis, chain[0], loop):
            continue
        if _edits.bound_before(analysis, func, chain[0], loop):
            return loop
    return None


class HoistAttributeLookup(Rule):
    id = "hoist-attribute-lookup"
    rationale = (
        "Looking up a method or a module's function once before the loop saves an attribute "
        "lookup (and binding the method) on every pass."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "Inside a for/while loop, a called attribute chain `NAME.attr(...)` / "
        "`NAME.a.attr(...)`, or any read of an attribute of an imported module (`math.pi`), "
        "becomes a local bound just before the outermost loop in which NAME and the chain are"
        " not assigned (`out_append = out.append`). NAME must be a parameter, a local bound "
        "before the loop, or a module-level name; silent for builtins, inside nested "
        "functions, when the function calls setattr/delattr or frame-inspecting functions, "
        "and when the loop stores into the chain (`NAME.attr = ...`); a longer chain "
        "(`NAME.a.attr(...)`) also stays when the loop calls a method of NAME or passes NAME "
        "on (either may rebind `NAME.a`). Differs when something called in the loop rebinds "
        "the attribute (the loop keeps the old method), for attributes computed on each "
        "access (properties, __getattr__), and when the loop runs zero times and the "
        "attribute is missing (AttributeError now raised before the loop)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if _tools.calls_named(func, {*_tools.FRAME_CALLS, "setattr", "delattr"}):
            return None
        analysis = _tools.Analysis.of(func)
        local_names = _tools.bound_names(func)
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        stored_in: dict[int, set[tuple[str, ...]]] = {}  # id(loop) -> chains it stores into
        hoisted: dict[tuple[tuple[str, ...], int], str] = {}  # (chain, id(loop)) -> local
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.Attribute) or analysis.is_store(node):
                continue
            chain = _edits.attribute_chain(node)
            if chain is None:
                continue
            parent = analysis.ancestors(node)[-1]
            called = isinstance(parent, cst.Call) and parent.func is node
            root = chain[0]
            is_module = root not in local_names and all(
                isinstance(s, cst.Import) for s in context.module_bindings.get(root, (None,))
            )
            if not (called or (is_module and len(chain) == 2)):
                continue
            if isinstance(parent, cst.Attribute):
                continue  # part of a longer chain: the longest one is hoisted
            if root not in local_names and root not in context.module_bindings:
                continue  # a builtin or undefined: nothing to gain or know
            loop = _outermost_invariant_loop(analysis, func, node, chain, stored_in, is_module)
            if loop is None:
                continue
            key = (tuple(chain), id(loop))
            local = hoisted.get(key)
            if local is None:
                local = hoisted[key] = _tools.fresh_name("_".join(chain).strip("_"), reserved)
                anchor = _edits.anchor(analysis, loop, avoid={root})
                edits.insert_before(
                    anchor, _edits.assign(local, node.with_changes(lpar=(), rpar=()))
                )
            edits.replace_with(node, lambda n, local=local: cst.Name(local))
        return _edits.apply_edits(func, edits) if edits else None
