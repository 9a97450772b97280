"""Tier 2: differential fuzzing finds what replay cannot, shrinks it, and prints it as a call."""

from __future__ import annotations

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.sandbox.runner import configure_workers, worker_count
from perfloop.verification import FuzzSettings, VerifySettings, prepare_target, verify_candidate
from perfloop.verification.compare import ComparePolicy

LIB = '''
import random
import time


def total(xs):
    return sum(xs)


def largest(xs):
    return max(xs)


def parse(s):
    if not s.isdigit():
        raise ValueError(f"not a number: {s!r}")
    return int(s)


def pick(xs):
    """Deterministic on one-element lists only."""
    return xs[0] if len(xs) == 1 else random.choice(xs)


def stamp(x):
    """Deterministic for x >= 0 only."""
    return x if x >= 0 else time.perf_counter_ns()
'''

BENCH = """
from lib import largest, parse, pick, stamp, total

for n in range(1, 25):
    total([(i * 7) % 90 for i in range(n)])
    largest(list(range(n)))
    pick([n])
    stamp(n)
for s in ["1", "22", "333"]:
    parse(s)
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)
FAST = VerifySettings(tiers=("replay", "fuzz"), fuzz=FuzzSettings(200, 10.0))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("fuzz")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    refs = [FunctionRef("lib", q) for q in ("total", "largest", "parse", "pick", "stamp")]
    return root, capture_calls("python bench.py", root, refs)


def verify(project, qualname: str, old: str, new: str, settings: VerifySettings = FAST):
    root, captures = project
    ref = FunctionRef("lib", qualname)
    plan = prepare_target(
        ref, "lib.py", LIB, captures[ref], root=root, settings=settings, limits=LIMITS
    )
    source = LIB.replace(old, new)
    assert source != LIB
    candidate = Candidate(ref, "test", "test", source, new, "lib.py")
    return verify_candidate(candidate, plan, root=root, limits=LIMITS)


@pytest.mark.slow
def test_a_difference_replay_cannot_see_is_found_and_shrunk_to_a_minimal_call(project) -> None:
    verdict = verify(project, "total", "return sum(xs)", "return sum(min(x, 100) for x in xs)")
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.tiers == ("replay", "fuzz")
    replay, fuzz = verdict.runs
    assert replay.outcome == "same" and replay.inputs == 24  # every recorded call agreed
    assert fuzz.outcome == "different" and fuzz.inputs >= 1
    assert verdict.difference.tier == "fuzz"
    assert verdict.difference.call == "lib:total([101])"  # shrunk: one element, just too big
    assert "expected 101, got 100" in verdict.difference.description


@pytest.mark.slow
def test_an_edge_case_the_workload_never_made_rejects_the_candidate(project) -> None:
    verdict = verify(project, "largest", "return max(xs)", "return sorted(xs)[-1]")
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference.call == "lib:largest([])"
    assert "raised builtins.IndexError, where the original raised builtins.ValueError" in (
        verdict.difference.description
    )


@pytest.mark.slow
def test_an_equivalent_rewrite_passes_every_generated_input(project) -> None:
    rewrite = (
        "if not xs:\n        raise ValueError('empty')\n    best = xs[0]\n"
        "    for x in xs:\n        if x > best:\n            best = x\n    return best"
    )
    verdict = verify(project, "largest", "return max(xs)", rewrite)
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict
    fuzz = next(r for r in verdict.runs if r.tier == "fuzz")
    assert fuzz.outcome == "same" and fuzz.inputs >= 200


@pytest.mark.slow
def test_inputs_on_which_the_original_raises_are_kept_and_messages_are_optional(project) -> None:
    new = 'raise ValueError("bad")'
    old = 'raise ValueError(f"not a number: {s!r}")'
    assert verify(project, "parse", old, new).status is VerdictStatus.EQUIVALENT
    strict = VerifySettings(policy=ComparePolicy(exception_messages=True), tiers=("replay", "fuzz"))
    verdict = verify(project, "parse", old, new, strict)
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "raised builtins.ValueError('bad')" in verdict.difference.description
    wrong_type = verify(project, "parse", old, 'raise TypeError("bad")')
    assert wrong_type.status is VerdictStatus.DIFFERENT
    assert "TypeError" in wrong_type.difference.description


@pytest.mark.slow
@pytest.mark.parametrize("qualname", ["pick", "stamp"])
def test_an_original_that_depends_on_randomness_or_time_is_unverifiable(project, qualname) -> None:
    root, captures = project
    ref = FunctionRef("lib", qualname)
    plan = prepare_target(
        ref, "lib.py", LIB, captures[ref], root=root, settings=FAST, limits=LIMITS
    )
    assert plan.problem is not None
    assert "gave different results" in plan.problem and f"lib:{qualname}(" in plan.problem
    candidate = Candidate(ref, "test", "test", LIB, "", "lib.py")
    verdict = verify_candidate(candidate, plan, root=root, limits=LIMITS)
    assert verdict.status is VerdictStatus.UNVERIFIABLE  # neither rejected nor accepted


ENDLESS = {
    "digits.py": """
        def gen_digits(seed):
            # pyperformance's pidigits gen_pi_digits: a generator that never ends
            value = seed
            while True:
                value = (value * 31 + 7) % 1000
                yield value % 10
    """,
    "bench.py": """
        import itertools
        import digits

        for seed in range(5):
            print(list(itertools.islice(digits.gen_digits(seed), 20)))
    """,
}


@pytest.mark.slow
def test_an_endless_generator_is_fuzzed_a_bounded_number_of_items(make_project) -> None:
    root = make_project(ENDLESS)
    ref = FunctionRef("digits", "gen_digits")
    capture = capture_calls("python bench.py", root, [ref])[ref]
    source = (root / "digits.py").read_text()
    plan = prepare_target(
        ref, "digits.py", source, capture, root=root, settings=FAST, limits=LIMITS
    )
    new = source.replace("value % 10", "value - value // 10 * 10")
    same = verify_candidate(
        Candidate(ref, "test", "", new, "", "digits.py"), plan, root=root, limits=LIMITS
    )
    assert same.status is VerdictStatus.EQUIVALENT, same.reason
    assert [(run.tier, run.outcome) for run in same.runs] == [("replay", "same"), ("fuzz", "same")]
    wrong = source.replace("value % 10", "(value if value < 990 else 1) % 10")
    caught = verify_candidate(
        Candidate(ref, "test", "", wrong, "", "digits.py"), plan, root=root, limits=LIMITS
    )
    assert caught.status is VerdictStatus.DIFFERENT, caught.reason


def test_fuzzing_cut_short_by_the_candidates_budget_is_skipped_not_failed(project) -> None:
    """On a loaded machine the earlier tiers can leave fuzzing too little time to start its
    worker; that says nothing about the candidate, which must not be called failed."""
    from perfloop.verification.tiers.fuzz import check_fuzz

    root, captures = project
    ref = FunctionRef("lib", "total")
    plan = prepare_target(
        ref, "lib.py", LIB, captures[ref], root=root, settings=FAST, limits=LIMITS
    )
    # a fresh worker: no interpreter starts, imports perfloop and Hypothesis in 0.3 s (a
    # fork of a warm worker can fuzz that fast: here it stands for the loaded machine)
    before = worker_count()
    configure_workers(before, warm=False)
    try:
        check = check_fuzz(LIB, plan, root, LIMITS, seconds_left=0.3)
    finally:
        configure_workers(before)
    assert check.run.outcome == "skipped"
    assert "verification budget ran out while fuzzing" in (check.run.note or "")
    assert "--candidate-timeout" in (check.run.note or "")
    assert check.difference is None and check.reason is None
