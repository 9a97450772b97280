"""Run a function from perfloop in a worker subprocess with limits.

Candidate code (from rules, an LLM, or a person) and the user's own code run
only here, never in the main process. The worker gets its own process group
(a timeout kills grandchildren too), CPU-time and address-space limits, a
scratch working directory, an environment without secrets, and a bytecode cache
of its own so a stale `.pyc` in the project can never stand in for a source.

The worker returns plain perfloop data; the main process unpickles it with an
unpickler that only accepts perfloop's model types and builtins.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Generic, TypeVar

from perfloop.model import Limits

T = TypeVar("T")

PACKAGE_PARENT = str(Path(__file__).resolve().parent.parent)
_SECRET_MARKERS = ("KEY", "TOKEN", "SECRET", "PASSWORD", "CREDENTIAL")


class WorkerStatus(str, Enum):
    OK = "ok"
    TIMEOUT = "timeout"
    MEMORY = "memory"
    CRASHED = "crashed"
    ERROR = "error"


@dataclass(frozen=True)
class WorkerOutcome(Generic[T]):
    status: WorkerStatus
    value: T | None
    message: str
    seconds: float
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.status is WorkerStatus.OK


class _SafeUnpickler(pickle.Unpickler):
    """Accept perfloop's own types and builtins only: a worker cannot smuggle code back."""

    def find_class(self, module: str, name: str) -> object:
        if module in {"builtins", "collections"} or module.startswith("perfloop."):
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a worker")


def safe_loads(data: bytes) -> object:
    return _SafeUnpickler(io.BytesIO(data)).load()


def scrubbed_environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for user and candidate code: no secrets, no inherited Python path."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not any(marker in name.upper() for marker in _SECRET_MARKERS)
        and name not in {"PYTHONPATH", "PYTHONSTARTUP", "PYTHONHOME"}
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    env.update(extra or {})
    return env


def python_path(*entries: str | Path) -> str:
    return os.pathsep.join([*(str(e) for e in entries), PACKAGE_PARENT])


def run_in_worker(
    entry: str,
    argument: object,
    *,
    root: Path,
    limits: Limits,
    scratch: Path | None = None,
) -> WorkerOutcome[object]:
    """Call `entry` ("package.module:function") with `argument` in a sandboxed worker.

    Never raises for anything the worker does: a hang, a crash, exhausted
    memory or an exception become a WorkerOutcome with a message.
    """
    with tempfile.TemporaryDirectory(prefix="perfloop-worker-", dir=scratch) as tmp:
        workdir = Path(tmp)
        (workdir / "task.pkl").write_bytes(pickle.dumps((entry, argument, limits)))
        (workdir / "cwd").mkdir()
        (workdir / "pycache").mkdir()
        env = scrubbed_environment(
            {
                "PYTHONPATH": python_path(root),
                "PYTHONPYCACHEPREFIX": str(workdir / "pycache"),
            }
        )
        started = time.perf_counter()
        with open(workdir / "stdout.txt", "wb") as out, open(workdir / "stderr.txt", "wb") as err:
            process = subprocess.Popen(
                [sys.executable, "-m", "perfloop.worker", str(workdir)],
                cwd=workdir / "cwd",
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                start_new_session=True,
            )
            timed_out = False
            try:
                process.wait(timeout=limits.wall_seconds)
            except subprocess.TimeoutExpired:
                timed_out = True
            finally:
                _kill_group(process)
        seconds = time.perf_counter() - started
        stderr_tail = _tail(workdir / "stderr.txt")
        if timed_out:
            return WorkerOutcome(
                WorkerStatus.TIMEOUT,
                None,
                f"did not finish within {limits.wall_seconds:g} s and was killed",
                seconds,
                stderr_tail,
            )
        return _read_result(workdir, process.returncode, seconds, stderr_tail)


def _read_result(
    workdir: Path, returncode: int, seconds: float, stderr_tail: str
) -> WorkerOutcome[object]:
    result_file = workdir / "result.pkl"
    if returncode < 0:
        name = signal.Signals(-returncode).name
        hint = " (likely the CPU-time limit)" if name in {"SIGXCPU", "SIGKILL"} else ""
        return WorkerOutcome(
            WorkerStatus.CRASHED,
            None,
            f"the worker process was killed by {name}{hint}",
            seconds,
            stderr_tail,
        )
    if not result_file.exists():
        return WorkerOutcome(
            WorkerStatus.CRASHED,
            None,
            f"the worker exited with code {returncode} before reporting a result "
            "(the code under test may call os._exit, or crashed the interpreter)",
            seconds,
            stderr_tail,
        )
    try:
        status, value, message = safe_loads(result_file.read_bytes())  # type: ignore[misc]
    except Exception as exc:  # a corrupted or forged result file
        return WorkerOutcome(
            WorkerStatus.CRASHED, None, f"unreadable worker result: {exc}", seconds, stderr_tail
        )
    return WorkerOutcome(WorkerStatus(status), value, message, seconds, stderr_tail)


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _tail(path: Path, limit: int = 2000) -> str:
    try:
        data = path.read_bytes()
    except OSError:
        return ""
    return data[-limit:].decode("utf-8", errors="replace")
