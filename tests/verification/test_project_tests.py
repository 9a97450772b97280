"""Tier 3: the project's own tests that execute a target judge its candidates."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.verification import VerifySettings, prepare_target, verify_candidate
from perfloop.verification.project_tests import index_tests, select_tests

LIB = """
def shipping(total):
    return 0 if total >= 50 else 5


def label(x):
    return str(x)
"""

BENCH = """
from shop import label, shipping

for total in (10, 20, 75, 120):
    shipping(total)
    label(total)
"""

TESTS = """
from shop import shipping


def test_free_from_fifty():
    assert shipping(50) == 0


def test_small_orders_pay():
    assert shipping(49) == 5


def test_unrelated():
    assert 1 + 1 == 2
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)
TESTS_ONLY = VerifySettings(tiers=("replay", "tests"))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tier3")
    (root / "shop.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    (root / "tests").mkdir()
    (root / "tests" / "test_shop.py").write_text(TESTS)
    return root


def plan_for(root: Path, qualname: str):
    ref = FunctionRef("shop", qualname)
    capture = capture_calls("python bench.py", root, [ref])[ref]
    tests = select_tests(index_tests(root, LIMITS), root, ref, "shop.py", LIB)
    plan = prepare_target(
        ref, "shop.py", LIB, capture, root=root, settings=TESTS_ONLY, limits=LIMITS, tests=tests
    )
    return ref, plan


@pytest.mark.slow
def test_only_the_tests_that_execute_the_target_are_selected(project: Path) -> None:
    index = index_tests(project, LIMITS)
    assert index.problem is None and index.collected == 3
    shipping = select_tests(index, project, FunctionRef("shop", "shipping"), "shop.py", LIB)
    assert sorted(shipping.node_ids) == [
        "tests/test_shop.py::test_free_from_fifty",
        "tests/test_shop.py::test_small_orders_pay",
    ]
    label = select_tests(index, project, FunctionRef("shop", "label"), "shop.py", LIB)
    assert label.node_ids == () and "none of the project's 3 tests executes shop:label" in (
        label.note or ""
    )


@pytest.mark.slow
def test_a_candidate_that_breaks_a_test_is_rejected_and_the_test_is_named(project: Path) -> None:
    ref, plan = plan_for(project, "shipping")
    source = LIB.replace("total >= 50", "total > 50")  # the workload never ships exactly 50
    verdict = verify_candidate(
        Candidate(ref, "test", "test", source, "", "shop.py"), plan, root=project, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.DIFFERENT
    assert [(r.tier, r.outcome) for r in verdict.runs] == [
        ("replay", "same"),
        ("tests", "different"),
    ]
    assert verdict.difference.tier == "tests"
    assert verdict.difference.call == "tests/test_shop.py::test_free_from_fifty"
    assert "assert 5 == 0" in verdict.difference.description


@pytest.mark.slow
def test_a_candidate_that_keeps_the_tests_green_passes_the_tier(project: Path) -> None:
    ref, plan = plan_for(project, "shipping")
    source = LIB.replace("return 0 if total >= 50 else 5", "return 5 if total < 50 else 0")
    verdict = verify_candidate(
        Candidate(ref, "test", "test", source, "", "shop.py"), plan, root=project, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.EQUIVALENT
    tests = next(r for r in verdict.runs if r.tier == "tests")
    assert tests.outcome == "same" and tests.inputs == 2


@pytest.mark.slow
def test_a_project_without_tests_skips_the_tier_and_says_so(make_project) -> None:
    root = make_project({"shop.py": LIB, "bench.py": BENCH})
    index = index_tests(root, LIMITS)
    assert index.problem == "the project has no tests (pytest found none)"
    selection = select_tests(index, root, FunctionRef("shop", "shipping"), "shop.py", LIB)
    ref = FunctionRef("shop", "shipping")
    capture = capture_calls("python bench.py", root, [ref])[ref]
    plan = prepare_target(
        ref, "shop.py", LIB, capture, root=root, settings=TESTS_ONLY, limits=LIMITS, tests=selection
    )
    verdict = verify_candidate(
        Candidate(ref, "test", "test", LIB, "", "shop.py"), plan, root=root, limits=LIMITS
    )
    tests = next(r for r in verdict.runs if r.tier == "tests")
    assert (
        tests.outcome == "skipped" and tests.note == "the project has no tests (pytest found none)"
    )
    assert verdict.tiers == ("replay",)


ON_DISK = LIB.lstrip("\n")  # shop.py as make_project writes it
FASTER = ON_DISK.replace("return 0 if total >= 50 else 5", "return 5 if total < 50 else 0")


def judge_with_tests(root: Path, source: str, settings: VerifySettings = TESTS_ONLY):
    """Index the tests of the project at `root`, then verify `source` as shop.py there:
    the selection of shop:shipping's tests and the verdict."""
    ref = FunctionRef("shop", "shipping")
    original = (root / "shop.py").read_text()
    capture = capture_calls("python bench.py", root, [ref])[ref]
    tests = select_tests(index_tests(root, LIMITS), root, ref, "shop.py", original)
    plan = prepare_target(
        ref, "shop.py", original, capture, root=root, settings=settings, limits=LIMITS, tests=tests
    )
    candidate = Candidate(ref, "test", "test", source, "", "shop.py")
    return tests, verify_candidate(candidate, plan, root=root, limits=LIMITS)


SLOW_TESTS = """
import time

from shop import shipping


def test_free_from_fifty():
    assert shipping(50) == 0


def test_small_orders_pay():
    assert shipping(49) == 5


def test_slow_big_order():
    time.sleep(9)
    assert shipping(1000) == 0
"""


@pytest.mark.slow
def test_a_function_the_whole_suite_runs_is_judged_by_its_fastest_tests_within_budget(
    make_project,
) -> None:
    root = make_project({"shop.py": LIB, "bench.py": BENCH, "tests/test_shop.py": SLOW_TESTS})
    settings = VerifySettings(tiers=("replay", "tests"), candidate_seconds=24.0)
    tests, verdict = judge_with_tests(root, FASTER, settings)
    assert tests.node_ids[-1] == "tests/test_shop.py::test_slow_big_order"  # suite order
    run = next(r for r in verdict.runs if r.tier == "tests")
    assert verdict.status is VerdictStatus.EQUIVALENT and run.inputs == 2
    assert (
        run.note
        == "ran the 2 fastest of the 3 tests that execute it, within the candidate's budget"
    )


ONE_SLOW_TEST = """
import time

from shop import shipping


def test_a_big_order_after_a_slow_setup():
    time.sleep(4)
    assert shipping(1000) == 0
"""


def test_tests_cut_short_by_the_candidates_budget_say_so_and_what_to_raise(make_project) -> None:
    # tomlkit 0.13.2: the parser's methods are run by tests that take seconds; under load
    # replay, fuzz and interaction left 10 s of the 60 s budget, and the tests tier said
    # only "the tests did not complete: did not finish within 10.0149 s and was killed"
    root = make_project({"shop.py": LIB, "bench.py": BENCH, "tests/test_shop.py": ONE_SLOW_TEST})
    settings = VerifySettings(tiers=("tests",), candidate_seconds=2.0)
    _, verdict = judge_with_tests(root, FASTER, settings)
    run = next(r for r in verdict.runs if r.tier == "tests")
    # the only tier, given the whole budget: failed (a hang looks the same), with the way out
    assert run.outcome == "failed" and verdict.status is VerdictStatus.FAILED
    assert "did not finish within" in run.note
    assert "the candidate's verification budget (2 s) ran out while it ran" in run.note
    assert run.note.endswith("give each candidate more time with --candidate-timeout")


ORDER_DEPENDENT_TESTS = """
import time

from shop import shipping

LEFT_BEHIND = []


def test_a_slow_setup():
    time.sleep(0.4)
    assert shipping(60) == 0


def test_b_expects_a_clean_slate():
    time.sleep(0.2)
    assert not LEFT_BEHIND  # holds in the suite's order, not after test_c
    assert shipping(10) == 5


def test_c_leaves_state_behind():
    LEFT_BEHIND.append("a cache this test forgets to clear")
    assert shipping(100) == 0
"""


@pytest.mark.slow
def test_the_tests_run_in_the_suites_order_so_a_correct_candidate_is_not_blamed(
    make_project,
) -> None:
    # the shape of pyparsing 3.1.4's suite: run fastest first (c, b, a), its
    # left-recursion test failed after another class's test; alone it passed, so the
    # candidate was blamed
    root = make_project(
        {"shop.py": LIB, "bench.py": BENCH, "tests/test_shop.py": ORDER_DEPENDENT_TESTS}
    )
    tests, verdict = judge_with_tests(root, FASTER)
    assert [n.split("::")[1] for n in tests.node_ids] == [
        "test_a_slow_setup",
        "test_b_expects_a_clean_slate",
        "test_c_leaves_state_behind",
    ]
    run = next(r for r in verdict.runs if r.tier == "tests")
    assert verdict.status is VerdictStatus.EQUIVALENT and (run.outcome, run.inputs) == ("same", 3)


NEEDS_AN_UNSELECTED_TEST = """
from shop import shipping

PREPARED = []


def test_a_prepares():  # executes nothing of shop, so no candidate of shipping runs it
    PREPARED.append(True)


def test_b_needs_it():
    assert PREPARED
    assert shipping(10) == 5
"""


@pytest.mark.slow
def test_a_test_that_fails_with_the_original_too_cannot_judge_and_says_why(make_project) -> None:
    root = make_project(
        {"shop.py": LIB, "bench.py": BENCH, "tests/test_shop.py": NEEDS_AN_UNSELECTED_TEST}
    )
    tests, verdict = judge_with_tests(root, ON_DISK)
    assert tests.node_ids == ("tests/test_shop.py::test_b_needs_it",)
    run = next(r for r in verdict.runs if r.tier == "tests")
    assert verdict.status is VerdictStatus.EQUIVALENT and run.outcome == "skipped"
    assert run.note == (
        "tests/test_shop.py::test_b_needs_it fails with the original too, run after the same "
        "0 tests (flaky, or it needs tests this target's selection left out); the tests could "
        "not judge"
    )
