"""`perfloop runs`: the runs recorded in a project, to look at later.

Every command records its run in `.perfloop/perfloop.db`; this lists them (when, which
command, the workload, what came of it). `perfloop show` renders one again and
`perfloop diff` compares two; all three only read the store.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from rich.table import Table

from perfloop.cli.common import add_json_argument, add_root_argument
from perfloop.config import ConfigError
from perfloop.report.terminal import console_for
from perfloop.store.runs import RunRow, RunStore

NAME = "runs"
COMMANDS = {
    "perfloop.results": "optimize",
    "perfloop.verify": "verify",
    "perfloop.bench": "bench",
    "perfloop.check": "check",
    "perfloop.capture": "capture",
}


@dataclass(frozen=True)
class ListedRun:
    """One run as `perfloop runs` shows it."""

    run_id: str
    started: str  # local time, to the second
    command: str  # optimize, verify, bench, check, capture, or "-" while unknown
    status: str  # completed, running, interrupted, failed
    workload: str
    outcome: str  # what came of it, in a few words


def open_store(root: Path) -> RunStore:
    path = root / ".perfloop" / "perfloop.db"
    if not path.exists():
        raise ConfigError(
            f"no perfloop runs in {root} (no .perfloop/perfloop.db); give --root the project "
            "perfloop ran in"
        )
    return RunStore(path)


def listed(row: RunRow) -> ListedRun:
    document = json.loads(row.document) if row.document else {}
    schema = str(document.get("schema", ""))
    command = COMMANDS.get(schema.split("/")[0], "-")
    started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row.started_at))
    if row.status != "completed":
        why = (row.error or "").strip().splitlines()
        return ListedRun(
            row.run_id, started, command, row.status, row.workload, why[0] if why else ""
        )
    return ListedRun(row.run_id, started, command, row.status, row.workload, outcome(document))


def outcome(document: dict[str, object]) -> str:
    """What came of a completed run, from its JSON document."""
    schema = str(document.get("schema", ""))
    if schema.startswith("perfloop.results"):
        targets = document.get("targets") or []
        improved = [t for t in targets if t.get("status") == "improved"]  # type: ignore[union-attr]
        text = f"{len(improved)} of {len(targets)} improved"  # type: ignore[arg-type]
        workload = document.get("workload_speedup")
        if isinstance(workload, dict):
            text += f", whole workload {workload['ratio']:.2f}x"
        return text + (", applied" if document.get("applied") else "")
    if schema.startswith("perfloop.verify"):
        return f"{document.get('decision')} ({document.get('function')})"
    if schema.startswith("perfloop.bench"):
        return f"{document.get('speed')} ({document.get('function')})"
    if schema.startswith("perfloop.check"):
        functions = document.get("functions") or []
        failing = [f for f in functions if f.get("status") in ("behaviour_changed", "slower")]  # type: ignore[union-attr]
        return f"{len(failing)} of {len(functions)} changed functions failing"  # type: ignore[arg-type]
    return ""


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="list the runs recorded in this project (when, command, workload, outcome)",
        description="List every run in .perfloop/perfloop.db, oldest first.",
    )
    add_root_argument(parser)
    add_json_argument(parser, "print the list as JSON")
    return parser


def run(args: argparse.Namespace) -> int:
    store = open_store(args.root.resolve())
    try:
        rows = [listed(row) for row in store.runs()]
    finally:
        store.close()
    if args.json:
        print(
            json.dumps({"schema": "perfloop.runs/1", "runs": [asdict(r) for r in rows]}, indent=2)
        )
        return 0
    table = Table(title=f"perfloop runs in {args.root.resolve()}", title_justify="left")
    for column in ("run", "started", "command", "status", "workload", "outcome"):
        table.add_column(column)
    for row in rows:
        table.add_row(row.run_id, row.started, row.command, row.status, row.workload, row.outcome)
    console_for().print(table)
    if rows:
        console_for().print(f"show one again: perfloop show {rows[-1].run_id}", highlight=False)
    return 0
