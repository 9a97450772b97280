"""The registry of rewrite rules, in the order they are tried.

Each rule lives in its own module (`<id with underscores>.py`) next to this one,
with `EXAMPLE_FIRES` and `EXAMPLE_SILENT` sources that the registry meta-test runs.
"""

from __future__ import annotations

from perfloop.propose.rules.base import Rule, RuleContext, Safety
from perfloop.propose.rules.list_comprehension import ListComprehension
from perfloop.propose.rules.memoize_recursive import MemoizeRecursive
from perfloop.propose.rules.range_len_iteration import RangeLenIteration
from perfloop.propose.rules.set_membership import SetMembership
from perfloop.propose.rules.sorted_min_max import SortedMinMax
from perfloop.propose.rules.str_join import StrJoin

# The order is the order of application in combinations (`combine_rules` with the
# ids of the rules that fired, in this order): rules that keep a loop a loop come
# before the ones that turn it into a comprehension, and memoize-recursive, which
# moves the body into an inner function, comes last.
RULES: tuple[Rule, ...] = (
    SetMembership(),
    RangeLenIteration(),
    ListComprehension(),
    StrJoin(),
    SortedMinMax(),
    MemoizeRecursive(),
)


def rule_by_id(rule_id: str) -> Rule:
    """The registered rule with this id; ValueError naming the known ids otherwise."""
    for rule in RULES:
        if rule.id == rule_id:
            return rule
    known = ", ".join(rule.id for rule in RULES)
    raise ValueError(f"there is no rule {rule_id!r}; the known rules are: {known}")


__all__ = ["RULES", "Rule", "RuleContext", "Safety", "rule_by_id"]
