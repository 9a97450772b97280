"""Run the user's workload command as a whole process, optionally with perfloop's hooks.

The command runs through the shell in the project root, in the user's own environment
(PYTHONPATH included). perfloop adds only: its interpreter's folder at the head of PATH
(so `python` in the command is the interpreter perfloop runs under, and captured values
unpickle in perfloop's workers), its boot folder at the head of PYTHONPATH and the
project root and perfloop's package at its end, and a bytecode cache outside the project
(perfloop.bytecode; with it, PYTHONDONTWRITEBYTECODE is dropped, as nothing is written
into the project anyway).
Runs with candidate code in place (`candidate_code`: the whole-workload A/B, the check
after --apply) also lose the variables whose names look like secrets, as workers do (a
failure message names them), and run inside the kernel's boundary (perfloop.sandbox.boundary,
entered by perfloop.sandbox.launch): off the network, writing only to their own TMPDIR and to
the paths the user named as the workload's outputs (`workload-writes`), with
credentials and other processes unreadable. Hooks (profiler, call recorder, source overrides) are
switched on by a spec file named in PERFLOOP_RUNTIME and loaded by a `sitecustomize`
on PYTHONPATH; with no spec, the workload runs untouched. A hooked run also reports how
it imported the project's modules (`WorkloadRun.imports`), and workers for this root
then import them the same way (perfloop.sandbox.runner.use_import_path).
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfloop import bytecode
from perfloop.model import ImportedModules, Limits
from perfloop.project import default_import_roots
from perfloop.runtime.hooks import SPEC_VARIABLE
from perfloop.sandbox import boundary
from perfloop.sandbox.runner import PACKAGE_PARENT, secret_variables, use_import_path
from perfloop.user_site import site_variable, user_environment

BOOT_DIR = Path(__file__).resolve().parent / "runtime" / "boot"


@dataclass(frozen=True)
class WorkloadRun:
    command: str
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    timed_out: bool = False
    imports: ImportedModules | None = None  # how a hooked run imported the project's code
    withheld: tuple[str, ...] = ()  # secret-looking variables this run did not get
    boundary: str = (
        ""  # the layers a run with candidate code was inside (perfloop.sandbox.boundary)
    )
    writes: tuple[str, ...] = ()  # where such a run was allowed to write besides TMPDIR
    # CPU seconds perfloop's launcher spent before the command started (limits, boundary);
    # `seconds` already starts when the launcher handed over, and CPU measurements of the
    # run subtract this, so both sides of an A/B are timed without perfloop's own start-up
    launcher_cpu_seconds: float = 0.0
    # perfloop's hooks were to observe the run (or serve candidate code in it) and loaded
    # in none of its Python processes: what it reports is not what perfloop asked for
    hooks_missing: bool = False

    @property
    def succeeded(self) -> bool:
        return self.returncode == 0 and not self.timed_out and not self.hooks_missing

    def failure_message(self) -> str:
        if self.timed_out:
            return (
                f"the workload {self.command!r} did not finish within {self.seconds:.0f} s; "
                "raise --workload-timeout or give a shorter workload"
            )
        if self.hooks_missing:
            return hooks_missing_message(self.command)
        tail = "\n".join(self.stderr.strip().splitlines()[-8:])
        withheld = (
            f" This run had candidate code in place, so it did not get the environment "
            f"variables {', '.join(self.withheld)}; a workload that needs them fails here."
            if self.withheld
            else ""
        )
        confined = ""
        if "files: Landlock" in self.boundary:
            where = ", ".join(self.writes) if self.writes else "nowhere but its TMPDIR"
            confined = (
                " It ran inside perfloop's boundary for candidate code, which lets it write "
                f"{where}; if it writes files elsewhere (in the project, say), name those "
                "paths with --workload-writes (or workload-writes in [tool.perfloop])."
            )
        other_python = ""
        user = user_environment()
        if "ModuleNotFoundError" in self.stderr and user is not None and user.mismatch():
            other_python = f" Its `python` was perfloop's: {user.mismatch()}."
        return (
            f"the workload {self.command!r} exited with code {self.returncode}; "
            f"run it by hand in the project root to see why.{withheld}{confined}"
            f"{other_python} Its last error lines:\n{tail}"
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
    candidate_code: bool = False,
    writes: Sequence[str | Path] = (),
) -> WorkloadRun:
    """Run `command` in `root` and return what it printed and how long it took.

    With `limits`, the command runs under their CPU-time and address-space limits
    (through perfloop.sandbox.launch); the wall clock is always `timeout`. `candidate_code`:
    code perfloop did not take from the user's files is in place, so the run is inside
    the kernel's boundary (see the module doc), writing only to its own temporary
    folder (TMPDIR) and to `writes` (paths the workload is documented to write)."""
    with tempfile.TemporaryDirectory(prefix="perfloop-workload-") as tmp:
        environment, withheld = workload_environment(root, Path(tmp), candidate_code)
        imports_dir = Path(tmp) / "imports"
        if spec is not None:
            imports_dir.mkdir()
            spec_file = Path(tmp) / "spec.json"
            spec_file.write_text(
                json.dumps(
                    {
                        "profile_dir": str(spec.profile_dir) if spec.profile_dir else None,
                        "capture": spec.capture,
                        "lines": spec.lines,
                        "overrides": spec.overrides,
                        "imports_dir": str(imports_dir),
                    }
                )
            )
            environment[SPEC_VARIABLE] = str(spec_file)
        options = []
        if limits is not None:
            options += ["--limits", str(limits.cpu_seconds), str(limits.memory_mb)]
        boundary_file = Path(tmp) / "boundary.pkl"
        if candidate_code:
            environment["TMPDIR"] = str(Path(tmp) / "tmp")
            (Path(tmp) / "tmp").mkdir()
            policy = boundary.Policy(
                boundary.writable_paths([tmp, *(root / w for w in writes)]), programs=True
            )
            boundary_file.write_bytes(pickle.dumps(boundary.prepare(policy)))
            options += ["--boundary", str(boundary_file)]
        launcher_environment = environment
        times_file = Path(tmp) / "launcher-times"
        if options:
            options += ["--pycache-prefix", environment["PYTHONPYCACHEPREFIX"]]
            options += ["--times", str(times_file)]
            launcher_environment = dict(environment)
            del launcher_environment["PYTHONPYCACHEPREFIX"]
        launch = [sys.executable, "-m", "perfloop.sandbox.launch", *options, "--", "/bin/sh", "-c"]
        started = time.perf_counter()
        process = subprocess.Popen(
            [*launch, command] if options else command,
            shell=not options,
            cwd=root,
            env=launcher_environment,
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
        ended = time.perf_counter()
        launcher_cpu, handed_over = _launcher_times(times_file, started)
        seconds = ended - handed_over
        imports = read_imports(imports_dir) if spec is not None else None
        hooks_missing = (
            spec is not None and process.returncode == 0 and not timed_out and imports is None
        )
        if imports is not None and process.returncode == 0:
            use_import_path(root, imports)
        layers = Path(f"{boundary_file}.layers")
        return WorkloadRun(
            command,
            process.returncode,
            stdout,
            stderr,
            seconds,
            timed_out,
            imports,
            withheld,
            layers.read_text() if layers.exists() else "",
            tuple(str(w) for w in writes),
            launcher_cpu,
            hooks_missing,
        )


def _launcher_times(times_file: Path, started: float) -> tuple[float, float]:
    """The launcher's CPU seconds and when it handed over to the command (0 and `started`
    without a launcher, or if it never got that far)."""
    try:
        cpu, handed_over = map(float, times_file.read_text().split())
    except (OSError, ValueError):
        return 0.0, started
    return cpu, max(started, handed_over)


def hooks_missing_message(command: str) -> str:
    """Why a workload ran but perfloop saw nothing of it, and what to do."""
    cause = (
        "perfloop loads them through PYTHONPATH, and the command sets PYTHONPATH itself, "
        "which replaces perfloop's entry: set it outside the command instead "
        "(`PYTHONPATH=src perfloop ...`; perfloop keeps it for the workload)"
        if "PYTHONPATH=" in command
        else "perfloop loads them through PYTHONPATH (a sitecustomize module), so the workload "
        "must run Python (e.g. 'python bench.py'), without -S, -E or -I, and must not replace "
        "PYTHONPATH; set what it needs outside the command (`PYTHONPATH=src perfloop ...`)"
    )
    return (
        f"the workload {command!r} ran, but perfloop's hooks loaded in no Python process "
        f"of it, so it could not observe the run or put code in place: {cause}"
    )


def workload_environment(
    root: Path, scratch: Path, candidate_code: bool
) -> tuple[dict[str, str], tuple[str, ...]]:
    """The user's environment with perfloop's additions; and the variables withheld."""
    environment = dict(os.environ)
    withheld: tuple[str, ...] = ()
    if candidate_code:
        withheld = secret_variables(environment)
        for name in withheld:
            del environment[name]
    user_path = [
        str(Path(entry).resolve())
        for entry in environment.get("PYTHONPATH", "").split(os.pathsep)
        if entry
    ]
    # the root is importable as before, unless it is a package folder (its modules
    # would shadow the standard library's under their short names)
    project = [str(root)] if default_import_roots(root)[0] == root.resolve() else []
    entries = [str(BOOT_DIR), *user_path, *project, PACKAGE_PARENT]
    environment["PYTHONPATH"] = os.pathsep.join(entries)
    environment["PATH"] = os.pathsep.join(
        [str(Path(sys.executable).parent), environment.get("PATH", "")]
    )
    shared = bytecode.shared_prefix()
    if shared is None:
        environment["PYTHONPYCACHEPREFIX"] = str(scratch / "pycache")
    else:
        bytecode.prepare_project(root, shared)
        environment["PYTHONPYCACHEPREFIX"] = str(shared)
        if candidate_code:  # read the cache, never write what a candidate run compiled
            environment["PYTHONDONTWRITEBYTECODE"] = "1"
        else:  # the prefix keeps the user's tree free of bytecode all the same
            environment.pop("PYTHONDONTWRITEBYTECODE", None)
    environment["PYTHONIOENCODING"] = "utf-8"
    environment.update(site_variable())
    return environment, withheld


def read_imports(directory: Path) -> ImportedModules | None:
    """Merge the import reports of a hooked run's processes (first process's path first)."""
    reports = []
    for file in sorted(directory.glob("imports-*.json"), key=lambda f: int(f.stem.split("-")[1])):
        with contextlib.suppress(OSError, ValueError):
            reports.append(json.loads(file.read_text()))
    if not reports:
        return None
    path: list[str] = []
    modules: dict[str, str] = {}
    for report in reports:
        path.extend(entry for entry in report["path"] if entry not in path)
        for name, file in report["modules"]:
            modules.setdefault(name, file)
    return ImportedModules(tuple(path), tuple(sorted(modules.items())))
