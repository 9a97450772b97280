"""`perfloop bench`: how much faster is a rewrite, with its interval and the noise floor?

Exit codes: 0 measured (whatever the ratio), 1 the timing failed (the candidate
crashed or hung on the recorded calls), 3 no recorded calls to time it on, 2 usage.
"""

from __future__ import annotations

import argparse

from perfloop.cli.progress import progress_shown
from perfloop.cli.verify import (
    SETTING_FLAGS,
    add_target_arguments,
    candidate_spec,
    settings_from,
)
from perfloop.config import add_setting_arguments
from perfloop.outside import bench_outside
from perfloop.report import print_result
from perfloop.report.terminal import console_for

NAME = "bench"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="measure a rewrite of a function against the original (A/B with a 95%% interval)",
        description="Time the candidate against the original on the function's recorded calls "
        "(paired ABBA blocks in sandboxed workers), next to the A/A noise floor (the original "
        "against itself); --workload-level also times the whole workload with the candidate "
        "in place.",
    )
    add_target_arguments(parser)
    parser.add_argument(
        "--workload-level",
        action="store_true",
        help="also time the whole workload, original against the candidate in place",
    )
    add_setting_arguments(parser, ("min_speedup",))
    return parser


def run(args: argparse.Namespace) -> int:
    console = console_for(stderr=True)
    spec = candidate_spec(args)
    settings = settings_from(args, SETTING_FLAGS)
    with progress_shown(console, "starting") as progress:
        result = bench_outside(
            settings, args.target, spec, args.run, args.workload_level, progress=progress
        )
    print_result(result, args.format)
    return result.exit_code
