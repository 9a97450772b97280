"""`perfloop batch PROJECTS.toml`: `optimize` on many projects, one summary.

The file lists the projects, each with its root and workload and any `[tool.perfloop]`
key (dashes), and `[defaults]` for all of them:

    [defaults]
    top = 3

    [[project]]
    root = "services/billing"        # relative to the file's folder
    workload = "python bench.py"     # else the project's own [tool.perfloop]

Settings for one project: perfloop's defaults, then the project's pyproject.toml, then
`[defaults]`, then its entry, then the command's flags (`--executor`, `--ray-address`,
`--workers`). The projects run one after the other, each a whole `optimize` run of its
own (its run directory, store and patch in its `.perfloop`, nothing applied), so a
project's timings never share the machine with another's work; with `--executor ray`
their verification goes to one Ray session, started (or joined) once for the batch. A
project that fails is recorded with its error and the batch goes on.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from perfloop.atomic import write_atomic
from perfloop.config import ConfigError, file_settings, load_settings
from perfloop.project import TargetError
from perfloop.results import RunResult, TargetStatus
from perfloop.sandbox.runner import plan_workers
from perfloop.workload import WorkloadError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib

SCHEMA = "perfloop.batch/1"


@dataclass(frozen=True)
class BatchProject:
    """One entry of the file: its name, root and the settings it gives."""

    name: str
    root: Path
    settings: dict[str, Any]


@dataclass(frozen=True)
class ProjectOutcome:
    """What became of one project: its run, or why it failed."""

    name: str
    root: str
    status: str  # completed | failed
    seconds: float
    run_id: str | None = None
    run_dir: str | None = None
    targets: int = 0
    improved: int = 0
    best: dict[str, float] | None = None  # function: speedup of its best verified version
    workload_speedup: float | None = None
    error: str | None = None


@dataclass(frozen=True)
class Batch:
    """A batch file read: its `[defaults]` and its projects (the defaults merged in)."""

    defaults: dict[str, Any]
    projects: tuple[BatchProject, ...]


def read_batch(path: Path) -> Batch:
    """The projects of a batch file; ConfigError naming the entry when one is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the batch file {path}: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    unknown = sorted(set(data) - {"defaults", "project"})
    if unknown:
        raise ConfigError(
            f"{path}: unknown table(s) {', '.join(unknown)}; a batch file has [defaults] "
            "and [[project]] entries"
        )
    defaults = file_settings(data.get("defaults", {}), f"[defaults] of {path}")
    entries = data.get("project", [])
    if not isinstance(entries, list) or not entries:
        raise ConfigError(
            f"{path} lists no projects: add one [[project]] table per project, with its "
            'root (root = "path/to/project") and, unless its pyproject.toml has one, its '
            "workload"
        )
    projects, names = [], set()
    for number, entry in enumerate(entries, 1):
        where = f"[[project]] number {number} of {path}"
        entry = dict(entry)
        if "root" not in entry:
            raise ConfigError(f'{where} has no root: add root = "path/to/project"')
        root = (path.parent / str(entry.pop("root"))).resolve()
        if not root.is_dir():
            raise ConfigError(f"{where}: the root {root} is not a directory")
        name = str(entry.pop("name", root.name))
        if name in names:
            raise ConfigError(f'{where}: the name {name!r} is taken; give it name = "..."')
        names.add(name)
        projects.append(BatchProject(name, root, {**defaults, **file_settings(entry, where)}))
    return Batch(defaults, tuple(projects))


@contextlib.contextmanager
def batch_executor(flags: dict[str, Any]) -> Iterator[None]:
    """One Ray session for the whole batch when `executor` is "ray" (a flag, or in
    [defaults]); nothing otherwise (a project that asks for Ray alone starts its own)."""
    if flags.get("executor") != "ray":
        yield
        return
    from perfloop.sandbox.ray_executor import ray_session

    cpus = plan_workers(flags.get("workers"), 2048).count
    with ray_session(cpus, flags.get("ray_address")):
        yield


def run_batch(
    batch: Batch,
    flags: dict[str, Any],
    optimize: Callable[..., RunResult],
    said: Callable[[str], None] = lambda _: None,
) -> list[ProjectOutcome]:
    """Each project optimized in turn (`optimize` is perfloop.pipeline.optimize)."""
    outcomes = []
    projects = batch.projects
    with batch_executor({**batch.defaults, **flags}):
        for number, project in enumerate(projects, 1):
            said(f"project {number} of {len(projects)}: {project.name} ({project.root})")
            started = time.monotonic()
            try:
                settings = load_settings(project.root, {**project.settings, **flags})
                result = optimize(settings)
            except (ConfigError, TargetError, WorkloadError) as exc:
                outcomes.append(
                    ProjectOutcome(
                        project.name,
                        str(project.root),
                        "failed",
                        round(time.monotonic() - started, 1),
                        error=f"{type(exc).__name__}: {exc}",
                    )
                )
                continue
            outcomes.append(outcome_of(project, result, time.monotonic() - started))
    return outcomes


def outcome_of(project: BatchProject, result: RunResult, seconds: float) -> ProjectOutcome:
    best = {
        str(target.function): round(target.best.measurement.speedup.ratio, 3)
        for target in result.targets
        if target.best and target.best.measurement and target.best.measurement.speedup
    }
    whole = result.workload_speedup
    return ProjectOutcome(
        project.name,
        str(project.root),
        "completed",
        round(seconds, 1),
        result.run_id,
        result.run_dir,
        len(result.targets),
        sum(1 for t in result.targets if t.status is TargetStatus.IMPROVED),
        best,
        round(whole.speedup.ratio, 3) if whole else None,
    )


def summary_document(outcomes: list[ProjectOutcome], batch_file: Path) -> dict[str, Any]:
    return {
        "schema": SCHEMA,
        "batch_file": str(batch_file),
        "projects": [asdict(outcome) for outcome in outcomes],
        "completed": sum(1 for o in outcomes if o.status == "completed"),
        "failed": sum(1 for o in outcomes if o.status == "failed"),
    }


def summary_table(outcomes: list[ProjectOutcome]) -> str:
    """A plain-text table: one line per project, then the failures' errors."""
    lines = [f"{'project':<20} {'status':<9} {'targets':>7} {'faster':>6} {'workload':>8}  run"]
    for o in outcomes:
        whole = f"{o.workload_speedup:.2f}x" if o.workload_speedup else "-"
        lines.append(
            f"{o.name:<20} {o.status:<9} {o.targets:>7} {o.improved:>6} {whole:>8}  "
            f"{o.run_dir or '-'}"
        )
    lines += [f"{o.name}: {o.error}" for o in outcomes if o.error]
    return "\n".join(lines) + "\n"


def write_summary(outcomes: list[ProjectOutcome], batch_file: Path, out: Path) -> Path:
    """summary.json and summary.txt in `out`; returns the JSON's path."""
    out.mkdir(parents=True, exist_ok=True)
    document = summary_document(outcomes, batch_file)
    write_atomic(out / "summary.json", json.dumps(document, indent=2) + "\n")
    write_atomic(out / "summary.txt", summary_table(outcomes))
    return out / "summary.json"
