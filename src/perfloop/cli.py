"""The `perfloop` command. It parses flags, calls the pipeline, and prints.

Exit codes: 0 the run completed (also when nothing got faster), 1 the run
failed (the workload failed, perfloop crashed), 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from perfloop.config import ConfigError, load_settings
from perfloop.project import TargetError
from perfloop.report.results import results_document
from perfloop.report.terminal import print_summary
from perfloop.search import optimize
from perfloop.workload import WorkloadError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfloop", description="Make Python code faster and prove it."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "optimize",
        help="profile a workload, make its hot functions faster, verify and measure",
        description="Profile the workload, propose faster versions of its hottest functions, "
        "keep those that behave the same on the recorded calls and are measurably faster, "
        "and write a patch and a report under .perfloop/runs/<run-id>/.",
    )
    run.add_argument("--workload", help="shell command run in the project root, e.g. 'python bench.py'")
    run.add_argument("--root", type=Path, default=Path.cwd(), help="the project (default: .)")
    run.add_argument(
        "--function", dest="functions", action="append", metavar="MODULE:QUALNAME",
        help="optimize this function (repeatable); skips ranking",
    )
    run.add_argument("--top", type=int, help="how many of the hottest functions to try (5)")
    run.add_argument(
        "--min-speedup", type=float,
        help="call a version faster only if its 95%% interval's lower bound clears this (1.05)",
    )
    run.add_argument("--max-calls", type=int, help="calls recorded per function (200)")
    run.add_argument("--workload-timeout", type=float, help="seconds one workload run may take (600)")
    run.add_argument("--candidate-timeout", type=float, help="seconds a candidate's check may take (60)")
    run.add_argument("--float-tolerance", type=float, help="relative tolerance for floats (exact)")
    run.add_argument("--apply", action="store_true", default=None, help="write the patch into the files")
    run.add_argument("--json", action="store_true", help="print results.json instead of the table")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    stream = sys.stderr if args.json else sys.stdout
    # piped or captured output gets the whole table instead of rich's 80-column default
    console = Console(stderr=args.json, width=None if stream.isatty() else 160)
    overrides = {
        key: getattr(args, key)
        for key in ("workload", "functions", "top", "min_speedup", "max_calls", "workload_timeout",
                    "candidate_timeout", "float_tolerance", "apply")
    }
    try:
        settings = load_settings(args.root.resolve(), overrides)
        with console.status("starting") as status:
            result = optimize(settings, progress=lambda text: status.update(text))
    except (ConfigError, TargetError, ValueError) as exc:
        console.print(f"[red]perfloop: error:[/red] {exc}", highlight=False)
        return 2
    except WorkloadError as exc:
        console.print(f"[red]perfloop: the workload failed:[/red] {exc}", highlight=False)
        return 1
    except KeyboardInterrupt:
        console.print("perfloop: interrupted; the project's files were not changed")
        return 130
    if args.json:
        print(json.dumps(results_document(result), indent=2))
    else:
        print_summary(result, console)
    return 0


if __name__ == "__main__":
    sys.exit(main())
