"""generator-to-comprehension: a generator expression handed to a builtin that consumes it
all becomes a comprehension.

    len(set(vec[i] + i for i in cols))        →   len({vec[i] + i for i in cols})
    tuple(pool[i] for i in indices[:r])       →   tuple([pool[i] for i in indices[:r]])
    sum(1 if v in cell else 0 for cell in c)  →   sum([1 if v in cell else 0 for cell in c])

A comprehension runs its loop in one frame; a generator is resumed and suspended
once per item. `any`/`all` are left alone: they may stop early.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def n_queens(queen_count, candidates):
    cols = range(queen_count)
    for vec in candidates:
        if queen_count == len(set(vec[i] + i for i in cols)) == len(set(vec[i] - i for i in cols)):
            yield vec
"""

EXAMPLE_SILENT = """
def has_conflict(vec, cols):
    return any(vec[i] == i for i in cols) or all(vec[i] for i in cols)
"""

# builtins whose one generator argument becomes a comprehension of the same kind
_DISPLAYS = {"list": cst.ListComp, "set": cst.SetComp}
# builtins that consume the whole iterable: it becomes a list comprehension
_CONSUMERS = frozenset({"tuple", "frozenset", "sorted", "sum", "min", "max"})


def _generator_argument(call: cst.Call) -> cst.GeneratorExp | None:
    if not call.args or call.args[0].keyword is not None or call.args[0].star:
        return None
    value = call.args[0].value
    return value if isinstance(value, cst.GeneratorExp) else None


def _join_call(call: cst.Call) -> bool:
    """`"sep".join(G)`: str.join makes a list of G first anyway."""
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "join"
        and isinstance(func.value, (cst.SimpleString, cst.ConcatenatedString))
        and len(call.args) == 1
    )


def _list_of(generator: cst.GeneratorExp) -> cst.ListComp:
    return cst.ListComp(elt=generator.elt, for_in=generator.for_in)


def _rewritten(call: cst.Call, name: str | None) -> cst.BaseExpression | None:
    generator = _generator_argument(call)
    if generator is None:
        return None
    if name in _DISPLAYS and len(call.args) == 1:
        display = _DISPLAYS[name](elt=generator.elt, for_in=generator.for_in)
        return display.with_changes(lpar=call.lpar, rpar=call.rpar)
    if name == "dict" and len(call.args) == 1:
        pair = generator.elt
        if (
            isinstance(pair, cst.Tuple)
            and len(pair.elements) == 2
            and not any(isinstance(e, cst.StarredElement) for e in pair.elements)
        ):
            key, value = (e.value for e in pair.elements)
            return cst.DictComp(
                key=key, value=value, for_in=generator.for_in, lpar=call.lpar, rpar=call.rpar
            )
        return None
    if name in _CONSUMERS or (name is None and _join_call(call)):
        first = call.args[0].with_changes(value=_list_of(generator))
        return call.with_changes(args=[first, *call.args[1:]])
    return None


class GeneratorToComprehension(Rule):
    id = "generator-to-comprehension"
    rationale = (
        "A comprehension runs its loop in one frame; a generator expression is resumed and "
        "suspended once per item."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "A generator expression that is the only argument of list/set/dict (for dict, its "
        "items written `(K, V)`) becomes the comprehension `[...]`/`{...}`/`{K: V ...}`; as "
        "the first argument of tuple, frozenset, sorted, sum, min, max (other arguments "
        "kept) or of `'sep'.join`, it becomes a list comprehension. Silent for any/all "
        "(they may stop early) and when the builtin is rebound. Differs when an element "
        "expression raises StopIteration (a generator turns it into RuntimeError, a "
        "comprehension lets it through); for the consumers the items are all computed "
        "before the builtin sees the first (memory for a list of them; and any interplay "
        "between computing an item and, say, adding it)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        names = {*_DISPLAYS, "dict", *_CONSUMERS}
        rebound = {name for name in names if context.rebinds(func, name)}
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.Call):
                continue
            name = node.func.value if isinstance(node.func, cst.Name) else None
            if name in rebound:
                continue
            if name is not None and name not in names:
                continue
            if _rewritten(node, name) is None:
                continue
            edits.replace_with(
                node,
                lambda n, name=name: _rewritten(n, name) or n,  # type: ignore[arg-type]
            )
        return _edits.apply_edits(func, edits) if edits else None
