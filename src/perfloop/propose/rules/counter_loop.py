"""counter-loop: a loop that counts occurrences into an empty dict becomes `Counter`.

    counts = {}                               counts = dict(collections.Counter(iter(words)))
    for word in words:                →
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1

collections.Counter counts in C, in order of first occurrence like the loop;
`dict(...)` gives back a plain dict, `iter(...)` makes sure a mapping is counted by
its keys (Counter would take a mapping's values as counts).
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _accumulate, _counting, _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def word_frequencies(words):
    counts = {}
    for word in words:
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1
    return counts
"""

EXAMPLE_SILENT = """
def word_frequencies(words):
    counts = {}
    for word in words:
        if word in counts:
            counts[word] += 1
        else:
            counts[word] = 1
        print(counts)
    return counts
"""


def _is_empty_dict(value: cst.BaseExpression) -> bool:
    return (isinstance(value, cst.Dict) and not value.elements) or (
        _edits.is_call_to(value, "dict") and not value.args  # type: ignore[attr-defined]
    )


def _counted_key(
    step: _counting.CountingStep | None, name: str
) -> tuple[cst.BaseExpression, ...] | None:
    if step is None or step.dictionary != name or not _counting.adds_one(step):
        return None
    return (step.key,)


def _if_else_body(
    body: cst.BaseSuite, name: str
) -> tuple[tuple[cst.BaseExpression, ...], cst.BaseExpression | None] | None:
    parts = _counted_key(_counting.if_else_step(_tools.single_statement(body)), name)
    return None if parts is None else (parts, None)


def _get_step(
    statement: cst.BaseSmallStatement, name: str
) -> tuple[cst.BaseExpression, ...] | None:
    return _counted_key(_counting.get_step(statement), name)


def _counter(loop: _accumulate.AccumulatorLoop) -> cst.BaseExpression:
    key = loop.parts[0]
    target = loop.loop.target
    if (
        loop.condition is None
        and isinstance(key, cst.Name)
        and isinstance(target, cst.Name)
        and key.value == target.value
    ):
        counted: cst.BaseExpression = cst.Call(
            func=cst.Name("iter"), args=[cst.Arg(loop.loop.iter)]
        )
    else:
        counted = cst.GeneratorExp(
            elt=_accumulate.element(key), for_in=loop.comprehension_for(), lpar=[], rpar=[]
        )
    counter = cst.Call(
        func=cst.Attribute(value=cst.Name("collections"), attr=cst.Name("Counter")),
        args=[cst.Arg(counted)],
    )
    return cst.Call(func=cst.Name("dict"), args=[cst.Arg(counter)])


PATTERNS = (
    _accumulate.Pattern(
        is_empty_start=_is_empty_dict,
        step_parts=lambda statement, name: None,
        replacement=_counter,
        match_body=_if_else_body,
    ),
    _accumulate.Pattern(is_empty_start=_is_empty_dict, step_parts=_get_step, replacement=_counter),
)


class CounterLoop(Rule):
    id = "counter-loop"
    rationale = (
        "collections.Counter counts all items in C, in the same first-seen order as the loop."
    )
    safety = Safety.NEEDS_VERIFICATION
    imports = (("collections", None),)
    description = (
        "`NAME = {}` directly followed by `for T in ITER:` whose body only counts K into NAME "
        "(`if K in NAME: NAME[K] += 1 else: NAME[K] = 1`, or `NAME[K] = NAME.get(K, 0) + 1` "
        "optionally under one `if COND:`), K a name or literal, becomes "
        "`NAME = dict(collections.Counter(iter(ITER)))` when K is the loop variable, else "
        "`dict(collections.Counter(K for T in ITER if COND))`. Silent under the conditions "
        "of list-comprehension (loop names used after the loop, try/with around it, ...), "
        "when dict/iter are rebound or the module binds `collections` to something else. "
        "Differs in how often each key is hashed and compared (objects with unusual "
        "__hash__/__eq__) and, for a key that cannot be hashed, in how far the count got "
        "before the TypeError (invisible: the dict is not assigned)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        bindings = context.module_bindings
        if "collections" in bindings and not _edits.imported_as(
            bindings, "collections", "collections"
        ):
            return None
        if "collections" in _tools.bound_names(func):
            return None
        if any(context.rebinds(func, name) for name in ("dict", "iter")):
            return None
        return _accumulate.rewrite_accumulator_loops(func, PATTERNS)
