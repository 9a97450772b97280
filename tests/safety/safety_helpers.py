"""Helpers for the safety tests: a real perfloop process, the store it writes and the
processes it starts."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def perfloop(*args: str, cwd: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfloop", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_perfloop(
    *args: str, cwd: Path, log: Path, env: dict[str, str] | None = None
) -> subprocess.Popen[bytes]:
    """perfloop as a user's terminal starts it: Ctrl-C interrupts it. (A test run started in
    the background by a non-interactive shell ignores SIGINT, and children inherit that: a
    Python child then never turns Ctrl-C into KeyboardInterrupt.)"""
    with open(log, "wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "perfloop", *args],
            cwd=cwd,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )


def wait_for(condition: Callable[[], object], process: subprocess.Popen[bytes], what: str) -> None:
    """Poll until `condition()` is true; fail if the process ends first or it takes too long."""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            pytest.fail(f"perfloop ended (code {process.returncode}) before {what}")
        time.sleep(0.02)
    process.kill()
    pytest.fail(f"perfloop never reached {what}")


def query(db: Path, sql: str, *args: object) -> list[tuple[object, ...]]:
    if not db.exists():
        return []
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=5)) as c:
        try:
            return c.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # a table not created yet
            return []


def children_running(parent: int, marker: bytes) -> bool:
    """A sandboxed worker of `parent` whose task names `marker` (e.g. an entry point): a
    fresh worker (`perfloop.sandbox.worker DIR`, a child), or a fork of a warm worker
    (`perfloop.sandbox.warm_worker`, a grandchild, working in DIR/cwd)."""
    for pid, command in _children(parent):
        try:
            if b"perfloop.sandbox.worker" in command:
                folder = Path(command[command.index(b"perfloop.sandbox.worker") + 1].decode())
                if marker in (folder / "task.pkl").read_bytes():
                    return True
            if b"perfloop.sandbox.warm_worker" in command:
                for task, _ in _children(pid):
                    folder = Path(os.readlink(f"/proc/{task}/cwd")).parent
                    if marker in (folder / "task.pkl").read_bytes():
                        return True
        except (OSError, ValueError, IndexError):
            continue
    return False


def descendants(parent: int) -> set[int]:
    """Every process started under `parent`, at any depth, that is running now."""
    found: set[int] = set()
    frontier = [parent]
    while frontier:
        for pid, _ in _children(frontier.pop()):
            if pid not in found:
                found.add(pid)
                frontier.append(pid)
    return found


def running(pid: int) -> bool:
    """Whether `pid` is a process that has not ended (a zombie has ended)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _children(parent: int) -> list[tuple[int, list[bytes]]]:
    """(pid, command line) of each process whose parent is `parent`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                found.append((int(entry.name), (entry / "cmdline").read_bytes().split(b"\0")))
        except (OSError, ValueError, IndexError):
            continue
    return found
