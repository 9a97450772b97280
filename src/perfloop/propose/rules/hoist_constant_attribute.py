"""hoist-constant-attribute: `Enum.MEMBER` and `Class.CONSTANT` read in a loop, once before it.

    for c in data:                                     MachineState_ERROR = MachineState.ERROR
        state = sm.next_state(c)                       for c in data:
        if state == MachineState.ERROR:        →           state = sm.next_state(c)
            break                                          if state == MachineState_ERROR:
                                                               break

Each `MachineState.ERROR` is a global lookup and then a class attribute lookup (for
an Enum member, through the enum's metaclass) on every pass; a local is one read.

Taught by chardet 5.2.0's probers (`UTF8Prober.feed`, `MultiByteCharSetProber.feed`
compare every byte's state with `MachineState.START/ERROR/ITS_ME`,
`SingleByteCharSetProber.feed` with `CharacterCategory.CONTROL`), and by the
maintainers who bind such names before a hot loop: more-itertools 919f856
(`gcd = math.gcd` before Pollard's loop), pyparsing 21a4b14 ("move some local
constructed constants out of functions"), humanize bde649f (`_ORDINAL_SUFFIXES` and
`_APNUMBER_WORDS` tuples made once at module level).
"""

from __future__ import annotations

import re

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
from enums import MachineState


def count_starts(machine, data):
    starts = 0
    for c in data:
        if machine.next_state(c) == MachineState.START:
            starts += 1
    return starts
"""

EXAMPLE_SILENT = """
from enums import MachineState


def count_starts(machine, data):
    starts = 0
    for c in data:
        if machine.next_state(c) == MachineState.start:
            starts += 1
    return starts
"""

_CONSTANT = re.compile(r"^_*[A-Z][A-Z0-9_]*$")
"""How constants are spelled (PEP 8), the only evidence that nothing rebinds them."""


def _class_or_import(statement: cst.CSTNode) -> bool:
    return isinstance(statement, (cst.ClassDef, cst.Import, cst.ImportFrom))


def _stored_attribute_names(module: cst.Module) -> set[str]:
    """Every attribute name the module (the function included) assigns or deletes
    anywhere (`X.START = ...`)."""
    return {chain[-1] for chain in _edits.attributes_stored(module)}


class HoistConstantAttribute(Rule):
    id = "hoist-constant-attribute"
    rationale = (
        "`MachineState.START` in a loop is a global and a class attribute lookup on every "
        "pass; a local bound once before the loop is one read."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "Inside a for/while loop, a read (not a call) of `NAME.CONSTANT` or "
        "`NAME.inner.CONSTANT`, where CONSTANT is spelled in capitals (`START`, "
        "`_MAX_LEN`) and NAME is bound at module level only by a class statement or "
        "imports and not by the function, becomes a local bound just before the outermost "
        "loop (`MachineState_START = MachineState.START`). Silent when the module assigns "
        "or deletes an attribute of that name anywhere (`cls.START = ...`), when the "
        "function calls setattr/delattr or frame-inspecting functions, and inside nested "
        "functions and lambdas. Module-level constants are hoist-global-lookup's, "
        "`module.attr` hoist-attribute-lookup's. Differs when code outside the module "
        "rebinds the attribute while the loop runs, for attributes computed on each access "
        "(a property on the metaclass), and when the loop runs zero times and the attribute "
        "is missing (AttributeError now raised before the loop)."
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
        stored: set[str] | None = None  # computed on the first candidate
        edits = _edits.Edits()
        hoisted: dict[tuple[tuple[str, ...], int], str] = {}  # (chain, id(loop)) -> local
        for node in _tools.walk(func.body):
            chain = self._constant_chain(analysis, node, context, local_names)
            if chain is None or not isinstance(node, cst.Attribute):
                continue
            if stored is None:
                stored = _stored_attribute_names(context.module)
            loops = _edits.enclosing_loops(analysis, node)
            if chain[-1] in stored or not loops:
                continue
            if any(
                isinstance(a, _tools.NEW_SCOPES) and a is not func for a in analysis.ancestors(node)
            ):
                continue  # functions, lambdas and classes inside the function
            key = (tuple(chain), id(loops[0]))
            local = hoisted.get(key)
            if local is None:
                local = hoisted[key] = _tools.fresh_name("_".join(chain), reserved)
                anchor = _edits.anchor(analysis, loops[0], avoid={chain[0]})
                value = node.with_changes(lpar=(), rpar=())
                edits.insert_before(anchor, _edits.assign(local, value))
            edits.replace_with(node, lambda n, local=local: cst.Name(local))
        return _edits.apply_edits(func, edits) if edits else None

    @staticmethod
    def _constant_chain(
        analysis: _tools.Analysis,
        node: cst.CSTNode,
        context: RuleContext,
        local_names: set[str],
    ) -> list[str] | None:
        """["MachineState", "START"] if `node` reads such a constant; else None."""
        if not isinstance(node, cst.Attribute) or analysis.is_store(node):
            return None
        chain = _edits.attribute_chain(node)
        if chain is None or not _CONSTANT.match(chain[-1]):
            return None
        parent = analysis.ancestors(node)[-1]
        if isinstance(parent, cst.Attribute) or (
            isinstance(parent, cst.Call) and parent.func is node
        ):
            return None  # part of a longer chain, or a call
        root = chain[0]
        bindings = context.module_bindings.get(root, ())
        if root in local_names or not bindings or not all(map(_class_or_import, bindings)):
            return None
        if all(isinstance(s, cst.Import) for s in bindings) and len(chain) == 2:
            return None  # `module.CONSTANT`: hoist-attribute-lookup's
        return chain
