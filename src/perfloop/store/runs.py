"""The run store: every run, target, call record, candidate, verdict and measurement.

SQLite at `.perfloop/perfloop.db` in WAL mode; each write is its own
transaction, so a run killed at any point leaves a consistent store. The schema
is versioned (`PRAGMA user_version`) so later versions can migrate it.

`run_steps` records each completed step of a run (profile, capture, a target, a
candidate's verdict and measurement, the whole-workload A/B, the apply) with its
result pickled, so `perfloop resume` continues from the last completed step.
Payloads are read back as data only (perfloop.sandbox.decode), like a worker's result.
"""

from __future__ import annotations

import json
import pickle
import secrets
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from perfloop.model import (
    CallRecord,
    CandidateResult,
    FunctionRef,
    HistoryStep,
    LLMCall,
    LLMUsage,
    ObjectHistory,
    ObservedType,
    Profile,
    RunId,
    TargetCapture,
)
from perfloop.results import (
    CommandResult,
    ReviewAction,
    ReviewDecision,
    RunResult,
    TargetResult,
)
from perfloop.sandbox.decode import decode

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    started_at REAL NOT NULL,
    finished_at REAL,
    python TEXT NOT NULL,
    workload TEXT NOT NULL,
    root TEXT NOT NULL,
    status TEXT NOT NULL,            -- running | completed | failed
    error TEXT,
    results_json TEXT
);
CREATE TABLE IF NOT EXISTS profile_rows (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    function TEXT NOT NULL,
    path TEXT NOT NULL,
    lineno INTEGER NOT NULL,
    calls INTEGER NOT NULL,
    self_seconds REAL NOT NULL,
    cumulative_seconds REAL NOT NULL,
    share REAL NOT NULL,
    not_targetable TEXT
);
CREATE TABLE IF NOT EXISTS call_records (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    function TEXT NOT NULL,
    idx INTEGER NOT NULL,
    args BLOB NOT NULL,
    outcome BLOB NOT NULL,
    stdout TEXT NOT NULL,
    call_repr TEXT NOT NULL,
    PRIMARY KEY (run_id, function, idx)
);
-- the histories of a method's class's instances (perfloop.runtime.histories); step -1 is
-- the constructor call, method "__init__"
CREATE TABLE IF NOT EXISTS history_steps (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    function TEXT NOT NULL,
    history INTEGER NOT NULL,
    cls TEXT NOT NULL,
    step INTEGER NOT NULL,
    method TEXT NOT NULL,
    args BLOB NOT NULL,
    call_repr TEXT NOT NULL,
    PRIMARY KEY (run_id, function, history, step)
);
CREATE TABLE IF NOT EXISTS captures (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    function TEXT NOT NULL,
    calls_seen INTEGER NOT NULL,
    calls_not_recorded INTEGER NOT NULL,
    parameter_types TEXT NOT NULL,
    return_types TEXT NOT NULL,
    problem TEXT,
    PRIMARY KEY (run_id, function)
);
CREATE TABLE IF NOT EXISTS candidates (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    candidate_id TEXT NOT NULL,
    function TEXT NOT NULL,
    origin TEXT NOT NULL,
    rationale TEXT NOT NULL,
    path TEXT NOT NULL,
    function_source TEXT NOT NULL,
    module_source TEXT NOT NULL,
    gate_passed INTEGER NOT NULL,
    gate_reason TEXT,
    PRIMARY KEY (run_id, candidate_id)
);
CREATE TABLE IF NOT EXISTS verdicts (
    run_id TEXT NOT NULL,
    candidate_id TEXT NOT NULL,
    status TEXT NOT NULL,
    tiers TEXT NOT NULL,
    calls_checked INTEGER NOT NULL,
    seconds REAL NOT NULL,
    difference_call TEXT,
    difference TEXT,
    reason TEXT,
    PRIMARY KEY (run_id, candidate_id)
);
CREATE TABLE IF NOT EXISTS measurements (
    run_id TEXT NOT NULL,
    subject TEXT NOT NULL,           -- a candidate id, or 'workload'
    ratio REAL,
    ci_low REAL,
    ci_high REAL,
    pairs INTEGER,
    method TEXT,
    faster INTEGER NOT NULL,
    error TEXT,                      -- why there is no ratio: a failure, or "not timed: ..."
    PRIMARY KEY (run_id, subject)
);
CREATE TABLE IF NOT EXISTS llm_calls (
    run_id TEXT NOT NULL,
    created_at REAL NOT NULL,
    function TEXT NOT NULL,
    purpose TEXT NOT NULL,           -- propose | repair | refine | hint
    model TEXT NOT NULL,
    prompt TEXT NOT NULL,
    response TEXT NOT NULL,
    prompt_tokens INTEGER NOT NULL,
    completion_tokens INTEGER NOT NULL,
    seconds REAL NOT NULL,
    ttft REAL,
    cost REAL,
    cache_key TEXT NOT NULL,
    cached INTEGER NOT NULL,         -- answered from this table, not the model
    finish_reason TEXT,
    error TEXT,                      -- the call failed
    problem TEXT,                    -- the answer gave no candidate
    candidate_id TEXT
);
CREATE INDEX IF NOT EXISTS llm_calls_by_key ON llm_calls (cache_key);
CREATE TABLE IF NOT EXISTS run_steps (
    run_id TEXT NOT NULL,
    step TEXT NOT NULL,              -- profile | capture | target:<ref> | candidate:<id> | ...
    completed_at REAL NOT NULL,
    payload BLOB,                    -- the step's result, pickled perfloop types
    PRIMARY KEY (run_id, step)
);
CREATE TABLE IF NOT EXISTS targets (
    run_id TEXT NOT NULL,
    function TEXT NOT NULL,
    share REAL NOT NULL,
    status TEXT NOT NULL,
    reason TEXT,
    best_candidate_id TEXT,
    PRIMARY KEY (run_id, function)
);
CREATE TABLE IF NOT EXISTS review_decisions (
    run_id TEXT NOT NULL,
    seq INTEGER NOT NULL,            -- the order they were made in
    decided_at REAL NOT NULL,
    function TEXT NOT NULL,
    action TEXT NOT NULL,            -- accepted | rejected | edited | asked for more | kept ...
    candidate_id TEXT,
    origin TEXT,
    outcome_id TEXT,                 -- an edit's new candidate
    outcome TEXT NOT NULL,
    text TEXT NOT NULL,              -- a hint for the LLM
    PRIMARY KEY (run_id, seq)
);
"""


@dataclass(frozen=True)
class RunInfo:
    run_id: RunId
    status: str  # running | interrupted | completed | failed
    python: str
    workload: str
    root: str
    error: str | None


RESULT_STEP = "result"  # the step that holds what a completed run handed back


@dataclass(frozen=True)
class RunRow:
    """One row of the runs table, as `perfloop runs` lists it."""

    run_id: RunId
    started_at: float
    finished_at: float | None
    status: str
    workload: str
    error: str | None
    document: str | None  # the run's JSON document (results.json for optimize)


def new_run_id() -> RunId:
    """A run's id: when it started, to the second, and four hex digits against collisions."""
    return RunId(time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2))


class RunStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._connection = sqlite3.connect(path, timeout=30)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        version = self._connection.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{path} was written by a newer perfloop (schema {version}); upgrade perfloop"
            )
        with self._transaction() as db:
            db.executescript(_SCHEMA)
            db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._connection:
            yield self._connection

    def close(self) -> None:
        self._connection.close()

    def start_run(self, run_id: RunId, python: str, workload: str, root: Path) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT INTO runs (run_id, started_at, python, workload, root, status)"
                " VALUES (?, ?, ?, ?, ?, 'running')",
                (run_id, time.time(), python, workload, str(root)),
            )

    def save_profile(self, run_id: RunId, profile: Profile) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM profile_rows WHERE run_id=?", (run_id,))  # a resumed run
            db.executemany(
                "INSERT INTO profile_rows VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        run_id,
                        str(f.function),
                        f.path,
                        f.lineno,
                        f.calls,
                        f.self_seconds,
                        f.cumulative_seconds,
                        f.share,
                        f.not_targetable,
                    )
                    for f in profile.functions
                ],
            )

    def save_capture(self, run_id: RunId, capture: TargetCapture) -> None:
        with self._transaction() as db:
            self._insert_capture(db, run_id, capture)

    @staticmethod
    def _insert_capture(db: sqlite3.Connection, run_id: RunId, capture: TargetCapture) -> None:
        function = str(capture.function)
        db.execute(
            "INSERT INTO captures VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                run_id,
                function,
                capture.calls_seen,
                capture.calls_not_recorded,
                json.dumps([asdict(t) for t in capture.parameter_types]),
                json.dumps(list(capture.return_types)),
                capture.problem,
            ),
        )
        db.executemany(
            "INSERT INTO call_records VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (run_id, function, r.index, r.args, r.outcome, r.stdout, r.call_repr)
                for r in capture.records
            ],
        )
        db.executemany(
            "INSERT INTO history_steps VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (run_id, function, h.number, h.cls, number, s.method, s.args, s.call_repr)
                for h in capture.histories
                for number, s in enumerate(
                    (HistoryStep("__init__", h.constructor, h.constructor_repr), *h.steps), -1
                )
            ],
        )

    def save_candidate_result(self, run_id: RunId, result: CandidateResult) -> None:
        candidate, verdict, measurement = result.candidate, result.verdict, result.measurement
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO candidates VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    candidate.candidate_id,
                    str(candidate.function),
                    candidate.origin,
                    candidate.rationale,
                    candidate.path,
                    candidate.function_source,
                    candidate.module_source,
                    int(result.gate.passed),
                    result.gate.reason,
                ),
            )
            if verdict is not None:
                difference = verdict.difference
                db.execute(
                    "INSERT OR REPLACE INTO verdicts VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        candidate.candidate_id,
                        verdict.status.value,
                        json.dumps(list(verdict.tiers)),
                        verdict.calls_checked,
                        verdict.seconds,
                        difference.call if difference else None,
                        difference.description if difference else None,
                        verdict.reason,
                    ),
                )
            if measurement is not None:
                self._save_measurement(
                    db,
                    run_id,
                    candidate.candidate_id,
                    measurement.speedup,
                    measurement.faster,
                    measurement.error or measurement.untimed,  # "not timed: ..." says why
                )

    def save_workload_measurement(
        self, run_id: RunId, speedup: object, faster: bool, error: str | None
    ) -> None:
        with self._transaction() as db:
            self._save_measurement(db, run_id, "workload", speedup, faster, error)

    def save_measurement(
        self, run_id: RunId, subject: str, speedup: object, faster: bool, error: str | None
    ) -> None:
        """A measurement of something other than a candidate (e.g. 'noise-floor')."""
        with self._transaction() as db:
            self._save_measurement(db, run_id, subject, speedup, faster, error)

    @staticmethod
    def _save_measurement(
        db: sqlite3.Connection,
        run_id: RunId,
        subject: str,
        speedup: object,
        faster: bool,
        error: str | None,
    ) -> None:
        values = (
            (speedup.ratio, speedup.ci_low, speedup.ci_high, speedup.pairs, speedup.method)  # type: ignore[attr-defined]
            if speedup is not None
            else (None, None, None, None, None)
        )
        db.execute(
            "INSERT OR REPLACE INTO measurements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, subject, *values, int(faster), error),
        )

    def save_target_result(self, run_id: RunId, result: TargetResult) -> None:
        with self._transaction() as db:
            db.execute(
                "INSERT OR REPLACE INTO targets VALUES (?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    str(result.function),
                    result.share,
                    result.status.value,
                    result.reason,
                    result.best.candidate.candidate_id if result.best else None,
                ),
            )

    def save_decision(self, run_id: RunId, decision: ReviewDecision) -> None:
        """A person's decision (optimize --interactive), kept the moment it is made."""
        with self._transaction() as db:
            (seq,) = db.execute(
                "SELECT COUNT(*) FROM review_decisions WHERE run_id=?", (run_id,)
            ).fetchone()
            db.execute(
                "INSERT INTO review_decisions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    seq,
                    time.time(),
                    str(decision.function),
                    decision.action.value,
                    decision.candidate_id,
                    decision.origin,
                    decision.outcome_id,
                    decision.outcome,
                    decision.text,
                ),
            )

    def decisions(self, run_id: RunId) -> list[ReviewDecision]:
        rows = self._connection.execute(
            "SELECT function, action, candidate_id, origin, outcome_id, outcome, text "
            "FROM review_decisions WHERE run_id=? ORDER BY seq",
            (run_id,),
        ).fetchall()
        return [
            ReviewDecision(FunctionRef.parse(row[0]), ReviewAction(row[1]), *row[2:])
            for row in rows
        ]

    def save_llm_call(self, run_id: RunId, call: LLMCall) -> None:
        with self._transaction() as db:
            db.execute(
                f"INSERT INTO llm_calls VALUES ({', '.join('?' * 18)})",
                (
                    run_id,
                    time.time(),
                    str(call.function),
                    call.purpose,
                    call.model,
                    call.prompt,
                    call.response,
                    call.prompt_tokens,
                    call.completion_tokens,
                    call.seconds,
                    call.ttft,
                    call.cost,
                    call.cache_key,
                    int(call.cached),
                    call.finish_reason,
                    call.error,
                    call.problem,
                    call.candidate_id,
                ),
            )

    _LLM_COLUMNS = (
        "function, purpose, model, prompt, response, prompt_tokens, completion_tokens, seconds,"
        " cache_key, ttft, cost, cached, finish_reason, error, problem, candidate_id"
    )

    @staticmethod
    def _llm_call(row: tuple[object, ...]) -> LLMCall:
        function, *rest = row
        call = LLMCall(FunctionRef.parse(str(function)), *rest)  # type: ignore[arg-type]
        return replace(call, cached=bool(call.cached))

    def cached_llm_answer(self, cache_key: str) -> LLMCall | None:
        """The latest answer the model itself gave to this exact request, in any run."""
        row = self._connection.execute(
            f"SELECT {self._LLM_COLUMNS} FROM llm_calls"
            " WHERE cache_key=? AND cached=0 AND error IS NULL ORDER BY created_at DESC LIMIT 1",
            (cache_key,),
        ).fetchone()
        return self._llm_call(row) if row else None

    def llm_calls(self, run_id: RunId) -> list[LLMCall]:
        rows = self._connection.execute(
            f"SELECT {self._LLM_COLUMNS} FROM llm_calls WHERE run_id=? ORDER BY rowid", (run_id,)
        ).fetchall()
        return [self._llm_call(row) for row in rows]

    def proposer_problems(self, run_id: RunId, function: FunctionRef) -> list[str]:
        """Why the run's model calls and proposer commands for `function` gave no candidate,
        one line each (`cmd:fast repair: exited with status 1: ...`), repeats left out."""
        rows = self._connection.execute(
            "SELECT model, purpose, COALESCE(error, problem) FROM llm_calls"
            " WHERE run_id=? AND function=? AND (error IS NOT NULL OR problem IS NOT NULL)"
            " ORDER BY rowid",
            (run_id, str(function)),
        ).fetchall()
        return list(dict.fromkeys(f"{model} {purpose}: {why}" for model, purpose, why in rows))

    def llm_usage(self, run_id: RunId) -> LLMUsage | None:
        """Totals over the run's LLM calls; None when it made none. Cached calls cost nothing."""
        row = self._connection.execute(
            "SELECT COUNT(*), COALESCE(SUM(cached), 0),"
            " COALESCE(SUM(CASE WHEN cached=0 THEN prompt_tokens END), 0),"
            " COALESCE(SUM(CASE WHEN cached=0 THEN completion_tokens END), 0),"
            " COALESCE(SUM(CASE WHEN cached=0 THEN seconds END), 0.0),"
            " SUM(CASE WHEN cached=0 THEN cost END),"
            " COALESCE(SUM(error IS NOT NULL), 0),"
            " (SELECT error FROM llm_calls WHERE run_id=?1 AND error IS NOT NULL ORDER BY rowid),"
            " COALESCE(SUM(model LIKE 'cmd:%'), 0)"
            " FROM llm_calls WHERE run_id=?1",
            (run_id,),
        ).fetchone()
        if not row or row[0] == 0:
            return None
        return LLMUsage(*row)

    def finish_run(self, result: CommandResult, document: str) -> None:
        """Mark the run completed, with its JSON document and the result itself (the
        `result` step), so `perfloop show` can render it again in any format."""
        with self._transaction() as db:
            self._complete(db, result.run_id, document)
            self._save_step(db, result.run_id, RESULT_STEP, result)

    def complete_run(self, run_id: RunId, results_json: str) -> None:
        with self._transaction() as db:
            self._complete(db, run_id, results_json)

    @staticmethod
    def _complete(db: sqlite3.Connection, run_id: RunId, results_json: str) -> None:
        db.execute(
            "UPDATE runs SET status='completed', finished_at=?, results_json=? WHERE run_id=?",
            (time.time(), results_json, run_id),
        )

    def load_result(self, run_id: RunId) -> CommandResult | None:
        """The result a completed run handed back; None for a run that kept none (an older
        perfloop's, or one that did not complete).

        Raises `perfloop.sandbox.decode.Refused` if the payload is not perfloop data."""
        row = self._connection.execute(
            "SELECT payload FROM run_steps WHERE run_id=? AND step=?", (run_id, RESULT_STEP)
        ).fetchone()
        if row is None:
            return None
        result = decode(row[0], CommandResult, source=f"the result of run {run_id}")
        if isinstance(result, RunResult):  # decisions an agent made after the run finished
            result = replace(result, decisions=tuple(self.decisions(run_id)))
        return result  # type: ignore[return-value]

    def runs(self) -> list[RunRow]:
        """Every run in the store, oldest first."""
        rows = self._connection.execute(
            "SELECT run_id, started_at, finished_at, status, workload, error, results_json "
            "FROM runs ORDER BY started_at, rowid"
        ).fetchall()
        return [RunRow(*row) for row in rows]

    def fail_run(self, run_id: RunId, error: str) -> None:
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status='failed', finished_at=?, error=? WHERE run_id=?",
                (time.time(), error, run_id),
            )

    def load_capture(self, run_id: RunId, function: str) -> TargetCapture | None:
        """The calls of `function` (module:qualname) recorded in an earlier run, or None."""
        row = self._connection.execute(
            "SELECT calls_seen, calls_not_recorded, parameter_types, return_types, problem"
            " FROM captures WHERE run_id=? AND function=?",
            (run_id, function),
        ).fetchone()
        if row is None:
            return None
        calls_seen, not_recorded, parameter_types, return_types, problem = row
        records = tuple(
            CallRecord(index, args, outcome, stdout, call_repr)
            for index, args, outcome, stdout, call_repr in self._connection.execute(
                "SELECT idx, args, outcome, stdout, call_repr FROM call_records"
                " WHERE run_id=? AND function=? ORDER BY idx",
                (run_id, function),
            )
        )
        return TargetCapture(
            function=FunctionRef.parse(function),
            calls_seen=calls_seen,
            records=records,
            histories=self._load_histories(run_id, function),
            parameter_types=tuple(
                ObservedType(t["parameter"], tuple(t["types"])) for t in json.loads(parameter_types)
            ),
            return_types=tuple(json.loads(return_types)),
            calls_not_recorded=not_recorded,
            problem=problem,
        )

    def _load_histories(self, run_id: RunId, function: str) -> tuple[ObjectHistory, ...]:
        steps: dict[tuple[int, str], list[HistoryStep]] = {}
        for number, cls, method, args, call_repr in self._connection.execute(
            "SELECT history, cls, method, args, call_repr FROM history_steps"
            " WHERE run_id=? AND function=? ORDER BY history, step",
            (run_id, function),
        ):
            steps.setdefault((number, cls), []).append(HistoryStep(method, args, call_repr))
        return tuple(
            ObjectHistory(cls, number, first.args, first.call_repr, tuple(rest))
            for (number, cls), (first, *rest) in steps.items()
        )

    def captured_functions(self, run_id: RunId) -> list[str]:
        """The functions whose calls run `run_id` recorded (empty if there is no such run)."""
        return [
            row[0]
            for row in self._connection.execute(
                "SELECT function FROM captures WHERE run_id=? ORDER BY function", (run_id,)
            )
        ]

    def run_status(self, run_id: RunId) -> str | None:
        row = self._connection.execute(
            "SELECT status FROM runs WHERE run_id=?", (run_id,)
        ).fetchone()
        return row[0] if row else None

    def count(self, table: str, run_id: RunId) -> int:
        if table not in {
            "run_steps",
            "call_records",
            "candidates",
            "verdicts",
            "measurements",
            "targets",
            "captures",
            "profile_rows",
            "llm_calls",
        }:
            raise ValueError(table)
        return self._connection.execute(
            f"SELECT COUNT(*) FROM {table} WHERE run_id=?", (run_id,)
        ).fetchone()[0]

    # --- steps, for resume -------------------------------------------------------------

    def save_step(self, run_id: RunId, step: str, value: object = None) -> None:
        """Record `step` as completed with its result (pickled; perfloop types and builtins)."""
        with self._transaction() as db:
            self._save_step(db, run_id, step, value)

    @staticmethod
    def _save_step(db: sqlite3.Connection, run_id: RunId, step: str, value: object) -> None:
        db.execute(
            "INSERT OR REPLACE INTO run_steps VALUES (?, ?, ?, ?)",
            (run_id, step, time.time(), pickle.dumps(value)),
        )

    def steps(self, run_id: RunId) -> dict[str, object]:
        """The completed steps of a run and their results, in the order they completed.

        Raises `perfloop.sandbox.decode.Refused` if a payload is not perfloop data."""
        rows = self._connection.execute(
            "SELECT step, payload FROM run_steps WHERE run_id=? ORDER BY completed_at, rowid",
            (run_id,),
        ).fetchall()
        return {step: decode(payload, source=f"the checkpoint {step!r}") for step, payload in rows}

    def save_captures(self, run_id: RunId, captures: dict[FunctionRef, TargetCapture]) -> None:
        """All captures of a run and the `capture` step, in one transaction."""
        with self._transaction() as db:
            db.execute("DELETE FROM captures WHERE run_id=?", (run_id,))
            db.execute("DELETE FROM call_records WHERE run_id=?", (run_id,))
            db.execute("DELETE FROM history_steps WHERE run_id=?", (run_id,))
            for capture in captures.values():
                self._insert_capture(db, run_id, capture)
            self._save_step(db, run_id, "capture", sorted(captures))

    def load_captures(self, run_id: RunId) -> dict[FunctionRef, TargetCapture]:
        found = {}
        for function in self.captured_functions(run_id):
            capture = self.load_capture(run_id, function)
            if capture is not None:
                found[capture.function] = capture
        return found

    def run_info(self, run_id: RunId) -> RunInfo | None:
        row = self._connection.execute(
            "SELECT run_id, status, python, workload, root, error FROM runs WHERE run_id=?",
            (run_id,),
        ).fetchone()
        return RunInfo(*row) if row else None

    def set_run_status(self, run_id: RunId, status: str, error: str | None = None) -> None:
        """`interrupted` (resumable), or back to `running` when it is resumed."""
        with self._transaction() as db:
            db.execute(
                "UPDATE runs SET status=?, error=?, finished_at=NULL WHERE run_id=?",
                (status, error, run_id),
            )
