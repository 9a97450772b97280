"""`perfloop verify`: does a rewrite perfloop did not propose behave exactly like the original?

Exit codes: 0 equivalent, 1 different (or refused: signature changed, new
dependency), 3 could not decide (no usable calls, the original is not
reproducible, weakly verified), 2 usage.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from perfloop.cli.common import add_format_argument, add_root_argument
from perfloop.cli.progress import progress_shown
from perfloop.config import Settings, add_setting_arguments, load_settings, setting_overrides
from perfloop.outside import CandidateSpec, verify_outside
from perfloop.outside.judge import verify_settings
from perfloop.report import print_result
from perfloop.report.terminal import console_for
from perfloop.verification import VerifySettings
from perfloop.verification.tiers import TIER_ORDER

NAME = "verify"
SETTING_FLAGS = (
    "workload",
    "max_calls",
    "float_tolerance",
    "candidate_timeout",
    "workload_timeout",
    "workload_writes",
    "min_speedup",
    "fuzz_examples",
    "mutants",
)


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    """The target and the candidate: shared by verify and bench."""
    parser.add_argument("target", metavar="MODULE:QUALNAME", help="e.g. shop.prices:cheapest")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--candidate",
        metavar="FILE",
        help="the new source of the function (import lines before it are allowed); - for stdin",
    )
    source.add_argument(
        "--candidate-ref", metavar="GIT_REF", help="take the function as it is at this commit"
    )
    source.add_argument(
        "--candidate-module",
        metavar="PATH",
        type=Path,
        help="take the function from another copy of the project (its root) or module file",
    )
    add_setting_arguments(parser, ("workload",))
    parser.add_argument(
        "--run", metavar="RUN_ID", help="reuse the calls recorded by an earlier run"
    )
    add_root_argument(parser)
    add_setting_arguments(
        parser,
        (
            "max_calls",
            "float_tolerance",
            "candidate_timeout",
            "workload_timeout",
            "workload_writes",
        ),
    )
    add_format_argument(parser)


def add_verification_arguments(parser: argparse.ArgumentParser) -> None:
    """Which verification tiers run and how hard: shared by verify, check and mcp."""
    parser.add_argument(
        "--tiers",
        metavar="LIST",
        help=f"comma-separated verification tiers to run (default: {','.join(TIER_ORDER)})",
    )
    add_setting_arguments(parser, ("fuzz_examples", "mutants"))


def engine_from(args: argparse.Namespace, settings: Settings) -> VerifySettings:
    """The verification engine's settings; --fuzz-examples and --mutants are in `settings`."""
    tiers = tuple(t.strip() for t in args.tiers.split(",") if t.strip()) if args.tiers else None
    return verify_settings(settings, tiers)


def candidate_spec(args: argparse.Namespace) -> CandidateSpec:
    if args.candidate is not None:
        return CandidateSpec.from_file(args.candidate)
    return CandidateSpec(git_ref=args.candidate_ref, module_path=args.candidate_module)


def settings_from(args: argparse.Namespace, flags: tuple[str, ...] = SETTING_FLAGS) -> Settings:
    return load_settings(args.root.resolve(), setting_overrides(args, flags))


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="verify that a rewrite of a function behaves exactly like the original",
        description="Record the function's calls with the workload (or reuse an earlier run's), "
        "run every verification tier that applies on the candidate, and print the verdict "
        "with its evidence. Exit 0 equivalent, 1 different, 3 undecided, 2 usage.",
    )
    add_target_arguments(parser)
    add_verification_arguments(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    console = console_for(stderr=True)
    spec = candidate_spec(args)
    settings = settings_from(args)
    engine = engine_from(args, settings)
    with progress_shown(console, "starting") as progress:
        result = verify_outside(
            settings, args.target, spec, args.run, progress=progress, engine=engine
        )
    print_result(result, args.format)
    return result.exit_code
