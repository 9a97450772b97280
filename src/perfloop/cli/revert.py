"""`perfloop revert RUN_ID`: put back the files a run's apply changed, from its backup."""

from __future__ import annotations

import argparse
import json
from dataclasses import asdict, dataclass
from pathlib import Path

from perfloop.cli.common import add_json_argument, add_root_argument
from perfloop.config import ConfigError
from perfloop.patch import ApplyRefused, journal_state, revert_from_backup
from perfloop.report.terminal import console_for as terminal
from perfloop.store.lock import project_lock

NAME = "revert"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="restore the files a run's --apply changed, from .perfloop/runs/RUN_ID/backup/",
        description="Restore every file the run's apply wrote, from the backup it kept. A file "
        "edited since the apply is left alone (and named) unless --force.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="the run whose patch to undo")
    add_root_argument(parser)
    parser.add_argument(
        "--force", action="store_true", help="overwrite files edited since the apply"
    )
    add_json_argument(parser, "print what was restored as JSON")
    return parser


@dataclass(frozen=True)
class Reverted:
    """What `perfloop revert` did: `outcome` is restored, already-undone or refused."""

    run_id: str
    outcome: str
    restored: tuple[str, ...] = ()
    message: str = ""


def run(args: argparse.Namespace) -> int:
    reverted = revert(args.root.resolve(), args.run_id, force=args.force)
    if args.json:
        document = {"schema": "perfloop.revert/1", **asdict(reverted)}
        print(json.dumps(document, indent=2))
    elif reverted.outcome == "refused":
        terminal().print(f"[red]perfloop: {reverted.message}[/red]", highlight=False)
    else:
        terminal().print(reverted.message, highlight=False)
    return 1 if reverted.outcome == "refused" else 0


def revert(root: Path, run_id: str, force: bool = False) -> Reverted:
    """Put back the originals of the files run `run_id` applied; ConfigError when that run
    applied nothing."""
    backup = root / ".perfloop" / "runs" / run_id / "backup"
    state = journal_state(backup)
    if state is None:
        raise ConfigError(
            f"run {run_id} applied no patch in {root} (no {backup / 'journal.json'}); "
            "`ls .perfloop/runs` lists the runs"
        )
    if state in {"reverted", "rolled-back"}:
        message = f"run {run_id}'s patch was already undone ({state}); nothing to do"
        return Reverted(run_id, "already-undone", message=message)
    with project_lock(root, run_id, "revert"):
        try:
            restored = revert_from_backup(root, backup, force=force)
        except ApplyRefused as exc:
            return Reverted(run_id, "refused", message=str(exc))
    shown = ", ".join(restored) if restored else "no file needed it"
    message = f"restored the originals of run {run_id}: {shown}"
    return Reverted(run_id, "restored", tuple(restored), message)
