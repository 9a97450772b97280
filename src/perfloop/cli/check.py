"""`perfloop check --base REF`: for a pull request, did the changed functions keep their
behaviour and speed?

Prints (and writes) a Markdown summary for a PR comment. Exit codes: 0 no
behaviour change and no slowdown beyond the tolerance, 1 either, 2 usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perfloop.cli.common import add_format_argument, add_root_argument
from perfloop.cli.progress import progress_shown
from perfloop.cli.verify import SETTING_FLAGS as VERIFY_SETTING_FLAGS
from perfloop.cli.verify import add_verification_arguments, engine_from
from perfloop.config import Settings, add_setting_arguments, load_settings, setting_overrides
from perfloop.outside import check_outside
from perfloop.report import print_result
from perfloop.report.terminal import console_for

NAME = "check"
SETTING_FLAGS = (*VERIFY_SETTING_FLAGS, "max_slowdown")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="check the functions changed since a git commit: same behaviour? slower?",
        description="Find the functions that differ between REF and the working tree, record "
        "the calls the workload makes to them (with the REF versions in place), verify each "
        "new version against its REF version on those calls and time both. Writes a Markdown "
        "summary; exits 1 on a behaviour change or a slowdown beyond --max-slowdown.",
    )
    parser.add_argument("--base", required=True, metavar="REF", help="e.g. origin/main")
    parser.add_argument(
        "--max-slowdown",
        type=float,
        help="fail when the REF version is faster by more than this at the 95%% interval's "
        "best case for the new version (default: the max-slowdown setting, "
        f"{Settings.max_slowdown}, i.e. 5%%)",
    )
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="also write the summary here")
    add_setting_arguments(parser, ("workload",))
    add_root_argument(parser)
    add_setting_arguments(
        parser, ("max_calls", "min_speedup", "float_tolerance", "workload_writes")
    )
    add_format_argument(parser)
    add_verification_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    console = console_for(stderr=True)
    settings = load_settings(args.root.resolve(), setting_overrides(args, SETTING_FLAGS))
    engine = engine_from(args, settings)
    with progress_shown(console, "starting") as progress:
        result = check_outside(
            settings,
            args.base,
            settings.max_slowdown,
            args.markdown,
            progress=progress,
            engine=engine,
        )
    print_result(result, args.format)
    return result.exit_code
