"""`perfloop revert RUN_ID`: put back the files a run's apply changed, from its backup."""

from __future__ import annotations

import argparse
from pathlib import Path

from perfloop.commands.optimize import terminal
from perfloop.config import ConfigError
from perfloop.patch import ApplyRefused, journal_state, revert_from_backup
from perfloop.runlock import project_lock

NAME = "revert"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="restore the files a run's --apply changed, from .perfloop/runs/RUN_ID/backup/",
        description="Restore every file the run's apply wrote, from the backup it kept. A file "
        "edited since the apply is left alone (and named) unless --force.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="the run whose patch to undo")
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the project (default: .)")
    parser.add_argument(
        "--force", action="store_true", help="overwrite files edited since the apply"
    )
    return parser


def run(args: argparse.Namespace) -> int:
    console = terminal()
    root = args.root.resolve()
    backup = root / ".perfloop" / "runs" / args.run_id / "backup"
    state = journal_state(backup)
    if state is None:
        raise ConfigError(
            f"run {args.run_id} applied no patch in {root} (no {backup / 'journal.json'}); "
            "`ls .perfloop/runs` lists the runs"
        )
    if state in {"reverted", "rolled-back"}:
        console.print(f"run {args.run_id}'s patch was already undone ({state}); nothing to do")
        return 0
    with project_lock(root, args.run_id, "revert"):
        try:
            restored = revert_from_backup(root, backup, force=args.force)
        except ApplyRefused as exc:
            console.print(f"[red]perfloop: {exc}[/red]", highlight=False)
            return 1
    shown = ", ".join(restored) if restored else "no file needed it"
    console.print(f"restored the originals of run {args.run_id}: {shown}", highlight=False)
    return 0
