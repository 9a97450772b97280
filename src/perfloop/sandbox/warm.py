"""Warm workers on perfloop's side: start them, hand them tasks, keep the idle ones.

A verification task that asks for it (`run_in_worker(..., warm=MODULES)`) runs in a fork
of a warm worker (perfloop.sandbox.warm_worker) that has imported perfloop's verification
modules, the target's module and Hypothesis once, instead of in a new interpreter that
imports (and, with its empty bytecode cache, compiles) them all again: about 0.5 s of a
fresh replay worker's start, 1 s of a fuzzing one's, against a few milliseconds for a
fork. The fork enters the same boundary, limits and tripwire as a fresh worker, in a
scratch folder of its own, and no state of one task reaches the next: each task is a
new fork of a process that has run no task (see warm_worker for what it holds).

A warm worker serves one target module of one project (with one import path and
environment); idle ones are kept, at most as many as workers may run at once
(`--workers`), and end with perfloop (their standard input closes). Timings never use
them: a timing starts a fresh interpreter (a fork's copy-on-write memory would bias
it). The project's test suite does not either (perfloop's imports could change how the
user's tests behave). `--no-warm-workers` (`warm-workers = false`) turns them off.

A warm worker that cannot serve (no `os.pidfd_open`, the target's module does not
import, threads running after its imports, it died) is dropped and the task runs fresh;
runner.run_in_worker also runs a task again in a fresh worker when its warm run ended in
anything but a result or a timeout, so a warm worker is never why a task failed.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

_START_SECONDS = 60.0  # for a warm worker to import perfloop's modules and say it is ready
_REAP_SECONDS = 10.0  # for a killed task's end to be reported


class WarmFailure(Exception):
    """The warm worker could not run the task (it died, or cannot serve): run it cold."""


class WarmWorkerDidNotStart(WarmFailure):
    """No warm worker for this key could be started (its module does not import outside a
    task's folder, threads run after its imports, ...): its tasks run fresh from now on."""


class StaleWarmWorker(WarmFailure):
    """A project file changed since the warm worker imported it: start a new one."""


@dataclass(frozen=True)
class WarmKey:
    """What a warm worker's imports depend on: tasks with the same key may share one."""

    root: str
    import_path: tuple[str, ...]
    environment: tuple[tuple[str, str], ...]
    modules: tuple[str, ...]  # the project modules it imports (the target's)


class WarmWorker:
    """One warm worker process, serving one task at a time."""

    def __init__(self, key: WarmKey, python_path: str) -> None:
        self.key = key
        self.folder = Path(tempfile.mkdtemp(prefix="perfloop-warm-"))
        for name in ("cwd", "pycache", "tmp"):
            (self.folder / name).mkdir()
        env = {
            **dict(key.environment),
            "PYTHONPATH": python_path,
            "PYTHONPYCACHEPREFIX": str(self.folder / "pycache"),
            "TMPDIR": str(self.folder / "tmp"),
        }
        with open(self.folder / "stderr.txt", "wb") as err:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "perfloop.sandbox.warm_worker", key.root, *key.modules],
                cwd=self.folder / "cwd",
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=err,
                start_new_session=True,
            )
        self._pending = b""
        try:
            ready = self._reply(time.monotonic() + _START_SECONDS)
        except (WarmFailure, _TimedOut) as exc:
            self.close()
            raise WarmWorkerDidNotStart(f"the warm worker did not start: {exc}") from exc
        if "ready" not in ready:
            self.close()
            raise WarmWorkerDidNotStart(f"the warm worker cannot serve: {ready.get('unusable')}")
        self.isolation = str(ready["ready"])

    def run(
        self,
        workdir: Path,
        environment: dict[str, str],
        wall_seconds: float,
        check_stopping: Callable[[], None],
    ) -> int | None:
        """The task's return code as Popen gives it (negative: the signal), None if it did
        not end within `wall_seconds` (it was killed). Raises WarmFailure if this warm
        worker cannot run it (the caller runs it cold), and what `check_stopping` raises,
        after killing the task, when the run stops."""
        deadline = time.monotonic() + wall_seconds
        command = {"workdir": str(workdir), "environment": environment}
        self._send(command)
        try:
            reply = self._reply(deadline, check_stopping)
        except BaseException as exc:
            self.close()  # still importing: nothing of the task has run
            if isinstance(exc, _TimedOut):
                raise WarmFailure("the warm worker did not start the task in time") from exc
            raise
        if "started" not in reply:
            self.close()
            raise WarmFailure(f"the warm worker did not start the task: {reply}")
        pid = int(reply["started"])
        try:
            ended = self._reply(deadline, check_stopping)
        except _TimedOut:
            self._kill_task(pid)
            return None
        except BaseException:
            self._kill_task(pid)
            raise
        return int(ended["returncode"])

    def _kill_task(self, pid: int) -> None:
        for kill in (os.killpg, os.kill):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                kill(pid, signal.SIGKILL)
        try:
            self._reply(time.monotonic() + _REAP_SECONDS)
        except (WarmFailure, _TimedOut):
            self.close()

    def _send(self, message: dict[str, object]) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write((json.dumps(message) + "\n").encode())
            self.process.stdin.flush()
        except OSError as exc:
            self.close()
            raise WarmFailure(f"the warm worker is gone ({exc})") from exc

    def _reply(
        self, deadline: float, check_stopping: Callable[[], None] = lambda: None
    ) -> dict[str, object]:
        assert self.process.stdout is not None
        descriptor = self.process.stdout.fileno()
        while b"\n" not in self._pending:
            check_stopping()
            left = deadline - time.monotonic()
            if left <= 0:
                raise _TimedOut
            ready, _, _ = select.select([descriptor], [], [], min(0.5, left))
            if ready:
                chunk = os.read(descriptor, 65536)
                if not chunk:
                    self.close()
                    raise WarmFailure(f"the warm worker ended: {self._stderr_tail()}")
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        reply = json.loads(line)
        if "stale" in reply:
            self.close()
            raise StaleWarmWorker(f"{reply['stale']} changed since the warm worker imported it")
        return reply  # type: ignore[no-any-return]

    def _stderr_tail(self) -> str:
        with contextlib.suppress(OSError):
            return (self.folder / "stderr.txt").read_bytes()[-2000:].decode(errors="replace")
        return ""

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def close(self) -> None:
        with contextlib.suppress(OSError):
            if self.process.stdin is not None:
                self.process.stdin.close()
        if self.process.poll() is None:  # once reaped, its pid may be another process's
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        shutil.rmtree(self.folder, ignore_errors=True)


class _TimedOut(Exception):
    pass


class WarmPool:
    """The idle warm workers of this process, by key."""

    def __init__(self) -> None:
        self._idle: dict[WarmKey, list[WarmWorker]] = {}
        self._lock = threading.Lock()
        self._unusable: dict[WarmKey, str] = {}

    @contextlib.contextmanager
    def worker(self, key: WarmKey, python_path: str, keep: int) -> Iterator[WarmWorker]:
        """An idle warm worker for `key` (a new one if none is idle), given back after the
        block if it still serves; at most `keep` idle ones are kept in all."""
        with self._lock:
            if key in self._unusable:
                raise WarmFailure(self._unusable[key])
            idle = self._idle.get(key, [])
            found = idle.pop() if idle else None
        if found is None or not found.alive:
            try:
                found = WarmWorker(key, python_path)
            except WarmWorkerDidNotStart as exc:  # nor will the next: stop trying this key
                with self._lock:
                    self._unusable[key] = str(exc)
                raise
        try:
            yield found
        except BaseException:
            found.close()
            raise
        if not found.alive:
            return
        with self._lock:
            self._idle.setdefault(key, []).append(found)
            surplus = self._surplus(keep)
        for extra in surplus:
            extra.close()

    def _surplus(self, keep: int) -> list[WarmWorker]:
        everyone = [w for workers in self._idle.values() for w in workers]
        extra = everyone[: max(0, len(everyone) - keep)]
        for worker in extra:
            self._idle[worker.key].remove(worker)
        return extra

    def close(self) -> None:
        with self._lock:
            everyone = [w for workers in self._idle.values() for w in workers]
            self._idle.clear()
        for worker in everyone:
            worker.close()


POOL = WarmPool()
atexit.register(POOL.close)
