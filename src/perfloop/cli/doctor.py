"""`perfloop doctor`: which layers of the sandbox hold on this machine, shown by trying.

It asks a real worker which layers it entered (perfloop.sandbox.runner.worker_isolation),
then tries each escape the layers are there to stop, from inside a worker whose
tripwire the attempt first switches off (as hostile code can), again from a fork of a
warm worker (perfloop.sandbox.warm: where replay, fuzzing and interaction run candidate
code by default; its parent is the warm worker, not perfloop), and once from a workload
run with candidate code in place: write into a folder standing for the project, plant a
symlink there, read a planted credential from a home folder, read its parent's
environment through /proc, write its own memory, fork, exec and open a socket through
ctypes, signal its parent. Nothing of the user's is touched: the "project" and the
"home folder" are temporary folders made for the check.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shlex
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from perfloop.cli.common import add_json_argument
from perfloop.model import Limits
from perfloop.report.terminal import console_for as terminal
from perfloop.sandbox.runner import (
    WorkerOutcome,
    WorkerStatus,
    isolation_gaps,
    read_output,
    run_in_worker,
    run_job,
    worker_isolation,
    worker_job,
)
from perfloop.workload import run_workload

NAME = "doctor"
HOW_TO_GET = {
    "network": "user namespaces (sysctl kernel.unprivileged_userns_clone=1, or run as root)",
    "files": "Linux 5.13+ with Landlock enabled (landlock in the kernel's lsm= list)",
    "system calls": "libseccomp (apt-get install libseccomp2; pip install pyseccomp)",
    "signals": "Linux 6.12+ (Landlock ABI 6), or seccomp for the narrower fallback",
    "shared memory": "mount namespaces (root, or user namespaces); without them a workload "
    "with candidate code in place cannot use multiprocessing",
}


@dataclass(frozen=True)
class Escape:
    name: str  # the function in perfloop.sandbox.boundary_checks a worker runs
    tries: str  # what it does, for the table
    layer: str  # which layer should stop it
    from_fork: str = ""  # what it tries from a warm worker's fork, where that differs


ESCAPES = (
    Escape("write_project", "write a file into the project", "files"),
    Escape("symlink_into_project", "write through a symlink into the project", "files"),
    Escape("read_credential", "read ~/.ssh/ (a planted key)", "files"),
    Escape(
        "read_perfloop_environment",
        "read perfloop's environment in /proc",
        "files",
        "read its warm worker's environment in /proc",
    ),
    Escape("write_own_memory", "open /proc/self/mem for writing", "files"),
    Escape("raw_fork", "fork through ctypes", "system calls"),
    Escape("raw_exec", "exec /bin/true through ctypes", "system calls"),
    Escape("raw_socket", "open an AF_INET socket through ctypes", "system calls"),
    Escape("signal_perfloop", "send perfloop a signal", "signals", "send its warm worker a signal"),
)


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="show which layers of the sandbox hold on this machine, by trying to escape",
        description="Run a worker and a workload the way candidate code runs, try each escape "
        "the sandbox is there to stop (with the tripwire switched off), and show which layers "
        "are active. Touches nothing of yours: it makes its own temporary folders.",
    )
    add_json_argument(parser, "print the findings as JSON (for a CI job that needs every layer)")
    return parser


@dataclass(frozen=True)
class Layer:
    name: str
    active: bool
    detail: str


@dataclass(frozen=True)
class Attempt:
    origin: str  # "worker", "warm fork" or "workload"
    tries: str
    layer: str  # the layer there to stop it
    outcome: str

    @property
    def stopped(self) -> bool:
        """Refused, or not possible here (no warm worker starts: every task runs fresh)."""
        return self.outcome.startswith(("refused", _NO_WARM_WORKER))


@dataclass(frozen=True)
class Findings:
    layers: tuple[Layer, ...]
    attempts: tuple[Attempt, ...]
    gaps: tuple[str, ...]  # "layer: detail" of each missing layer

    @property
    def contained(self) -> bool:
        return not self.gaps and all(attempt.stopped for attempt in self.attempts)


def run(args: argparse.Namespace) -> int:
    findings = examine()
    if args.json:
        print(json.dumps(findings_document(findings), indent=2))
    else:
        _print(findings)
    return 0 if findings.contained else 1


def examine() -> Findings:
    """Ask a worker and a workload run which layers they entered, and try every escape."""
    with _stand_ins() as (project, home):
        isolation = worker_isolation(project)
        attempts = [
            Attempt("worker", escape.tries, escape.layer, _attempt_in_worker(escape, project, home))
            for escape in ESCAPES
        ]
        attempts += [
            Attempt(
                "warm fork",
                escape.from_fork or escape.tries,
                escape.layer,
                _attempt_in_warm_fork(escape, project, home),
            )
            for escape in ESCAPES
        ]
        workload, workload_isolation = _attempt_in_workload(project)
    attempts.append(Attempt("workload", "write a file into the project", "files", workload))
    shared_memory = [
        (f"{name} (workloads)", detail)
        for name, detail in _layers(workload_isolation)
        if name == "shared memory"
    ]
    layers = tuple(
        Layer(name, not (detail.startswith("none") or "read-only" in detail), detail)
        for name, detail in _layers(isolation) + shared_memory
    )
    gaps = isolation_gaps(isolation) + [
        f"shared memory: {detail}" for name, detail in shared_memory if "read-only" in detail
    ]
    return Findings(layers, tuple(attempts), tuple(gaps))


def findings_document(findings: Findings) -> dict[str, object]:
    """`perfloop doctor --json`: schema perfloop.doctor/1."""
    return {
        "schema": "perfloop.doctor/1",
        "contained": findings.contained,
        "layers": [
            {"layer": layer.name, "active": layer.active, "detail": layer.detail}
            for layer in findings.layers
        ],
        "escapes": [
            {
                "from": attempt.origin,
                "tries": attempt.tries,
                "stopped_by": attempt.layer,
                "result": attempt.outcome,
                "stopped": attempt.stopped,
            }
            for attempt in findings.attempts
        ],
        "missing": [
            {"layer": gap, "how_to_get": HOW_TO_GET.get(gap.split(":")[0], "see the README")}
            for gap in findings.gaps
        ],
    }


def _print(findings: Findings) -> None:
    console = terminal()
    layers = Table(title="Layers around candidate code", title_justify="left")
    for column in ("layer", "state", "detail"):
        layers.add_column(column)
    for layer in findings.layers:
        state = "[green]active[/green]" if layer.active else "[red]missing[/red]"
        layers.add_row(layer.name, state, layer.detail)
    console.print(layers)
    checks = Table(title="Escapes tried (tripwire switched off)", title_justify="left")
    for column in ("from", "tries to", "stopped by", "result"):
        checks.add_column(column)
    for attempt in findings.attempts:
        colour = "green" if attempt.stopped else "red"
        result = f"[{colour}]{attempt.outcome}[/{colour}]"
        checks.add_row(attempt.origin, attempt.tries, attempt.layer, result)
    console.print(checks)
    for gap in findings.gaps:
        layer = gap.split(":")[0]
        console.print(f"missing {gap}; to have it: {HOW_TO_GET.get(layer, 'see the README')}")
    if not findings.contained:
        console.print(
            "[yellow]perfloop still runs here; the tripwire and the limits stop what they see, "
            "and the runs name the missing layers (Safety in the README)[/yellow]"
        )
        return
    console.print("[green]every layer is active and every escape tried was stopped[/green]")


@contextlib.contextmanager
def _stand_ins() -> Iterator[tuple[Path, Path]]:
    """A temporary project and a temporary home folder with a planted key; HOME points
    to it while the checks run (workers hide credential stores of $HOME)."""
    with tempfile.TemporaryDirectory(prefix="perfloop-doctor-") as tmp:
        project, home = Path(tmp) / "project", Path(tmp) / "home"
        (home / ".ssh").mkdir(parents=True)
        (home / ".ssh" / "id_planted").write_text("a planted key, not a real one")
        project.mkdir()
        (project / "module.py").write_text("VALUE = 1\n")
        saved = os.environ.get("HOME")
        os.environ["HOME"] = str(home)
        try:
            yield project, home
        finally:
            if saved is None:
                del os.environ["HOME"]
            else:
                os.environ["HOME"] = saved


def _attempt_in_worker(escape: Escape, project: Path, home: Path) -> str:
    entry = f"perfloop.sandbox.boundary_checks:{escape.name}"
    target = _escape_target(escape, project, home)
    return _answer(run_in_worker(entry, target, root=project, limits=_LIMITS, here=True))


def _attempt_in_warm_fork(escape: Escape, project: Path, home: Path) -> str:
    """The escape from a fork of a warm worker that imported the stand-in project's module
    (as a replay task does); a warm worker that cannot start here leaves every task to
    fresh workers, which the attempts above tried."""
    entry = f"perfloop.sandbox.boundary_checks:{escape.name}"
    target = _escape_target(escape, project, home)
    job = worker_job(entry, target, root=project, limits=_LIMITS, preload=("module",))
    output = run_job(job)
    if not output.warm:
        return f"{_NO_WARM_WORKER} (every task runs in a fresh worker)"
    return _answer(read_output(output, _LIMITS, object))


def _answer(outcome: WorkerOutcome[object]) -> str:
    """What the escape got (`refused (EACCES)`, `done`), or how its worker ended."""
    if outcome.status is not WorkerStatus.OK:
        return f"worker {outcome.status.value}: {outcome.message.splitlines()[-1][:80]}"
    return str(outcome.value)


_LIMITS = Limits(30, 30)
_NO_WARM_WORKER = "not possible: no warm worker starts here"


def _escape_target(escape: Escape, project: Path, home: Path) -> str:
    return str(
        {
            "write_project": project / "module.py",
            "symlink_into_project": project / "module.py",
            "read_credential": home / ".ssh" / "id_planted",
        }.get(escape.name, project)
    )


def _layers(isolation: str) -> list[tuple[str, str]]:
    """(layer, detail) from an isolation string: the network first, then named layers."""
    if not isolation:
        return []
    network, *others = isolation.split("; ")
    return [("network", network), *(tuple(part.split(": ", 1)) for part in others)]  # type: ignore[list-item]


def _attempt_in_workload(project: Path) -> tuple[str, str]:
    """What a workload run with candidate code got when it wrote into the project, and
    the layers it ran inside."""
    script = (
        "import sys\n"
        "try:\n"
        f"    open({str(project / 'module.py')!r}, 'a').write('# written')\n"
        "except PermissionError:\n"
        "    sys.exit('refused (EACCES)')\n"
        "print('done')\n"
    )
    command = shlex.join([sys.executable, "-c", script])
    run = run_workload(command, project, candidate_code=True)
    if run.returncode == 0:
        outcome = "done" if "done" in run.stdout else f"ran: {run.stdout.strip()[:60]}"
    else:
        last = run.stderr.strip().splitlines()[-1] if run.stderr.strip() else ""
        outcome = last if last.startswith("refused") else f"failed: {last[:80]}"
    return outcome, run.boundary
