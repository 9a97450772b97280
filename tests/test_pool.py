"""Work side by side on the worker pool: real sandboxed workers overlap, results keep the
order of the tasks, and a stopping run kills the workers of the other tasks."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest

from perfloop.config import load_settings
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.pipeline import optimize
from perfloop.propose import propose_rule_candidates
from perfloop.results import RunResult
from perfloop.sandbox.pool import side_by_side
from perfloop.sandbox.runner import configure_workers, run_in_worker, worker_count

HELPERS = """
import time

def stamps(seconds):
    started = time.time()
    time.sleep(seconds)
    return (started, time.time())
"""


@pytest.fixture
def root(make_project) -> Path:
    return make_project({"helpers.py": HELPERS})


@pytest.fixture
def two_workers() -> Iterator[None]:
    before = worker_count()
    configure_workers(2)
    yield
    configure_workers(before)


def sleeper(root: Path, seconds: float):
    def task() -> tuple[float, float]:
        outcome = run_in_worker(
            "helpers:stamps", seconds, root=root, limits=Limits(60, 60), returns=tuple
        )
        assert outcome.ok, outcome.message
        return outcome.value  # type: ignore[return-value]

    return task


def test_two_workers_run_at_once_and_results_keep_the_order_of_the_tasks(
    root: Path, two_workers: None
) -> None:
    # the first task is the slowest: it finishes last but its result comes first
    slow, fast = side_by_side([sleeper(root, 3.0), sleeper(root, 0.5)])
    assert slow[1] - slow[0] >= 3.0 and fast[1] - fast[0] >= 0.5
    assert fast[0] < slow[1]  # the fast one started while the slow one slept


def test_one_worker_runs_the_tasks_one_after_the_other(root: Path) -> None:
    before = worker_count()
    configure_workers(1)
    try:
        first, second = side_by_side([sleeper(root, 0.5), sleeper(root, 0.5)])
    finally:
        configure_workers(before)
    assert second[0] >= first[1]


def test_a_failing_task_stops_the_workers_of_the_others(root: Path, two_workers: None) -> None:
    def fails() -> tuple[float, float]:
        time.sleep(1.0)  # the other task's worker is sleeping by now
        raise RuntimeError("perfloop's own bug")

    started = time.monotonic()
    with pytest.raises(RuntimeError, match="own bug"):
        side_by_side([sleeper(root, 40.0), fails])
    assert time.monotonic() - started < 20  # killed, not waited for 40 s
    # and the pool works again afterwards
    assert len(side_by_side([sleeper(root, 0.1), sleeper(root, 0.1)])) == 2


# A run of perfloop with two workers judges every candidate as a run with one does: the
# same verdicts, in the same order in the store and the results, with the candidates of a
# target verified side by side (the hanging one does not hold up the next ones).

LIB = '''
def cheapest(prices):
    """The lowest price; IndexError for an empty basket."""
    return sorted(prices)[0]


'''
BENCH = """
import random
from shop import cheapest

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(3000)] for _ in range(40)] + [[]]
total = 0
for basket in baskets:
    try:
        total += cheapest(basket)
    except IndexError:
        total -= 1
print(total)
"""
BODIES = {
    "hangs": "def cheapest(prices):\n    while True:\n        pass\n",
    "off-by-one": "def cheapest(prices):\n    return sorted(prices)[1]\n",
    "honest": (
        "def cheapest(prices):\n"
        '    """The lowest price; IndexError for an empty basket."""\n'
        "    if not prices:\n"
        '        raise IndexError("list index out of range")\n'
        "    return min(prices)\n"
    ),
}


def hanging_wrong_and_honest(ref: FunctionRef, path: str, source: str) -> Sequence[Candidate]:
    if ref.qualname != "cheapest":
        return []
    original = LIB.strip()
    return [
        Candidate(ref, f"test:{name}", name, source.replace(original, body.strip()), body, path)
        for name, body in BODIES.items()
    ]


def judged(tmp_path: Path, workers: int) -> tuple[RunResult, list[tuple[float, str]], list]:
    root = tmp_path / f"workers-{workers}"
    root.mkdir()
    (root / "shop.py").write_text(LIB.lstrip("\n"))
    (root / "bench.py").write_text(BENCH.lstrip("\n"))
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["shop:cheapest"],
            "workers": workers,
            "candidate_timeout": 30.0,  # all tiers of one; a worker gets 5 s (10x the original's)
            "memory_mb": 600,
            "measure_processes": 2,
            "measure_budget": 3.0,
            "workload_runs": 2,
            "max_workload_runs": 2,
            "fuzz_examples": 30,
            # the slower tiers (the whole workload, the project's tests, a symbolic search)
            # judge these candidates no differently: left out to keep the test short
            "rollout": False,
            "project_tests": False,
            "symbolic_seconds": 0.0,
            "mutants": 6,
            "cache": False,
        },
    )
    shown: list[tuple[float, str]] = []
    result = optimize(
        settings,
        progress=lambda text: shown.append((time.monotonic(), text)),
        proposers=(hanging_wrong_and_honest, propose_rule_candidates),
    )
    db = sqlite3.connect(root / ".perfloop" / "perfloop.db")
    stored = db.execute(
        "SELECT origin, status FROM candidates JOIN verdicts USING (run_id, candidate_id) "
        "ORDER BY candidates.rowid"
    ).fetchall()
    db.close()
    return result, shown, stored


def verdicts(result: RunResult) -> list[tuple[str, str, list[tuple[object, ...]]]]:
    """Every target's status and each candidate's verdict, as the report lists them."""
    return [
        (
            str(target.function),
            target.status.value,
            [
                (
                    c.candidate.origin,
                    c.gate.passed,
                    c.verdict.status.value if c.verdict else None,
                    c.verdict.tiers if c.verdict else None,
                    c.verdict.difference.call if c.verdict and c.verdict.difference else None,
                )
                for c in target.candidates
            ],
        )
        for target in result.targets
    ]


def started(shown: list[tuple[float, str]], origin: str) -> float:
    return next(when for when, text in shown if text.endswith(f"verifying {origin}"))


@pytest.mark.slow
def test_two_workers_give_the_verdicts_of_one_in_the_same_order(tmp_path: Path) -> None:
    one, shown_one, stored_one = judged(tmp_path, 1)
    two, shown_two, stored_two = judged(tmp_path, 2)

    assert verdicts(two) == verdicts(one)
    assert stored_two == stored_one
    tried = {c.candidate.origin: c for t in one.targets for c in t.candidates}
    assert tried["test:hangs"].verdict.status is VerdictStatus.FAILED
    assert tried["test:off-by-one"].verdict.status is VerdictStatus.DIFFERENT
    assert tried["test:honest"].verdict.status is VerdictStatus.EQUIVALENT
    # one worker waits out the hanging candidate's 5 s before the next; two start both
    hangs, after = "test:hangs", "test:off-by-one"
    assert started(shown_one, after) - started(shown_one, hangs) >= 5.0
    assert started(shown_two, after) - started(shown_two, hangs) < 5.0
