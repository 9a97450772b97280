"""`perfloop resume RUN_ID`: continue a stopped run from its last completed step."""

from __future__ import annotations

import argparse

from perfloop.cli.common import add_format_argument, add_root_argument, machine_output
from perfloop.cli.interactive import TerminalReviewer, require_terminal
from perfloop.cli.progress import progress_shown
from perfloop.config import Settings
from perfloop.llm.proposer import proposers_for
from perfloop.model import RunId
from perfloop.pipeline import resume
from perfloop.report import print_result
from perfloop.report.terminal import console_for

NAME = "resume"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="continue a stopped run (Ctrl-C, a crash, a kill) from its last completed step",
        description="Continue the run RUN_ID with the settings it started with, reusing its "
        "profile, recorded calls, verdicts and measurements; only the step that was under "
        "way is done again. An apply that was under way is undone first.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="as printed when the run stopped")
    add_root_argument(parser)
    add_format_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    console = console_for(stderr=machine_output(args))
    with progress_shown(console, "resuming") as progress:

        def reviewer(settings: Settings) -> TerminalReviewer | None:
            if not settings.interactive:  # a run started with --interactive goes on with it
                return None
            require_terminal()
            return TerminalReviewer(console, progress.paused)

        result = resume(
            RunId(args.run_id),
            args.root,
            progress=progress,
            proposers=proposers_for,
            reviewer=reviewer,
        )
    print_result(result, args.format, console)
    return 0
