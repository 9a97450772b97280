"""counting-dict-get: `if k in d: d[k] += 1 else: d[k] = 1` becomes one `d.get`.

    if word in counts:                        counts[word] = counts.get(word, 0) + 1
        counts[word] += 1             →
    else:
        counts[word] = 1

A hit costs two dict operations (get, store) instead of three (test, load, store),
and there is no branch.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _counting, _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def tally(totals, sku, qty):
    if sku in totals:
        totals[sku] += qty
    else:
        totals[sku] = qty
    return totals
"""

EXAMPLE_SILENT = """
def tally(totals, sku, qty):
    if sku in totals:
        totals[sku] += qty
    else:
        totals[sku] = 2 * qty
    return totals
"""


def get_statement(step: _counting.CountingStep) -> cst.SimpleStatementLine:
    """`D[K] = D.get(K, 0) + V`."""
    dictionary = cst.Name(step.dictionary)
    get = cst.Call(
        func=cst.Attribute(value=dictionary, attr=cst.Name("get")),
        args=[cst.Arg(step.key), cst.Arg(cst.Integer("0"))],
    )
    target = cst.Subscript(value=dictionary, slice=[cst.SubscriptElement(cst.Index(step.key))])
    value = cst.BinaryOperation(left=get, operator=cst.Add(), right=step.increment)
    return cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(target)], value=value)]
    )


class CountingDictGet(Rule):
    id = "counting-dict-get"
    rationale = (
        "d[k] = d.get(k, 0) + n does two dict operations where the if/else does three, "
        "without a branch."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`if K in D: D[K] += V` + `else: D[K] = V` (or `not in` with the branches swapped), "
        "with D a plain name and K, V names or literals, becomes `D[K] = D.get(K, 0) + V`. "
        "Differs when V is not a number (`0 + V` raises where `D[K] = V` stored it) or is "
        "-0.0 (`0 + -0.0` is 0.0), for "
        "mappings whose get/__contains__ disagree with __getitem__ (a defaultdict's default "
        "is not created by get), and in how often K is hashed."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            step = _counting.if_else_step(node)
            if step is None:
                continue
            new = get_statement(step)
            edits.replace_with(
                node,
                lambda old, new=new: new.with_changes(leading_lines=old.leading_lines),  # type: ignore[attr-defined]
            )
        return _edits.apply_edits(func, edits) if edits else None
