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

import perfloop
from perfloop.config import load_settings
from perfloop.pipeline import optimize
from perfloop.report.terminal import bench_text
from perfloop.results import Decision, TargetStatus

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


# an outside candidate adding the decorator maintainers add (packaging's canonicalize_name,
# isort 6.0's exists_case_sensitive): perfloop refused every one ("cannot judge a new cache")
CACHED = "import functools\n\n\n@functools.lru_cache(maxsize=None)\n" + LIB.lstrip()


@pytest.mark.slow
def test_an_outside_cache_over_a_pure_function_is_verified_and_judged_on_the_workload(
    make_project,
) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    verified = perfloop.verify(
        "lib:series", CACHED, workload="python bench.py", root=root, tiers=("replay",), mutants=0
    )
    assert verified.decision is Decision.EQUIVALENT, verified.reason
    admitted = "the candidate adds @functools.lru_cache(maxsize=None): admitted because"
    assert any(note.startswith(admitted) for note in verified.notes), verified.notes

    benched = perfloop.bench("lib:series", CACHED, workload="python bench.py", root=root)
    measurement = benched.measurement
    # timing called the cached function (before, its undecorated body: no speedup to see)
    assert measurement.learns, measurement
    note = next(n for n in measurement.notes if "judged on the whole workload" in n)
    assert "the replayed calls alone, each block a first pass" in note
    assert benched.workload is not None and benched.workload.output_unchanged is True
    # 195 of 200 calls answered by the cache: the workload is several times faster
    assert benched.speed == "faster" and measurement.speedup.ci_low > 1.5
    shown = bench_text(benched)  # the times are the workload's runs, and say so
    assert "one run of the whole workload: original" in shown, shown
    assert "one pass over 200 recorded calls" not in shown, shown


READS_A_FILE = """
import os


def size_of(path):
    total = 0
    for line in open(path):
        total += len(line)
    return total + os.path.getsize(path)
"""

PAIRS = """
def spread(values):
    return max(values) - min(values)
"""


@pytest.mark.parametrize(
    ("lib", "function", "bench", "expected"),
    [
        (
            READS_A_FILE,
            "size_of",
            "from lib import size_of\nprint(sum(size_of('lib.py') for _ in range(5)))\n",
            "size_of calls `open`, which may have effects or read outside state, so a cached "
            "answer can go stale",
        ),
        (
            PAIRS,
            "spread",
            "from lib import spread\nprint(sum(spread([i, i + 3, 2]) for i in range(50)))\n",
            "its recorded calls pass a list as `values` (list[int]): a cache cannot hash it",
        ),
    ],
)
def test_an_outside_cache_that_cannot_be_sound_is_refused_with_why(
    make_project, lib: str, function: str, bench: str, expected: str
) -> None:
    root = make_project({"lib.py": lib, "bench.py": bench})
    cached = "import functools\n" + lib.replace(
        f"def {function}", f"@functools.lru_cache(maxsize=1000)\ndef {function}"
    )
    result = perfloop.verify(
        f"lib:{function}", cached, workload="python bench.py", root=root, tiers=("replay",)
    )
    assert result.decision is Decision.REJECTED
    assert result.reason.startswith(
        f"the candidate adds @functools.lru_cache(maxsize=1000) to {function}, but "
    )
    assert expected in result.reason, result.reason
