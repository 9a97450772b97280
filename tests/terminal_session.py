"""perfloop in a real pseudo-terminal (pexpect), as a person at a terminal runs it."""

from __future__ import annotations

import signal
import sqlite3
import sys
from pathlib import Path

import pexpect


def spawn(root: Path, *args: str, editor: Path | None = None, term: str = "dumb") -> pexpect.spawn:
    """`perfloop ARGS` in a pseudo-terminal in `root`, with `editor` (a Python script) as
    $EDITOR; what it shows is also kept in screen.log beside the project. TERM=dumb
    unless `term` names a terminal that draws rich's live display."""
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(root.parent),
        "TERM": term,
        "COLUMNS": "200",
    }
    if editor is not None:
        env["EDITOR"] = f"{sys.executable} {editor}"
    child = pexpect.spawn(
        sys.executable,
        ["-m", "perfloop", *args],
        cwd=str(root),
        env=env,
        encoding="utf-8",
        timeout=600,
        dimensions=(50, 200),
        logfile=None,
        # Ctrl-C reaches perfloop as at a terminal, also when the test run was started where
        # SIGINT is ignored (nohup, a script's background job), which children inherit: a
        # CI rehearsal started so waited 600 s after the ^C of the resume test
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    child.logfile_read = (root.parent / "screen.log").open("w", encoding="utf-8")
    return child


def listed(child: pexpect.spawn) -> dict[str, list[int]]:
    """The candidates on screen, by origin, with their numbers; waits for the prompt."""
    child.expect_exact("perfloop> ")
    numbers: dict[str, list[int]] = {}
    for line in child.before.splitlines():
        line = line.strip()
        if line.startswith("[") and "] " in line:
            number, _, rest = line[1:].partition("] ")
            numbers.setdefault(rest.split(": ", 1)[0], []).append(int(number))
    return numbers


def decisions(root: Path) -> list[tuple[str, str, str | None, str | None, str]]:
    with sqlite3.connect(root / ".perfloop" / "perfloop.db") as db:
        return db.execute(
            "SELECT function, action, origin, outcome_id, outcome FROM review_decisions "
            "ORDER BY seq"
        ).fetchall()
