"""The self-check: mutants of the original measure how strong a target's verification is,
and --apply leaves weakly verified targets alone unless --accept-weak."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.config import load_settings
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    Limits,
    VerificationStrength,
)
from perfloop.pipeline import optimize
from perfloop.pipeline.merge import strongly_verified_changes
from perfloop.results import TargetResult, TargetStatus
from perfloop.verification import FuzzSettings, VerifySettings, measure_strength, prepare_target
from perfloop.verification.project_tests import index_tests, select_tests

LIB = '''
def shipping(total):
    """Free shipping from 50."""
    if total >= 50:
        return 0
    return 5
'''

BENCH = """
from shop import shipping

for total in (10, 20, 75, 120):
    shipping(total)
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)


@pytest.fixture(scope="module")
def captured(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("strength")
    (root / "shop.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    ref = FunctionRef("shop", "shipping")
    return root, ref, capture_calls("python bench.py", root, [ref])[ref]


def strength_with(captured, settings: VerifySettings) -> VerificationStrength:
    root, ref, capture = captured
    plan = prepare_target(ref, "shop.py", LIB, capture, root=root, settings=settings, limits=LIMITS)
    return measure_strength(plan, root=root, limits=LIMITS)


@pytest.mark.slow
def test_replay_alone_is_weak_where_the_workload_never_reaches_a_boundary(captured) -> None:
    strength = strength_with(captured, VerifySettings(tiers=("replay",)))
    assert strength.generated >= 8
    assert 0 < strength.killed < strength.generated
    assert strength.score == strength.killed / strength.generated
    assert strength.weak
    assert dict(strength.killed_by) == {"replay": strength.killed}
    assert any("`>=` to `>`" in survivor for survivor in strength.survivors)


@pytest.mark.slow
def test_fuzzing_makes_the_same_target_strongly_verified(captured) -> None:
    weak = strength_with(captured, VerifySettings(tiers=("replay",)))
    strong = strength_with(
        captured,
        VerifySettings(tiers=("replay", "fuzz"), mutant_fuzz=FuzzSettings(50, 2.0)),
    )
    assert strong.generated == weak.generated
    assert strong.killed > weak.killed
    assert not strong.weak and strong.score is not None and strong.score >= 0.8
    assert dict(strong.killed_by).get("fuzz", 0) >= 1


def _improved(name: str, path: str, strength: VerificationStrength | None) -> TargetResult:
    ref = FunctionRef("shop", name)
    source = f"def {name}():\n    return 2\n"
    candidate = Candidate(ref, "rule:x", "x", source, source, path)
    best = CandidateResult(candidate, GateResult(True))
    return TargetResult(ref, 0.5, TargetStatus.IMPROVED, None, 3, (best,), best, strength)


def test_apply_leaves_out_weakly_verified_targets_unless_accept_weak() -> None:
    weak = VerificationStrength(3, 10, 0, 0.8, 1.0, survivors=("line 3: `<` to `<=`",))
    strong = VerificationStrength(10, 10, 0, 0.8, 1.0)
    results = [_improved("a", "a.py", weak), _improved("b", "b.py", strong)]
    sources = {
        FunctionRef("shop", "a"): ("a.py", "def a():\n    return 1\n"),
        FunctionRef("shop", "b"): ("b.py", "def b():\n    return 1\n"),
    }
    changes, notes = strongly_verified_changes(results, sources, accept_weak=False)
    assert [c.path for c in changes] == ["b.py"]
    assert len(notes) == 1 and "shop:a was not applied" in notes[0]
    assert "strength 30%" in notes[0] and "--accept-weak" in notes[0]
    changes, notes = strongly_verified_changes(results, sources, accept_weak=True)
    assert sorted(c.path for c in changes) == ["a.py", "b.py"] and notes == []


WAYS = """
def ways(amount, coins):
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])
"""

WAYS_BENCH = """
from shop import ways

print(sum(ways(n, (1, 2, 5, 10)) for n in range(60, 66)))
"""


@pytest.mark.slow
def test_a_weakly_verified_improvement_is_reported_but_applied_only_with_accept_weak(
    make_project,
) -> None:
    root = make_project({"shop.py": WAYS, "bench.py": WAYS_BENCH})
    common = {
        "workload": "python bench.py",
        "functions": ["shop:ways"],
        "apply": True,
        "fuzz_examples": 0,
        "symbolic_seconds": 0.0,
        "min_strength": 1.0,  # `amount < 0` to `amount <= 0` is equivalent: it always survives
        "measure_processes": 2,
    }
    result = optimize(load_settings(root, common))
    target = result.targets[0]
    assert target.status is TargetStatus.IMPROVED and target.weakly_verified
    assert not result.applied
    assert (root / "shop.py").read_text() == WAYS.lstrip("\n")
    assert any("--accept-weak" in note for note in result.notes)
    document = json.loads((Path(result.run_dir) / "results.json").read_text())
    assert document["targets"][0]["weakly_verified"] is True
    assert document["targets"][0]["strength"]["generated"] >= 10
    assert "WEAKLY VERIFIED" in (Path(result.run_dir) / "report.md").read_text()

    accepted = optimize(load_settings(root, {**common, "accept_weak": True}))
    assert accepted.applied
    assert "functools" in (root / "shop.py").read_text()


SHOP_TESTS = """
from shop import shipping


def test_free_from_fifty():
    assert shipping(50) == 0
    assert shipping(49) == 5
    assert shipping(51) == 0
"""


@pytest.fixture(scope="module")
def with_tests(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("strength_tests")
    (root / "shop.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    (root / "tests").mkdir()
    (root / "tests" / "test_shop.py").write_text(SHOP_TESTS)
    ref = FunctionRef("shop", "shipping")
    return root, ref, capture_calls("python bench.py", root, [ref])[ref]


def strength_with_tests(with_tests, settings: VerifySettings) -> VerificationStrength:
    root, ref, capture = with_tests
    tests = select_tests(index_tests(root, LIMITS), root, ref, "shop.py", LIB)
    plan = prepare_target(
        ref, "shop.py", LIB, capture, root=root, settings=settings, limits=LIMITS, tests=tests
    )
    return measure_strength(plan, root=root, limits=LIMITS)


@pytest.mark.slow
def test_the_self_check_stops_running_the_tests_once_the_threshold_is_met(with_tests) -> None:
    """Mutants the replay lets through each cost a run of the project's tests; once enough
    are told apart for the threshold, the rest are not run, and the strength says so."""
    tiers = ("replay", "tests")
    full = strength_with_tests(with_tests, VerifySettings(tiers=tiers, min_strength=1.0))
    replayed = dict(full.killed_by)["replay"]
    assert dict(full.killed_by).get("tests", 0) >= 2 and full.note is None
    # a threshold one kill above what the replay alone achieves
    threshold = (replayed + 1) / full.generated
    early = strength_with_tests(with_tests, VerifySettings(tiers=tiers, min_strength=threshold))
    assert early.generated == full.generated
    assert early.killed == replayed + 1 < full.killed
    assert not early.weak
    assert "stopped once the threshold was met" in (early.note or "")
    assert "--min-strength 1" in (early.note or "")


OTHER_TESTS = """
from shop import shipping


def test_small_orders_pay():
    assert shipping(10) == 5


def test_big_orders_are_free():
    assert shipping(120) == 0
"""


@pytest.fixture(scope="module")
def with_suite(tmp_path_factory: pytest.TempPathFactory):
    """Tests that every boundary mutant passes come first in the suite, the one that
    tells them apart last."""
    root = tmp_path_factory.mktemp("strength_suite")
    (root / "shop.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    (root / "tests").mkdir()
    (root / "tests" / "test_a_orders.py").write_text(OTHER_TESTS)
    (root / "tests" / "test_b_boundary.py").write_text(SHOP_TESTS)
    ref = FunctionRef("shop", "shipping")
    return root, ref, capture_calls("python bench.py", root, [ref])[ref]


@pytest.mark.slow
def test_the_test_that_killed_a_mutant_runs_first_on_the_next(with_suite, monkeypatch) -> None:
    """The self-check's runs of the project's tests: a mutant the replay lets through is
    first run against the tests that killed earlier ones, alone, and the original's run
    that confirms a failure is made once per failing prefix, not once per mutant."""
    from perfloop.verification import project_tests

    runs: list[tuple[bool, tuple[str, ...]]] = []  # (the original?, the tests run)
    real_run = project_tests._run

    def counted(root, plan, source, node_ids, *rest):
        runs.append((source is None, tuple(node_ids)))
        return real_run(root, plan, source, node_ids, *rest)

    monkeypatch.setattr(project_tests, "_run", counted)
    strength = strength_with_tests(
        with_suite, VerifySettings(tiers=("replay", "tests"), min_strength=1.0)
    )
    by_tests = dict(strength.killed_by).get("tests", 0)
    assert by_tests >= 3  # `>=` to `>`, 50 to 49, 50 to 51: no recorded call is near 50
    boundary = "tests/test_b_boundary.py::test_free_from_fifty"
    alone = [tests for original, tests in runs if not original and tests == (boundary,)]
    assert len(alone) >= by_tests - 1  # every kill after the first, by that test alone
    originals = [tests for original, tests in runs if original]
    assert len(originals) <= 2 < by_tests  # the whole prefix once, the test alone once
