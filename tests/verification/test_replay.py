"""Tier 1: a candidate is replayed on the calls the workload made, in a sandboxed worker."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TargetCapture, VerdictStatus
from perfloop.verification.replay import replay, replay_candidate

LIB = '''
import random


def lowest(prices):
    """The cheapest price; IndexError when there is none."""
    return sorted(prices)[0]


def normalise(names):
    for i, name in enumerate(names):
        names[i] = name.strip().lower()
    return len(names)


def greet(name):
    print(f"hello {name}")
    return name


def jitter(x):
    # the operating system's randomness: random's own generator is recorded state, and
    # replays (tests/test_singleton_state.py)
    return x + random.SystemRandom().random()


class Till:
    def __init__(self):
        self.total = 0

    def ring(self, amount):
        self.total += amount
        return self.total
'''

BENCH = """
from lib import Till, greet, jitter, lowest, normalise

for n in range(1, 30):
    lowest(list(range(n, 0, -1)))
try:
    lowest([])
except IndexError:
    pass
normalise([" Ann ", "BOB"])
greet("ann")
jitter(1.0)
till = Till()
for amount in (5, 7):
    till.ring(amount)
"""


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, dict[FunctionRef, TargetCapture]]:
    root = tmp_path_factory.mktemp("replay")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    targets = [
        FunctionRef("lib", q) for q in ("lowest", "normalise", "greet", "jitter", "Till.ring")
    ]
    return root, capture_calls("python bench.py", root, targets)


def check(project, qualname: str, old: str, new: str, **limits: float):
    root, captures = project
    ref = FunctionRef("lib", qualname)
    source = LIB.replace(old, new)
    assert source != LIB
    candidate = Candidate(ref, "test", "", source, new, "lib.py")
    return replay_candidate(
        candidate,
        captures[ref].records,
        root=root,
        limits=Limits(
            wall_seconds=limits.get("wall", 20), memory_mb=int(limits.get("memory_mb", 1024))
        ),
    )


def test_an_equivalent_candidate_passes_every_recorded_call(project) -> None:
    verdict = check(project, "lowest", "return sorted(prices)[0]", "return sorted(prices)[:1][0]")
    assert verdict.status is VerdictStatus.EQUIVALENT
    assert verdict.calls_checked == 30
    assert verdict.tiers == ("replay",)


def test_a_rewrite_that_changes_an_exception_is_rejected_with_the_call(project) -> None:
    verdict = check(project, "lowest", "return sorted(prices)[0]", "return min(prices)")
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference.call == "lowest([])"
    assert "raised builtins.ValueError" in verdict.difference.description
    assert "the original raised builtins.IndexError" in verdict.difference.description


def test_a_rewrite_that_stops_mutating_its_argument_is_rejected(project) -> None:
    verdict = check(
        project,
        "normalise",
        "names[i] = name.strip().lower()",
        "name = name.strip().lower()",
    )
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "argument state after the call differs" in verdict.difference.description
    assert "args[0][0]" in verdict.difference.description


def test_a_rewrite_that_prints_differently_is_rejected(project) -> None:
    verdict = check(project, "greet", 'print(f"hello {name}")', 'print(f"hi {name}")')
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "printed" in verdict.difference.description


@pytest.mark.slow
def test_a_method_is_compared_on_the_instance_state_too(project) -> None:
    verdict = check(
        project,
        "Till.ring",
        "self.total += amount\n        return self.total",
        "return self.total + amount",
    )
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "self.total" in verdict.difference.description


def test_a_candidate_that_never_returns_is_killed_and_reported(project) -> None:
    verdict = check(
        project, "lowest", "return sorted(prices)[0]", "while True:\n        pass", wall=2
    )
    assert verdict.status is VerdictStatus.FAILED
    assert "did not finish within 2 s" in verdict.reason


@pytest.mark.slow
def test_a_candidate_that_allocates_without_bound_is_stopped(project) -> None:
    verdict = check(
        project,
        "lowest",
        "return sorted(prices)[0]",
        "blocks = []\n    while True:\n        blocks.append(bytearray(10**8))",
        memory_mb=600,
        wall=30,
    )
    assert verdict.status is VerdictStatus.FAILED
    assert "memory limit" in verdict.reason


def test_an_original_that_depends_on_randomness_does_not_reproduce_itself(project) -> None:
    root, captures = project
    ref = FunctionRef("lib", "jitter")
    verdict = replay(
        "lib",
        "jitter",
        root / "lib.py",
        None,
        captures[ref].records,
        root=root,
        limits=Limits(wall_seconds=20),
    )
    assert verdict.status is VerdictStatus.DIFFERENT
