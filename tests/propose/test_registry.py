"""The registry's contract: every rule is complete, documented, tested and shown to work."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest
from rule_testing import rewrite

from perfloop.propose.rules import FAMILIES, FIRST_SET, RULES, Rule, Safety, rule_by_id

TESTS = Path(__file__).parent
DOCS = (TESTS.parent.parent / "docs" / "rules.md").read_text(encoding="utf-8")
KEBAB = re.compile(r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$")


def _module_of(rule: Rule):
    return importlib.import_module(type(rule).__module__)


def _example_qualname(rule: Rule) -> str | None:
    """The function the examples are about: `EXAMPLE_QUALNAME` (a method, `Class.m`) if the
    rule's module sets it, else the first top-level function."""
    return getattr(_module_of(rule), "EXAMPLE_QUALNAME", None)


def test_ids_are_unique_kebab_case() -> None:
    ids = [rule.id for rule in RULES]
    assert len(ids) == len(set(ids))
    for rule_id in ids:
        assert KEBAB.match(rule_id), rule_id


def test_rule_by_id_finds_each_and_names_the_known_ones() -> None:
    for rule in RULES:
        assert rule_by_id(rule.id) is rule
    with pytest.raises(ValueError, match="set-membership"):
        rule_by_id("no-such-rule")


def test_every_rule_is_in_exactly_one_family() -> None:
    in_families = [rule_id for members in FAMILIES.values() for rule_id in members]
    assert sorted(in_families) == sorted(rule.id for rule in RULES)
    assert set(FAMILIES) == {"loops", "data structures", "calls", "algorithmic"}


def test_the_first_set_is_registered() -> None:
    assert len(FIRST_SET) == 6
    for rule_id in FIRST_SET:
        rule_by_id(rule_id)


def test_rules_that_depend_on_the_python_version_say_so() -> None:
    """sum() of floats is compensated from 3.12: a loop-to-sum rewrite changes bits there."""
    assert rule_by_id("sum-loop").max_python == (3, 11)
    assert "3.12" in rule_by_id("sum-loop").description


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
class TestEveryRule:
    def test_lives_in_its_own_module(self, rule: Rule) -> None:
        assert type(rule).__module__ == "perfloop.propose.rules." + rule.id.replace("-", "_")

    def test_has_a_one_line_rationale_and_a_description(self, rule: Rule) -> None:
        assert rule.rationale.strip() and "\n" not in rule.rationale
        assert len(rule.rationale) <= 160
        assert rule.description.strip()

    def test_has_a_safety_class(self, rule: Rule) -> None:
        assert isinstance(rule.safety, Safety)

    def test_version_gates_are_pairs(self, rule: Rule) -> None:
        for gate in (rule.min_python, rule.max_python):
            assert gate is None or (len(gate) == 2 and all(isinstance(v, int) for v in gate))
        assert rule.supports((3, 13)) or rule.max_python is not None

    def test_imports_are_module_name_pairs(self, rule: Rule) -> None:
        for module, name in rule.imports:
            assert module and (name is None or name.isidentifier())

    def test_has_a_test_file(self, rule: Rule) -> None:
        assert (TESTS / f"test_{rule.id.replace('-', '_')}.py").is_file()

    def test_example_fires(self, rule: Rule) -> None:
        example = _module_of(rule).EXAMPLE_FIRES
        rewritten = rewrite(rule, example, _example_qualname(rule))
        assert rewritten is not None and rewritten != example

    def test_example_stays_silent(self, rule: Rule) -> None:
        assert rewrite(rule, _module_of(rule).EXAMPLE_SILENT, _example_qualname(rule)) is None

    def test_has_a_micro_benchmark_in_the_docs(self, rule: Rule) -> None:
        row = next(
            (line for line in DOCS.splitlines() if line.startswith(f"| `{rule.id}` |")), None
        )
        assert row is not None, f"docs/rules.md has no row for {rule.id}"
        assert re.search(r"\d\.\d+×", row), f"the row for {rule.id} has no speedup figure"
