"""Instruction counts: parsing the counters' output, choosing a counter, saying why not."""

from __future__ import annotations

import pickle
import shutil
from pathlib import Path

import pytest

from perfloop.measure import counters
from perfloop.measure.counters import (
    count_instructions,
    parse_callgrind_total,
    parse_perf_count,
    passes_to_count,
)
from perfloop.measure.timing import TimingTask

SOURCE = (
    "def work(xs):\n    total = 0\n    for x in xs:\n        total += x * x\n    return total\n"
)
SLOWER = SOURCE.replace(
    "    return total", "    for x in xs:\n        total += 0\n    return total"
)


def test_perf_stat_csv_is_parsed() -> None:
    assert parse_perf_count("123456,,instructions:u,1000,100.00,,\n") == 123456
    assert parse_perf_count("<not supported>,,instructions:u,0,100.00,,\n") is None
    assert parse_perf_count("nothing here") is None


def test_callgrind_totals_are_parsed() -> None:
    text = (
        "version: 1\ncreator: callgrind-3.19.0\nevents: Ir\nsummary: 39062578\ntotals: 39062578\n"
    )
    assert parse_callgrind_total(text) == 39062578
    assert parse_callgrind_total("events: Ir\n") is None


def test_few_passes_are_counted_for_slow_passes_more_for_fast_ones() -> None:
    assert passes_to_count(1.0, cold=False) == 1
    assert passes_to_count(0.0001, cold=False) == counters.MAX_PASSES
    assert passes_to_count(None, cold=False) == 5
    assert passes_to_count(0.0001, cold=True) == 3


def task(tmp_path: Path, candidate: str) -> TimingTask:
    (tmp_path / "cwork.py").write_text(SOURCE)
    calls = tuple(pickle.dumps(((list(range(300)),), {})) for _ in range(3))
    return TimingTask(
        "cwork", "work", str(tmp_path / "cwork.py"), SOURCE, candidate, calls, ("",) * 3, 2, 10**6
    )


def test_no_counter_is_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    why = "perf stat cannot count instructions here (...) and valgrind is not installed"
    monkeypatch.setattr(counters, "available_counter", lambda: (None, why))
    counts = count_instructions(task(tmp_path, SOURCE), root=tmp_path)
    assert counts.baseline is None and counts.ratio is None and counts.tool is None
    assert counts.unavailable == why


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("valgrind") is None, reason="valgrind is not installed")
def test_callgrind_counts_the_extra_work_of_a_candidate(tmp_path: Path) -> None:
    # About 2 minutes on a busy 2-core machine: three runs under callgrind. (Identical
    # code counts alike to a few parts in 100,000 the same way; the slower candidate here
    # runs a second loop over the same list.)
    counts = count_instructions(task(tmp_path, SLOWER), root=tmp_path, pass_seconds=0.001)
    assert counts.unavailable is None, counts.unavailable
    assert counts.tool in ("perf stat", "callgrind") and "per pass" in counts.method
    assert counts.ratio is not None and 0.4 < counts.ratio < 0.9  # the candidate does more
