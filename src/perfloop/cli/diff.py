"""`perfloop diff RUN_A RUN_B`: what changed between two optimize runs of one project.

Target by target: whether it was tried in each, its status, its best verified speedup
with the interval, and what changed; then the whole workload. A speedup counts as
changed only when the two intervals do not overlap.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from typing import Any

from rich.table import Table

from perfloop.cli.common import add_json_argument, add_root_argument
from perfloop.cli.runs import open_store
from perfloop.config import ConfigError
from perfloop.report.terminal import console_for
from perfloop.store.runs import RunRow

NAME = "diff"


@dataclass(frozen=True)
class TargetChange:
    function: str
    before: str  # its status and best speedup in the first run, or "not tried"
    after: str
    change: str  # what changed, in a few words


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="compare two optimize runs: targets, verdicts, speedups, the whole workload",
        description="Compare two optimize runs of this project target by target; a speedup "
        "counts as changed only when the two 95%% intervals do not overlap.",
    )
    parser.add_argument("run_a", metavar="RUN_A", help="the earlier run")
    parser.add_argument("run_b", metavar="RUN_B", help="the later run")
    add_root_argument(parser)
    add_json_argument(parser, "print the comparison as JSON")
    return parser


def document_of(rows: dict[str, RunRow], run_id: str) -> dict[str, Any]:
    row = rows.get(run_id)
    if row is None:
        raise ConfigError(f"no run {run_id}; `perfloop runs` lists the runs")
    document = json.loads(row.document) if row.document else {}
    if not str(document.get("schema", "")).startswith("perfloop.results"):
        raise ConfigError(
            f"run {run_id} is not a completed optimize run (status: {row.status}); diff "
            "compares two of those"
        )
    return document


def _state(target: dict[str, Any] | None) -> str:
    if target is None:
        return "not tried"
    best = target.get("best")
    if not best:
        return target["status"].replace("_", " ")
    low, high = best["ci"]
    return f"{target['status']} {best['speedup']:.2f}x [{low:.2f}, {high:.2f}]"


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str:
    if before is None:
        return "new target"
    if after is None:
        return "no longer a target"
    if before["status"] != after["status"]:
        return f"{before['status']} -> {after['status']}".replace("_", " ")
    a, b = before.get("best"), after.get("best")
    if not a or not b:
        return "same"
    if b["ci"][0] > a["ci"][1]:
        return "faster than before"
    if b["ci"][1] < a["ci"][0]:
        return "slower than before"
    return "same (the intervals overlap)"


def compare(first: dict[str, Any], second: dict[str, Any]) -> list[TargetChange]:
    before = {t["function"]: t for t in first["targets"]}
    after = {t["function"]: t for t in second["targets"]}
    functions = [*before, *(f for f in after if f not in before)]
    return [
        TargetChange(
            f, _state(before.get(f)), _state(after.get(f)), _change(before.get(f), after.get(f))
        )
        for f in functions
    ]


def _workload(document: dict[str, Any]) -> str:
    speedup = document.get("workload_speedup")
    if not speedup:
        return "not timed"
    low, high = speedup["ci"]
    applied = ", applied" if document.get("applied") else ""
    return f"{speedup['ratio']:.2f}x [{low:.2f}, {high:.2f}]{applied}"


def run(args: argparse.Namespace) -> int:
    store = open_store(args.root.resolve())
    try:
        rows = {row.run_id: row for row in store.runs()}
    finally:
        store.close()
    first, second = document_of(rows, args.run_a), document_of(rows, args.run_b)
    changes = compare(first, second)
    workload = (_workload(first), _workload(second))
    if args.json:
        document = {
            "schema": "perfloop.diff/1",
            "runs": [args.run_a, args.run_b],
            "targets": [asdict(change) for change in changes],
            "workload": list(workload),
        }
        print(json.dumps(document, indent=2))
        return 0
    table = Table(title=f"perfloop diff {args.run_a} {args.run_b}", title_justify="left")
    for column in ("function", args.run_a, args.run_b, "change"):
        table.add_column(column)
    for change in changes:
        table.add_row(change.function, change.before, change.after, change.change)
    table.add_row("whole workload", *workload, "")
    console_for().print(table)
    return 0
