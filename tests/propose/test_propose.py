"""The proposer's API: one candidate per rule that fires, combinations, and no exceptions."""

from __future__ import annotations

import ast
from typing import ClassVar

import libcst as cst
import pytest
from rule_testing import source

import perfloop.propose as propose
from perfloop.model import FunctionRef
from perfloop.propose import combine_rules, in_combination_order, propose_rule_candidates
from perfloop.propose.rules import RULES, Rule, RuleContext, Safety, rule_by_id

MODULE = source(
    '''
    """Reviews."""

    import re

    STOPWORDS = ["a", "the"]  # keep this comment


    def content_words(tokens):
        """Meaningful tokens, in order."""
        words = []
        for token in tokens:
            if token not in STOPWORDS:
                words.append(token)
        return words


    class Report:
        class Section:
            def lowest(self, prices):
                return sorted(prices)[0]


    def fib(n):
        return n if n < 2 else fib(n - 1) + fib(n - 2)
    '''
)


def ref(qualname: str) -> FunctionRef:
    return FunctionRef("shop.text", qualname)


CONTENT_WORDS_RULES = [
    "rule:set-membership",
    "rule:list-comprehension",
    "rule:hoist-attribute-lookup",
    "rule:hoist-global-lookup",
]


def test_one_candidate_per_rule_that_fires() -> None:
    candidates = propose_rule_candidates(ref("content_words"), "shop/text.py", MODULE)
    assert [c.origin for c in candidates] == CONTENT_WORDS_RULES
    by_origin = {c.origin: c for c in candidates}
    comprehension = by_origin["rule:list-comprehension"]
    assert comprehension.function == ref("content_words")
    assert comprehension.path == "shop/text.py"
    assert comprehension.rationale == rule_by_id("list-comprehension").rationale
    assert comprehension.function_source == source(
        '''
        def content_words(tokens):
            """Meaningful tokens, in order."""
            words = [token for token in tokens if token not in STOPWORDS]
            return words
        '''
    )
    # only the function changed: everything before and after it is byte for byte the same
    start = MODULE.index("def content_words")
    end = MODULE.index("class Report")
    assert comprehension.module_source.startswith(MODULE[:start])
    assert comprehension.module_source.endswith(MODULE[end:])


def test_method_of_a_nested_class() -> None:
    candidates = propose_rule_candidates(ref("Report.Section.lowest"), "t.py", MODULE)
    assert [c.origin for c in candidates] == ["rule:sorted-min-max"]
    assert candidates[0].function_source == ("def lowest(self, prices):\n    return min(prices)\n")
    assert "        def lowest(self, prices):\n            return min(prices)\n" in (
        candidates[0].module_source
    )


def test_imports_are_added_at_module_top() -> None:
    [candidate] = propose_rule_candidates(ref("fib"), "t.py", MODULE)
    assert candidate.origin == "rule:memoize-recursive"
    assert '"""Reviews."""\n\nimport re\nimport functools\n' in candidate.module_source
    ast.parse(candidate.module_source)


def test_version_gates_are_respected() -> None:
    assert propose_rule_candidates(ref("fib"), "t.py", MODULE, python_version=(3, 8)) == []
    assert len(propose_rule_candidates(ref("fib"), "t.py", MODULE, python_version=(3, 12))) == 1


@pytest.mark.parametrize(
    "qualname", ["missing", "Report.missing", "Report", "Missing.lowest", "Report.lowest"]
)
def test_function_not_found_gives_no_candidates(qualname: str) -> None:
    assert propose_rule_candidates(ref(qualname), "t.py", MODULE) == []


def test_unparsable_module_gives_no_candidates() -> None:
    assert propose_rule_candidates(ref("f"), "t.py", "def f(:\n") == []


class _Crashes(Rule):
    id = "crashes"
    rationale = "Always raises."
    safety = Safety.ALWAYS_EQUIVALENT
    description = "A rule with a bug."
    imports: ClassVar[tuple[tuple[str, str | None], ...]] = ()

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        raise RecursionError("odd code")


class _BreaksSyntax(Rule):
    id = "breaks-syntax"
    rationale = "Returns code that does not parse."
    safety = Safety.ALWAYS_EQUIVALENT
    description = "A rule with another bug."

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        bad = cst.parse_statement("x = 1\n").with_changes(
            body=[cst.Assign(targets=[cst.AssignTarget(cst.Integer("1"))], value=cst.Integer("2"))]
        )
        return func.with_changes(body=cst.IndentedBlock(body=[bad]))


def test_a_crashing_or_broken_rule_is_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(propose, "RULES", (_Crashes(), _BreaksSyntax(), *RULES))
    candidates = propose_rule_candidates(ref("content_words"), "t.py", MODULE)
    assert [c.origin for c in candidates] == CONTENT_WORDS_RULES


def test_combine_rules_applies_in_sequence() -> None:
    candidate = combine_rules(
        ref("content_words"), "t.py", MODULE, ["set-membership", "list-comprehension"]
    )
    assert candidate is not None
    assert candidate.origin == "rules:set-membership+list-comprehension"
    assert candidate.function_source == source(
        '''
        def content_words(tokens):
            """Meaningful tokens, in order."""
            STOPWORDS_set = set(STOPWORDS)
            words = [token for token in tokens if token not in STOPWORDS_set]
            return words
        '''
    )
    first, second = rule_by_id("set-membership"), rule_by_id("list-comprehension")
    assert candidate.rationale == f"{first.rationale}; {second.rationale}"


def test_rules_that_fired_combine_in_registry_order() -> None:
    module = source(
        """
        def specs(args):
            out = []
            for i in range(len(args)):
                out.append(convert(args[i]))
            return out
        """
    )
    candidates = propose_rule_candidates(ref("specs"), "t.py", module)
    fired = [c.origin.removeprefix("rule:") for c in candidates]
    assert fired == ["range-len-iteration", "list-comprehension", "hoist-attribute-lookup"]
    combined = combine_rules(ref("specs"), "t.py", module, fired[:2])
    assert combined is not None
    assert "out = [convert(args_item) for args_item in args]" in combined.function_source
    # the comprehension leaves no `out.append` to hoist: all three do not combine
    assert combine_rules(ref("specs"), "t.py", module, fired) is None


def test_combine_rules_is_none_unless_every_rule_fires() -> None:
    # after the comprehension there is no loop left for set-membership
    assert (
        combine_rules(
            ref("content_words"), "t.py", MODULE, ["list-comprehension", "set-membership"]
        )
        is None
    )
    assert combine_rules(ref("content_words"), "t.py", MODULE, []) is None
    assert combine_rules(ref("missing"), "t.py", MODULE, ["set-membership"]) is None
    assert combine_rules(ref("fib"), "t.py", MODULE, ["memoize-recursive"], (3, 8)) is None


def test_combine_rules_names_unknown_rules() -> None:
    with pytest.raises(ValueError, match=r"known rules are: .*set-membership"):
        combine_rules(ref("content_words"), "t.py", MODULE, ["set-membrship"])


def test_only_the_rules_asked_for() -> None:
    candidates = propose_rule_candidates(
        ref("content_words"), "t.py", MODULE, rule_ids=["list-comprehension", "str-join"]
    )
    assert [c.origin for c in candidates] == ["rule:list-comprehension"]
    assert propose_rule_candidates(ref("content_words"), "t.py", MODULE, rule_ids=[]) == []
    with pytest.raises(ValueError, match="there is no rule 'nope'"):
        propose_rule_candidates(ref("content_words"), "t.py", MODULE, rule_ids=["nope"])


def test_combination_order_is_the_registry_order() -> None:
    shuffled = ["memoize-recursive", "list-comprehension", "set-membership"]
    assert in_combination_order(shuffled) == [
        "set-membership",
        "list-comprehension",
        "memoize-recursive",
    ]
    with pytest.raises(ValueError, match="known rules"):
        in_combination_order(["nope"])


def test_a_module_level_constant_comes_with_the_function() -> None:
    module = source(
        """
        import re


        def skus(text):
            return re.findall(r"[A-Z]{3}-\\d{4}", text)
        """
    )
    [candidate] = propose_rule_candidates(ref("skus"), "t.py", module)
    assert candidate.origin == "rule:re-compile-hoist"
    assert candidate.module_source == source(
        """
        import re


        _SKUS_RE = re.compile(r"[A-Z]{3}-\\d{4}")


        def skus(text):
            return _SKUS_RE.findall(text)
        """
    )
    assert candidate.function_source == source(
        """
        _SKUS_RE = re.compile(r"[A-Z]{3}-\\d{4}")


        def skus(text):
            return _SKUS_RE.findall(text)
        """
    )
