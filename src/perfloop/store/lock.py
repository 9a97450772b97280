"""One perfloop run per project at a time.

Two runs on one project would read files the other is patching and write the
same store, so a run holds an exclusive `flock` on `.perfloop/lock` while it
works. The kernel drops the lock when the process ends, however it ends (even
SIGKILL), so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from perfloop.config import ConfigError


class ProjectBusy(ConfigError):
    """Another perfloop run holds the project's lock."""


class ProjectNotWritable(ConfigError):
    """perfloop cannot create its folder in the project (read-only file system, permissions)."""


def perfloop_folder(root: Path) -> Path:
    """`.perfloop/` in the project, created if needed; ProjectNotWritable if it cannot be."""
    folder = root / ".perfloop"
    try:
        folder.mkdir(exist_ok=True)
        probe = folder / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise ProjectNotWritable(
            f"perfloop cannot write to {folder} ({exc.strerror or exc}); it keeps its run "
            "store, reports and backups there. Make the project writable, or run perfloop on "
            "a writable copy of it. Nothing was changed."
        ) from exc
    return folder


@contextmanager
def project_lock(root: Path, run_id: str, command: str = "optimize") -> Iterator[None]:
    """Hold the project's lock for the body; ProjectBusy at once if another run has it."""
    path = perfloop_folder(root) / "lock"
    handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 (held for the whole body)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "a run"
            raise ProjectBusy(
                f"another perfloop run is working on {root} ({holder}); wait for it to "
                "finish or stop it first: two runs at once would patch the same files"
            ) from None
        handle.seek(0)
        handle.truncate()
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        handle.write(f"perfloop {command} {run_id}, pid {os.getpid()}, since {started}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing drops the lock
