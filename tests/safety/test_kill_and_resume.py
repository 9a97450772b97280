"""A run killed at any point leaves a consistent store and whole files; resume finishes it.

One real `perfloop optimize --apply` process is stopped four times, each time at a
stage seen from the outside (the store's steps, the workers it runs, the apply
journal), once with Ctrl-C and three times with SIGKILL; each time the store
passes SQLite's integrity check, the project's file is either the original or the
whole patch, and `perfloop resume` picks up from the last completed step. A run stopped
as a CI job or a closed terminal stops it (SIGTERM, SIGHUP) leaves no worker running.
"""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from safety_helpers import (
    children_running,
    descendants,
    perfloop,
    query,
    running,
    start_perfloop,
    wait_for,
)

pytestmark = pytest.mark.slow

LIB = '''
def ways(amount, coins):
    """How many ways to pay `amount` with `coins`."""
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])
'''
BENCH = """
import time
from shop import ways

print(sum(ways(n, (1, 2, 5, 10)) for n in range(60, 66)))
time.sleep(1.0)  # a workload long enough to be caught in the act
"""
PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
functions = ["shop:ways"]
mutants = 0
fuzz-examples = 0
project-tests = false
measure-processes = 2
workload-runs = 2
"""


@pytest.fixture
def shop(make_project) -> Path:
    return make_project({"shop.py": LIB, "bench.py": BENCH, "pyproject.toml": PYPROJECT})


def steps(db: Path) -> dict[str, float]:
    return dict(query(db, "SELECT step, completed_at FROM run_steps"))


def check_consistent(shop: Path, db: Path) -> str:
    """The store is whole; the file is the original or the whole patch. Its run id."""
    assert query(db, "PRAGMA integrity_check") == [("ok",)]
    ((run_id, status),) = query(db, "SELECT run_id, status FROM runs")
    assert status in {"running", "interrupted"}
    source = (shop / "shop.py").read_text()
    assert source == LIB.lstrip("\n") or "functools.cache" in source
    for function in [row[0] for row in query(db, "SELECT function FROM captures")]:
        recorded = query(db, "SELECT COUNT(*) FROM call_records WHERE function=?", function)
        assert recorded[0][0] > 0  # a capture is stored whole or not at all
    return str(run_id)


def stop(process, how: int) -> int | None:
    process.send_signal(how)
    process.wait(timeout=120)
    return process.returncode


def test_a_run_killed_at_each_stage_resumes_to_the_end(shop: Path, tmp_path: Path) -> None:
    db = shop / ".perfloop" / "perfloop.db"
    log = tmp_path / "perfloop.log"

    # 1. SIGKILL during capture: profiled, not yet captured
    run = start_perfloop("optimize", "--apply", cwd=shop, log=log)
    wait_for(lambda: "profile" in steps(db), run, "the end of profiling")
    assert "capture" not in steps(db)
    assert stop(run, signal.SIGKILL) == -signal.SIGKILL
    run_id = check_consistent(shop, db)
    assert query(db, "SELECT COUNT(*) FROM captures") == [(0,)]
    profiled_at = steps(db)["profile"]

    # 2. Ctrl-C during verification: it says what was finished and how to resume
    run = start_perfloop("resume", run_id, cwd=shop, log=log)
    wait_for(lambda: children_running(run.pid, b"perfloop.verification"), run, "verification")
    assert stop(run, signal.SIGINT) == 130
    said = " ".join(log.read_text().split())
    assert f"run {run_id} interrupted. Finished: profile, capture." in said
    assert f"perfloop resume {run_id} --root {shop}" in said
    assert check_consistent(shop, db) == run_id
    assert query(db, "SELECT status FROM runs") == [("interrupted",)]

    # 3. SIGKILL during measurement
    run = start_perfloop("resume", run_id, cwd=shop, log=log)
    wait_for(lambda: children_running(run.pid, b"perfloop.measure"), run, "measurement")
    stop(run, signal.SIGKILL)
    check_consistent(shop, db)
    assert (shop / "shop.py").read_text() == LIB.lstrip("\n")

    # 4. SIGKILL during apply: the files are written, the check of them is under way
    journal = shop / ".perfloop" / "runs" / run_id / "backup" / "journal.json"

    def applied() -> bool:
        return journal.exists() and json.loads(journal.read_text())["state"] == "applied"

    run = start_perfloop("resume", run_id, cwd=shop, log=log)
    wait_for(applied, run, "the apply")
    stop(run, signal.SIGKILL)
    check_consistent(shop, db)
    assert "functools.cache" in (shop / "shop.py").read_text()  # whole, not half

    # 5. resume to the end: the unconfirmed apply is undone, then done again and checked
    done = perfloop("resume", run_id, "--json", cwd=shop)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)
    assert results["run_id"] == run_id and results["applied"] is True
    assert [t["status"] for t in results["targets"]] == ["improved"]
    assert any("stopped while applying" in note for note in results["notes"])
    assert query(db, "SELECT status FROM runs") == [("completed",)]
    assert steps(db)["profile"] == profiled_at  # profiled once, reused by every resume
    assert json.loads(journal.read_text())["state"] == "confirmed"
    assert "functools.cache" in (shop / "shop.py").read_text()
    assert (shop / ".perfloop" / "runs" / run_id / "results.json").exists()
    assert not any(p.name.startswith(".shop.py.") for p in shop.iterdir())  # no temp files
    os.sync()


def test_a_run_stopped_by_sigterm_or_sighup_leaves_no_worker_behind(
    shop: Path, tmp_path: Path
) -> None:
    """A cancelled CI job sends SIGTERM to perfloop alone, a closed terminal SIGHUP. The
    sandboxed workers run in sessions of their own, out of reach of both: perfloop has to
    stop them itself, as on Ctrl-C, and remove their folders."""
    db = shop / ".perfloop" / "perfloop.db"
    log = tmp_path / "perfloop.log"
    scratch = tmp_path / "tmp"  # perfloop's temporary folders, and nothing else's
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}

    def stopped_cleanly(run, how: int) -> None:
        workers = descendants(run.pid)
        assert workers  # the stage waited for is running in a worker
        assert stop(run, how) == 128 + how
        for _ in range(100):  # killed before perfloop exits; reaped by the init process
            if not any(running(pid) for pid in workers):
                break
            time.sleep(0.05)
        assert [pid for pid in workers if running(pid)] == []
        assert sorted(p.name for p in scratch.iterdir()) == []

    run = start_perfloop("optimize", cwd=shop, log=log, env=env)
    wait_for(lambda: children_running(run.pid, b"perfloop.verification"), run, "verification")
    stopped_cleanly(run, signal.SIGTERM)
    ((run_id, status),) = query(db, "SELECT run_id, status FROM runs")
    assert status == "interrupted"
    said = " ".join(log.read_text().split())
    assert f"run {run_id} interrupted." in said and f"perfloop resume {run_id}" in said

    run = start_perfloop("resume", str(run_id), cwd=shop, log=log, env=env)
    wait_for(lambda: children_running(run.pid, b"perfloop.measure"), run, "measurement")
    stopped_cleanly(run, signal.SIGHUP)
    assert query(db, "SELECT status FROM runs") == [("interrupted",)]
    assert (shop / "shop.py").read_text() == LIB.lstrip("\n")
