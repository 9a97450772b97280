"""The run store is a real SQLite file that records what a run did."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from perfloop.model import (
    CallRecord,
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    RunId,
    TargetCapture,
    Verdict,
    VerdictStatus,
)
from perfloop.store.runs import SCHEMA_VERSION, RunStore


def test_a_run_with_its_records_candidates_and_verdicts_is_kept(tmp_path: Path) -> None:
    path = tmp_path / ".perfloop" / "perfloop.db"
    store = RunStore(path)
    run = RunId("r1")
    ref = FunctionRef("m", "f")
    store.start_run(run, "3.11.7", "python bench.py", tmp_path)
    store.save_capture(run, TargetCapture(ref, 5, (CallRecord(0, b"a", b"o", "", "f(1)"),)))
    candidate = Candidate(ref, "rule:x", "why", "def f(): pass\n", "def f(): pass\n", "m.py")
    verdict = Verdict(VerdictStatus.EQUIVALENT, ("replay",), 1, 0.2)
    store.save_candidate_result(run, CandidateResult(candidate, GateResult(True), verdict))
    store.fail_run(run, "KeyboardInterrupt")
    store.close()

    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT status, error FROM runs").fetchone() == (
        "failed",
        "KeyboardInterrupt",
    )
    assert db.execute("SELECT call_repr, args FROM call_records").fetchone() == ("f(1)", b"a")
    assert db.execute("SELECT origin, gate_passed FROM candidates").fetchone() == ("rule:x", 1)
    assert db.execute("SELECT status, calls_checked FROM verdicts").fetchone() == ("equivalent", 1)


def test_reopening_the_store_keeps_earlier_runs(tmp_path: Path) -> None:
    path = tmp_path / "perfloop.db"
    first = RunStore(path)
    first.start_run(RunId("a"), "3.11", "w", tmp_path)
    first.close()
    second = RunStore(path)
    second.start_run(RunId("b"), "3.11", "w", tmp_path)
    assert second.run_status(RunId("a")) == "running"
    assert second.run_status(RunId("b")) == "running"


def test_the_histories_of_a_methods_instances_are_kept_with_its_capture(tmp_path: Path) -> None:
    from perfloop.model import HistoryStep, ObjectHistory

    store = RunStore(tmp_path / "perfloop.db")
    run, ref = RunId("r1"), FunctionRef("m", "Prober.feed")
    steps = (HistoryStep("feed", b"one", ".feed(b'a')"), HistoryStep("reset", b"two", ".reset()"))
    histories = (
        ObjectHistory("Prober", 3, b"ctor", "Prober('x')", steps),
        ObjectHistory("Prober", 9, b"ctor2", "Prober('y')", steps[:1]),
    )
    capture = TargetCapture(ref, 5, (CallRecord(0, b"a", b"o", "", "f(1)"),), histories=histories)
    store.start_run(run, "3.11.7", "python bench.py", tmp_path)
    store.save_captures(run, {ref: capture})
    store.close()

    loaded = RunStore(tmp_path / "perfloop.db").load_capture(run, str(ref))
    assert loaded is not None and loaded.histories == histories
