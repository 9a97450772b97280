"""Run the user's workload command as a whole process, optionally with perfloop's hooks.

The command runs through the shell in the project root. `python` in it resolves
to the interpreter perfloop runs under (its folder leads PATH), so captured
values unpickle in perfloop's workers. Hooks (profiler, call recorder, source
overrides) are switched on by a spec file named in PERFLOOP_RUNTIME and loaded
by a `sitecustomize` on PYTHONPATH; with no spec, the workload runs untouched.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import Limits
from perfloop.runtime.hooks import SPEC_VARIABLE
from perfloop.sandbox import python_path, scrubbed_environment

BOOT_DIR = Path(__file__).resolve().parent / "runtime" / "boot"


@dataclass(frozen=True)
class WorkloadRun:
    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def failure_message(self) -> str:
        if self.timed_out:
            return (
                f"the workload {self.command!r} did not finish within {self.seconds:.0f} s; "
                "raise --workload-timeout or give a shorter workload"
            )
        tail = "\n".join(self.stderr.strip().splitlines()[-8:])
        return (
            f"the workload {self.command!r} exited with code {self.returncode}; "
            f"run it by hand in the project root to see why. Its last error lines:\n{tail}"
        )


@dataclass(frozen=True)
class RuntimeSpec:
    """What the hooks inside the workload do; see perfloop.runtime.hooks."""

    profile_dir: Path | None = None
    capture: dict[str, object] | None = None
    overrides: dict[str, tuple[str, str]] | None = None
    lines: dict[str, object] | None = None


class WorkloadError(Exception):
    """The workload itself failed (not perfloop)."""


def run_workload(
    command: str,
    root: Path,
    *,
    spec: RuntimeSpec | None = None,
    timeout: float = 600.0,
    limits: Limits | None = None,
) -> WorkloadRun:
    """Run `command` in `root` and return what it printed and how long it took.

    With `limits`, the command runs under their CPU-time and address-space limits
    (through perfloop.launch); the wall clock is always `timeout`."""
    with tempfile.TemporaryDirectory(prefix="perfloop-workload-") as tmp:
        extra = {
            "PYTHONPATH": python_path(BOOT_DIR, root),
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
            "PYTHONPYCACHEPREFIX": str(Path(tmp) / "pycache"),
        }
        if spec is not None:
            spec_file = Path(tmp) / "spec.json"
            spec_file.write_text(
                json.dumps(
                    {
                        "profile_dir": str(spec.profile_dir) if spec.profile_dir else None,
                        "capture": spec.capture,
                        "lines": spec.lines,
                        "overrides": spec.overrides,
                    }
                )
            )
            extra[SPEC_VARIABLE] = str(spec_file)
        started = time.perf_counter()
        launch = []
        if limits is not None:
            launch = [sys.executable, "-m", "perfloop.launch"]
            launch += [str(limits.cpu_seconds), str(limits.memory_mb), "/bin/sh", "-c"]
        process = subprocess.Popen(
            [*launch, command] if launch else command,
            shell=not launch,
            cwd=root,
            env=scrubbed_environment(extra),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            timed_out = True
        except BaseException:  # Ctrl-C: the workload's whole group goes too
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        seconds = time.perf_counter() - started
        return WorkloadRun(command, process.returncode, stdout, stderr, seconds, timed_out)
