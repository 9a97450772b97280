"""A warm worker: `python -m perfloop.sandbox.warm_worker ROOT MODULE...`, started and
driven by perfloop.sandbox.warm.

A cold worker (perfloop.sandbox.worker) is a new interpreter per task, which imports
perfloop's verification modules, Hypothesis and the project's modules again, compiling
them from source each time (its bytecode cache is empty, on purpose). A warm worker does
that once, then serves tasks one at a time, each in a fork of itself:

- at start it cuts itself off the network (the namespace its forks inherit), imports
  perfloop's verification modules, then the project modules it was started for (the
  target's module: the user's original code, never a candidate, with the trust capture
  gives it, outside the kernel's boundary but inside the network namespace), then
  Hypothesis, in the order a cold fuzzing worker imports them (a project module that
  looks at what is imported sees what it sees there);
- per task it checks that none of the project's files it imported has changed since (if
  one has, it says so and ends: perfloop starts a new one), then forks;
- the fork is the task's worker: a session of its own (a timeout kills its whole group),
  the task's folder as its working directory, its output, temporary folder and bytecode
  cache, dies with the warm worker, and from there does what a cold worker does
  (`worker.run_and_exit`): enters the kernel's boundary, applies the limits, arms the
  tripwire, runs the task, writes its result, ends with `os._exit`.

So what persists between tasks is exactly what this process imported before forking;
nothing a task does (a candidate's module globals, a cache it filled, a module it
imported, a class attribute it set) reaches the next task, which starts from a new fork.
Only the original code is ever imported here; candidate code runs only in the forks.

Protocol, one JSON object per line each way, on standard input and output (which the
process keeps for itself; what imported code prints goes to standard error):
    in:  {"workdir": DIR, "environment": {NAME: VALUE}}
    out: {"ready": ISOLATION} once, when it can serve tasks, or {"unusable": WHY}
         {"started": PID}, then {"ended": PID, "returncode": CODE} per task
         {"stale": FILE}, instead, when a project file changed (then it ends)
End of input ends it (and the task running, if any). Linux only (`os.pidfd_open`).
Standard library only, besides perfloop's worker modules.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import sys
import tempfile
import threading
from pathlib import Path

from perfloop.sandbox import worker
from perfloop.user_site import add_user_site

# perfloop's side of the verification tasks that may run warm (imported first) ...
PERFLOOP_MODULES = (
    "perfloop.verification.replay",
    "perfloop.verification.fuzz",
    "perfloop.verification.interaction",
    "perfloop.verification.symbolic",
    "perfloop.outside.counterexample",
    "perfloop.runtime.loader",
)
# ... and the test-case generator two of them use, with perfloop's strategies on it
# (imported after the project's modules; CrossHair is not: importing it patches builtins)
TOOL_MODULES = (
    "hypothesis",
    "hypothesis.strategies",
    "hypothesis.stateful",
    "perfloop.verification.strategies",
)


class WarmWorker:
    def __init__(self, root: Path, commands: int, replies: int) -> None:
        self.root = root
        self.commands = commands
        self.replies = replies
        self.pending = b""
        self.files: dict[str, tuple[int, int, int]] = {}  # project file -> (inode, mtime, size)

    def say(self, **message: object) -> None:
        data = (json.dumps(message) + "\n").encode()
        while data:
            data = data[os.write(self.replies, data) :]

    def next_command(self) -> dict[str, object] | None:
        while b"\n" not in self.pending:
            chunk = os.read(self.commands, 65536)
            if not chunk:
                return None
            self.pending += chunk
        line, _, self.pending = self.pending.partition(b"\n")
        return json.loads(line)

    def preload(self, names: list[str]) -> str | None:
        """Import the project's modules; note the project files they load. Why not, if one
        fails (its task's worker should import it itself and say why)."""
        before = set(sys.modules)
        for name in names:
            try:
                importlib.import_module(name)
            except BaseException as exc:
                return f"importing {name} failed: {exc!r}"
        root = str(self.root)
        for name in set(sys.modules) - before:
            path = getattr(sys.modules.get(name), "__file__", None)
            if isinstance(path, str) and os.path.realpath(path).startswith(root + os.sep):
                with contextlib.suppress(OSError):
                    self.files[path] = _stamp(path)
        return None

    def changed_file(self) -> str | None:
        for path, stamp in self.files.items():
            try:
                if _stamp(path) != stamp:
                    return path
            except OSError:
                return path
        return None

    def serve(self, isolation: str) -> None:
        while (command := self.next_command()) is not None:
            changed = self.changed_file()
            if changed is not None:
                self.say(stale=changed)
                return
            for stream in (sys.stdout, sys.stderr):
                with contextlib.suppress(OSError, ValueError):
                    stream.flush()
            pid = os.fork()
            if pid == 0:
                try:
                    self._become_task_worker(command, isolation)
                finally:  # whatever the task did to os._exit or raised: never back in here
                    _exit(70)
            self.say(started=pid)
            if not self._wait(pid):
                return

    def _wait(self, pid: int) -> bool:
        """Wait for the task's worker to end and report it; False if perfloop went away."""
        pidfd = os.pidfd_open(pid)
        try:
            while True:
                ready, _, _ = select.select([pidfd, self.commands], [], [])
                if pidfd in ready:
                    _, status = os.waitpid(pid, 0)
                    self.say(ended=pid, returncode=os.waitstatus_to_exitcode(status))
                    return True
                chunk = os.read(self.commands, 65536)
                if not chunk:  # perfloop ended: so does the task
                    with contextlib.suppress(OSError):
                        os.killpg(pid, signal.SIGKILL)
                    with contextlib.suppress(OSError):
                        os.kill(pid, signal.SIGKILL)
                    return False
                self.pending += chunk  # perfloop sends the next task only after "ended"
        finally:
            os.close(pidfd)

    def _become_task_worker(self, command: dict[str, object], isolation: str) -> None:
        """Set up as a cold worker would be, then run the task and end (run_and_exit)."""
        os.close(self.commands)
        os.close(self.replies)
        os.setsid()
        worker.die_with_parent()
        workdir = Path(str(command["workdir"]))
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, 0)
        for descriptor, name in ((1, "stdout.txt"), (2, "stderr.txt")):
            opened = os.open(workdir / name, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            os.dup2(opened, descriptor)
            os.close(opened)
        os.close(null)
        os.closerange(3, os.sysconf("SC_OPEN_MAX"))  # as a fresh worker: nothing else inherited
        sys.argv = [str(worker.__file__), str(workdir)]  # as `python -m ...worker DIR`
        cwd = workdir / "cwd"
        os.chdir(cwd)
        if sys.path and sys.path[0] == os.path.realpath(_STARTED_IN):
            sys.path[0] = str(cwd)  # as `python -m` would have set it there
        environment = command.get("environment", {})
        assert isinstance(environment, dict)
        os.environ.update({str(k): str(v) for k, v in environment.items()})
        sys.pycache_prefix = os.environ.get("PYTHONPYCACHEPREFIX")
        tempfile.tempdir = None  # found again from TMPDIR
        worker.run_and_exit(workdir, isolation)


def _stamp(path: str) -> tuple[int, int, int]:
    found = os.stat(path)
    return found.st_ino, found.st_mtime_ns, found.st_size


_STARTED_IN = os.getcwd()
_exit = os._exit  # bound here: a task's code may replace os._exit


def main(root: Path, modules: list[str]) -> None:
    add_user_site()
    commands, replies = os.dup(0), os.dup(1)  # the protocol's; imported code prints elsewhere
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)
    serving = WarmWorker(root, commands, replies)
    if not hasattr(os, "pidfd_open"):
        serving.say(unusable="os.pidfd_open is not available (Linux 5.3+ only)")
        return
    isolation = worker.isolate_network()
    for name in PERFLOOP_MODULES:
        importlib.import_module(name)
    failed = serving.preload(modules)
    if failed is not None:
        serving.say(unusable=failed)
        return
    for name in TOOL_MODULES:
        with contextlib.suppress(ImportError):
            importlib.import_module(name)
    if threading.active_count() > 1:  # a fork would copy locks another thread holds
        serving.say(unusable=f"{threading.active_count()} threads run after the imports")
        return
    serving.say(ready=isolation)
    serving.serve(isolation)


if __name__ == "__main__":
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 3000))
    main(Path(os.path.realpath(sys.argv[1])), sys.argv[2:])
