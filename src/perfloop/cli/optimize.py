"""`perfloop optimize`: the whole pipeline on a workload."""

from __future__ import annotations

import argparse

from perfloop.cli.common import add_format_argument, add_root_argument, machine_output
from perfloop.cli.interactive import TerminalReviewer, require_terminal
from perfloop.cli.progress import progress_shown
from perfloop.config import add_setting_arguments, load_settings, setting_overrides
from perfloop.llm.cli import LLM_FLAGS, PROPOSER_FLAGS, add_llm_arguments, llm_log_printer
from perfloop.llm.proposer import proposers_for
from perfloop.measure.flags import MEASURE_FLAGS, add_measure_arguments
from perfloop.pipeline import optimize
from perfloop.report import print_result
from perfloop.report.terminal import console_for
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
    add_root_argument(parser)
    add_setting_arguments(parser, SETTING_FLAGS)
    add_format_argument(parser)
    add_llm_arguments(parser)
    add_verify_arguments(parser)
    add_measure_arguments(parser)
    return parser


SETTING_FLAGS = (
    "workload",
    "functions",
    "top",
    "budget",
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
    "warm_workers",
    "executor",
    "ray_address",
    "rules",
    "recipes",
    "cache",
    "remeasure",
    "trust_capture",
    "interactive",
)


def run(args: argparse.Namespace) -> int:
    console = console_for(stderr=machine_output(args))
    settings = load_settings(
        args.root.resolve(),
        setting_overrides(
            args, (*SETTING_FLAGS, *LLM_FLAGS, *PROPOSER_FLAGS, *VERIFY_FLAGS, *MEASURE_FLAGS)
        ),
    )
    if settings.interactive:
        require_terminal()
    proposers = proposers_for(settings, log=llm_log_printer(console) if settings.llm_log else None)
    for proposer in proposers:
        summary = getattr(proposer, "summary", None)
        if summary is not None:  # what the recipe library brings, before the run starts
            console.print(summary(), highlight=False, soft_wrap=True)
    with progress_shown(console, "starting") as progress:
        reviewer = TerminalReviewer(console, progress.paused) if settings.interactive else None
        result = optimize(settings, progress=progress, proposers=proposers, reviewer=reviewer)
    print_result(result, args.format, console)
    return 0
