"""`perfloop optimize`: the whole pipeline on a workload."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from rich.console import Console

from perfloop.config import Settings, load_settings
from perfloop.llm.cli import LLM_FLAGS, add_llm_arguments, llm_log_printer
from perfloop.llm.proposer import proposers_for
from perfloop.measure.flags import MEASURE_FLAGS, add_measure_arguments
from perfloop.report.results import results_document
from perfloop.report.terminal import print_summary
from perfloop.search import optimize
from perfloop.verification.flags import VERIFY_FLAGS, add_verify_arguments

NAME = "optimize"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="profile a workload, make its hot functions faster, verify and measure",
        description="Profile the workload, propose faster versions of its hottest functions, "
        "keep those that behave the same on the recorded calls and are measurably faster, "
        "and write a patch and a report under .perfloop/runs/<run-id>/.",
    )
    parser.add_argument(
        "--workload", help="shell command run in the project root, e.g. 'python bench.py'"
    )
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the project (default: .)")
    parser.add_argument(
        "--function",
        dest="functions",
        action="append",
        metavar="MODULE:QUALNAME",
        help="optimize this function (repeatable); skips ranking",
    )
    parser.add_argument(
        "--top", type=int, help=f"how many of the hottest functions to try ({Settings.top})"
    )
    parser.add_argument(
        "--min-speedup",
        type=float,
        help="call a version faster only if its 95%% interval's lower bound clears this "
        f"({Settings.min_speedup})",
    )
    parser.add_argument(
        "--max-calls", type=int, help=f"calls recorded per function ({Settings.max_calls})"
    )
    parser.add_argument(
        "--workload-timeout",
        type=float,
        help=f"seconds one workload run may take ({Settings.workload_timeout:g})",
    )
    add_workload_writes_argument(parser)
    parser.add_argument(
        "--candidate-timeout",
        type=float,
        help=f"seconds a candidate's check may take ({Settings.candidate_timeout:g})",
    )
    parser.add_argument(
        "--float-tolerance", type=float, help="relative tolerance for floats (exact)"
    )
    parser.add_argument(
        "--apply", action="store_true", default=None, help="write the patch into the files"
    )
    parser.add_argument(
        "--force",
        action="store_true",
        default=None,
        help="with --apply: write even over uncommitted git changes in the target files",
    )
    parser.add_argument(
        "--branch",
        metavar="NAME",
        help="commit the patch to this new git branch instead of the working tree",
    )
    add_limit_arguments(parser)
    parser.add_argument(
        "--json", action="store_true", help="print results.json instead of the table"
    )
    parser.add_argument(
        "--rules",
        metavar="ID,ID",
        help="propose only with these rewrite rules (default: all; see docs/rules.md)",
    )
    add_llm_arguments(parser)
    add_verify_arguments(parser)
    add_measure_arguments(parser)
    return parser


def add_workload_writes_argument(parser: argparse.ArgumentParser) -> None:
    """Where the workload writes: shared by optimize, verify, bench and check."""
    parser.add_argument(
        "--workload-writes",
        action="append",
        metavar="PATH",
        help="a file or folder the workload writes (repeatable); a workload run with "
        "candidate code in place may write only these and its own temporary folder",
    )


SETTING_FLAGS = (
    "workload",
    "functions",
    "top",
    "min_speedup",
    "max_calls",
    "workload_timeout",
    "workload_writes",
    "candidate_timeout",
    "float_tolerance",
    "apply",
    "force",
    "branch",
    "memory_mb",
    "workers",
    "rules",
)


def add_limit_arguments(parser: argparse.ArgumentParser) -> None:
    """The sandbox's limits: shared by optimize and resume."""
    parser.add_argument(
        "--memory-mb",
        type=int,
        help=f"address-space limit of each worker process ({Settings.memory_mb})",
    )
    parser.add_argument(
        "--workers",
        type=int,
        help="worker processes at once (default: the CPU count, fewer if memory is short)",
    )


def run(args: argparse.Namespace) -> int:
    console = terminal(stderr=args.json)
    settings = load_settings(
        args.root.resolve(),
        {
            key: getattr(args, key)
            for key in (*SETTING_FLAGS, *LLM_FLAGS, *VERIFY_FLAGS, *MEASURE_FLAGS)
        },
    )
    proposers = proposers_for(settings, log=llm_log_printer(console) if settings.llm_log else None)
    with console.status("starting") as status:
        result = optimize(settings, progress=lambda text: status.update(text), proposers=proposers)
    if args.json:
        print(json.dumps(results_document(result), indent=2))
    else:
        print_summary(result, console)
    return 0


def terminal(stderr: bool = False) -> Console:
    """Piped or captured output gets the whole table instead of rich's 80-column default."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)
