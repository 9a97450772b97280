"""Trying rules together: singles first, then combinations of those that verified, the best
measured kept (search.combine_verified_rules), and choosing which rules run (--rules)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from rule_testing import source

from perfloop.config import ConfigError, load_settings
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    Measurement,
    Speedup,
    Verdict,
    VerdictStatus,
)
from perfloop.pipeline.candidates import combine_verified_rules
from perfloop.propose import propose_rule_candidates
from perfloop.propose.rules import FIRST_SET

REF = FunctionRef("shop.graph", "shortest_route")
MODULE = source(
    """
    def shortest_route(adjacency, start, goal):
        queue = [start]
        visited = [start]
        came_from = {}
        while queue:
            here = queue.pop(0)
            if here == goal:
                break
            for neighbour in adjacency[here]:
                if neighbour not in visited:
                    visited.append(neighbour)
                    came_from[neighbour] = here
                    queue.append(neighbour)
        return came_from
    """
)


def _result(candidate: Candidate, speedup: float | None, same: bool = True) -> CandidateResult:
    verdict = Verdict(VerdictStatus.EQUIVALENT if same else VerdictStatus.DIFFERENT, (), 1, 0.0)
    measurement = None
    if same and speedup is not None:
        ratio = Speedup(speedup, speedup * 0.95, speedup * 1.05, 10, 1.0, 1.0 / speedup, "test")
        measurement = Measurement(ratio, faster=speedup > 1.05)
    return CandidateResult(candidate, GateResult(True), verdict, measurement)


def _singles(speedups: dict[str, float | None]) -> list[CandidateResult]:
    candidates = propose_rule_candidates(REF, "shop/graph.py", MODULE)
    return [
        _result(c, speedups.get(c.origin.removeprefix("rule:")), c.origin != "rule:differs")
        for c in candidates
        if c.origin.removeprefix("rule:") in speedups
    ]


def test_greedy_combination_keeps_what_helps() -> None:
    singles = _singles(
        {"membership-list-to-set": 9.0, "deque-queue": 1.3, "hoist-attribute-lookup": 0.9}
    )
    evaluated: list[str] = []

    def evaluate(candidate: Candidate) -> CandidateResult:
        evaluated.append(candidate.origin)
        speedup = {
            "rules:membership-list-to-set+deque-queue": 11.0,
            "rules:membership-list-to-set+deque-queue+hoist-attribute-lookup": 10.5,
        }[candidate.origin]
        return _result(candidate, speedup)

    combinations = combine_verified_rules(REF, "shop/graph.py", MODULE, singles, evaluate)
    # best single first, then each other one added in turn, applied in registry order
    assert evaluated == [
        "rules:membership-list-to-set+deque-queue",
        "rules:membership-list-to-set+deque-queue+hoist-attribute-lookup",
    ]
    assert [r.measurement.gain for r in combinations] == [11.0, 10.5]  # type: ignore[union-attr]
    both = combinations[0].candidate.function_source
    assert "visited = {start}" in both and "queue.popleft()" in both


def test_an_addition_that_does_not_help_is_dropped() -> None:
    singles = _singles(
        {"membership-list-to-set": 9.0, "deque-queue": 1.3, "hoist-attribute-lookup": 1.1}
    )
    evaluated: list[str] = []

    def evaluate(candidate: Candidate) -> CandidateResult:
        evaluated.append(candidate.origin)
        return _result(candidate, 8.0)  # every combination is slower than the best single

    combine_verified_rules(REF, "shop/graph.py", MODULE, singles, evaluate)
    assert evaluated == [
        "rules:membership-list-to-set+deque-queue",
        "rules:membership-list-to-set+hoist-attribute-lookup",
    ]


def test_only_rules_that_verified_are_combined() -> None:
    singles = _singles({"membership-list-to-set": 9.0, "deque-queue": 1.3})
    singles[1] = _result(singles[1].candidate, None, same=False)
    calls: list[Candidate] = []
    assert combine_verified_rules(REF, "p.py", MODULE, singles, calls.append) == []  # type: ignore[arg-type]
    assert calls == []


def test_a_rule_judged_on_the_whole_workload_is_not_combined() -> None:
    """A candidate that keeps answers between calls has a whole-workload ratio (1.2x
    here): set against the others' function ratios, it would be combined by a ratio
    that means something else, at the price of another whole-workload A/B."""
    singles = _singles({"membership-list-to-set": 9.0, "deque-queue": 1.3})
    learner = singles[1]
    assert learner.measurement is not None
    singles[1] = replace(learner, measurement=replace(learner.measurement, learns=True))
    calls: list[Candidate] = []
    assert combine_verified_rules(REF, "p.py", MODULE, singles, calls.append) == []  # type: ignore[arg-type]
    assert calls == []


def test_rules_setting_from_flag_and_file(tmp_path: Path) -> None:
    settings = load_settings(tmp_path, {"rules": "set-membership, str-join"})
    assert settings.rules == ("set-membership", "str-join")
    (tmp_path / "pyproject.toml").write_text(
        "[tool.perfloop]\nrules = " + repr(list(FIRST_SET)).replace("'", '"') + "\n"
    )
    assert load_settings(tmp_path, {}).rules == FIRST_SET
    with pytest.raises(ConfigError, match=r"there is no rule 'set-membrship'.*known rules"):
        load_settings(tmp_path, {"rules": "set-membrship"})
    assert load_settings(Path(tmp_path / "x"), {}).rules == ()
