"""propose: candidate new versions of a hot function.

Rule-based proposals (no LLM needed) come from `propose_rule_candidates`: every
registered rule that fires on the function gives one candidate. `combine_rules`
applies several rules in sequence, for trying combinations; `in_combination_order`
puts rule ids in the order that works (the registry's).
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Collection, Sequence

import libcst as cst

from perfloop.model import Candidate, FunctionRef
from perfloop.propose.apply import apply_rule
from perfloop.propose.rules import RULES, rule_by_id
from perfloop.propose.rules.base import ModuleFacts

_CURRENT_PYTHON = (sys.version_info[0], sys.version_info[1])


def propose_rule_candidates(
    function: FunctionRef,
    path: str,
    module_source: str,
    python_version: tuple[int, int] = _CURRENT_PYTHON,
    rule_ids: Collection[str] | None = None,
) -> list[Candidate]:
    """One candidate per registered rule that fires on `function` in `module_source`.

    `path` is the module's path relative to the project root (stored on each
    candidate). Rules whose python version gates exclude `python_version` are not
    tried; with `rule_ids`, only those rules are (an unknown id raises ValueError
    naming the known ones). Otherwise never raises: a module that does not parse,
    a function that is not there, or a rule that crashes on odd code just give
    fewer candidates.
    """
    wanted = None if rule_ids is None else {rule_by_id(rule_id).id for rule_id in rule_ids}
    try:
        module, facts = _parsed(module_source)
    except Exception:
        return []
    candidates = []
    for rule in RULES:
        if not rule.supports(python_version) or (wanted is not None and rule.id not in wanted):
            continue
        try:
            rewritten = apply_rule(module, function.qualname, rule, facts)
        except Exception:
            continue  # a rule that cannot handle this code simply does not fire
        if rewritten is not None:
            candidates.append(
                Candidate(
                    function=function,
                    origin=f"rule:{rule.id}",
                    rationale=rule.rationale,
                    module_source=rewritten.module_source,
                    function_source=rewritten.function_source,
                    path=path,
                )
            )
    return candidates


@functools.lru_cache(maxsize=8)
def _parsed(module_source: str) -> tuple[cst.Module, ModuleFacts]:
    """A module's tree and facts, parsed once for the rules of all its functions (libcst
    trees are immutable; pyparsing's core.py takes about a second to parse)."""
    module = cst.parse_module(module_source)
    return module, ModuleFacts(module, module_source)


def combine_rules(
    function: FunctionRef,
    path: str,
    module_source: str,
    rule_ids: Sequence[str],
    python_version: tuple[int, int] = _CURRENT_PYTHON,
) -> Candidate | None:
    """One candidate with the rules `rule_ids` applied in that order, origin `rules:<id>+<id>`.

    None unless every listed rule fires (in sequence, each on the previous one's
    output) and supports `python_version`, so the origin says exactly what was
    applied. Unknown rule ids raise ValueError naming the known ones; anything
    else (unparsable source, a crashing rule) gives None.
    """
    rules = [rule_by_id(rule_id) for rule_id in rule_ids]
    if not rules or not all(rule.supports(python_version) for rule in rules):
        return None
    source = module_source
    function_source = ""
    for rule in rules:
        try:
            module = cst.parse_module(source)
            rewritten = apply_rule(module, function.qualname, rule, ModuleFacts(module, source))
        except Exception:
            return None
        if rewritten is None:
            return None
        source, function_source = rewritten.module_source, rewritten.function_source
    return Candidate(
        function=function,
        origin="rules:" + "+".join(rule.id for rule in rules),
        rationale="; ".join(rule.rationale for rule in rules),
        module_source=source,
        function_source=function_source,
        path=path,
    )


def in_combination_order(rule_ids: Collection[str]) -> list[str]:
    """`rule_ids` in the registry's order, the order in which combinations apply.

    Rules that keep a loop a loop come before those that replace it by one
    expression, so both can apply; unknown ids raise ValueError.
    """
    wanted = {rule_by_id(rule_id).id for rule_id in rule_ids}
    return [rule.id for rule in RULES if rule.id in wanted]


__all__ = ["combine_rules", "in_combination_order", "propose_rule_candidates"]
