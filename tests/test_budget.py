"""`--budget MINUTES`: the run stops trying targets and candidates when its time is up,
names what it left out, and still finishes with a report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfloop.config import ConfigError, load_settings
from perfloop.model import FunctionRef
from perfloop.pipeline import optimize
from perfloop.pipeline.budget import Budget
from perfloop.results import TargetStatus

LIB = """
def lengths(words):
    out = []
    for word in words:
        out.append(len(word))
    return out


def total(values):
    result = 0
    for value in values:
        result += value
    return result
"""

BENCH = """
from lib import lengths, total

words = [str(i) * (i % 7) for i in range(3000)]
checksum = 0
for n in range(40):
    checksum += sum(lengths(words)) + total(range(3000))
print(checksum)
"""


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_the_budget_is_spent_when_its_time_less_the_reserve_has_passed() -> None:
    clock = Clock()
    budget = Budget(60.0, clock=clock)
    budget.keep_for_the_end(workload_seconds=1.0, workload_runs=5)  # 5 pairs + 2 runs: 12 s
    clock.now += 47.0
    assert not budget.spent()
    clock.now += 1.0  # 48 s used + 12 s kept = the 60 s
    assert budget.spent()

    a, b = FunctionRef("lib", "lengths"), FunctionRef("lib", "total")
    budget.skip_target(b)
    budget.skip_candidate(a)
    budget.skip_candidate(a)
    note = budget.note()
    assert note is not None
    assert note.startswith("the --budget of 1 min ran out (keeping 12 s for timing")
    assert "1 target not tried (lib:total)" in note
    assert "2 candidates of lib:lengths not tried" in note
    assert "--top" in note  # what to do about it


def test_no_budget_is_never_spent_and_says_nothing() -> None:
    budget = Budget.of_minutes(None)
    budget.skip_candidate(FunctionRef("lib", "lengths"))
    assert not budget.spent()
    assert budget.note() is None


def test_a_budget_must_be_positive_minutes(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="budget must be a positive number of minutes"):
        load_settings(tmp_path, {"workload": "python bench.py", "budget": 0})


@pytest.mark.slow
def test_a_run_whose_budget_runs_out_names_every_target_it_left_out(make_project) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    settings = load_settings(
        root, {"workload": "python bench.py", "budget": 0.01, "measure_processes": 2}
    )
    result = optimize(settings)  # 0.6 s: spent while profiling

    assert {t.function.qualname for t in result.targets} == {"lengths", "total"}
    for target in result.targets:
        assert target.status is TargetStatus.SKIPPED
        assert target.reason == "not tried: the run's --budget ran out"
        assert target.candidates == ()
    assert any("--budget of 0.6 s ran out" in note for note in result.notes)
    assert result.patch == "" and not result.applied

    shown = json.loads((Path(result.run_dir) / "results.json").read_text())
    assert {t["status"] for t in shown["targets"]} == {"skipped"}
    report = (Path(result.run_dir) / "report.md").read_text()
    assert "not tried: the run's --budget ran out" in report
