"""A candidate that keeps answers between calls is judged on the whole workload.

Replaying recorded calls cannot say what a cache is worth: repeating them times the
cache (every call after the first is a hit), and one first pass over them sees only the
repeats that happen to be among the recorded calls. mpmath 1.3.0's `exp_basecase`
with `cache-pure-function` measured 0.84x on a first pass over its 200 recorded calls
and 1.034x [1.018, 1.051] on the whole workload, where its quadrature asks 22,819
times for 4,271 distinct answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfloop.config import load_settings
from perfloop.pipeline import optimize
from perfloop.results import TargetStatus

LIB = """
def series(x, prec):
    s = a = 1 << prec
    k = 1
    while a:
        a = (a * x >> prec) // k
        s += a
        k += 1
    return s
"""

BENCH = """
from lib import series

total = 0
for rounds in range(40):
    for x in range(1, 6):          # five distinct questions, asked 40 times each
        total += series(x << 4000, 4000) % 1000003
print(total)
"""


@pytest.mark.slow
def test_a_cache_is_judged_on_the_whole_workload(make_project) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["lib:series"],
            "rules": ["cache-pure-function"],
            "measure_processes": 2,
        },
    )
    result = optimize(settings)

    (target,) = result.targets
    (tried,) = target.candidates
    assert tried.candidate.origin == "rule:cache-pure-function"
    measurement = tried.measurement
    assert measurement is not None and measurement.learns
    assert "whole process" in measurement.speedup.method or "process tree" in (
        measurement.speedup.method
    )
    note = next(n for n in measurement.notes if "judged on the whole workload" in n)
    assert "the replayed calls alone, each block a first pass" in note
    # 195 of 200 calls answered from the dict: the workload is several times faster
    assert target.status is TargetStatus.IMPROVED
    assert measurement.speedup.ci_low > 1.5

    shown = json.loads((Path(result.run_dir) / "results.json").read_text())
    (row,) = shown["targets"]
    assert any("judged on the whole workload" in n for n in json.dumps(row).split('"'))
