"""`perfloop batch PROJECTS.toml`: optimize many projects, write one summary."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from perfloop.cli.progress import progress_shown
from perfloop.config import ConfigError, Settings, add_setting_arguments, setting_overrides
from perfloop.llm.proposer import proposers_for
from perfloop.pipeline import optimize
from perfloop.pipeline.batch import read_batch, run_batch, summary_document, write_summary
from perfloop.report.terminal import console_for
from perfloop.results import RunResult

NAME = "batch"
FLAGS = ("executor", "ray_address", "workers")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="optimize every project a TOML file lists, one after the other; one summary",
        description="Run `perfloop optimize` on each [[project]] of PROJECTS.toml (its root, "
        "its workload, any [tool.perfloop] key; [defaults] for all), one after the other, "
        "and write summary.json and summary.txt (one line per project, with its run "
        "directory). Nothing is applied: each run's patch stays in its run directory.",
    )
    parser.add_argument("projects", type=Path, metavar="PROJECTS.toml")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help="where the summary goes (default: perfloop-batch/<time> beside PROJECTS.toml)",
    )
    parser.add_argument("--json", action="store_true", help="print the summary as JSON")
    add_setting_arguments(parser, FLAGS)
    return parser


def run(args: argparse.Namespace) -> int:
    console = console_for(stderr=args.json)
    batch_file = args.projects.resolve()
    batch = read_batch(batch_file)
    flags = {k: v for k, v in setting_overrides(args, FLAGS).items() if v is not None}
    if flags.get("ray_address") and flags.get("executor") != "ray":
        raise ConfigError("--ray-address is for --executor ray; add --executor ray")
    out = args.out or batch_file.parent / "perfloop-batch" / time.strftime("%Y%m%d-%H%M%S")
    with progress_shown(console, "starting") as progress:

        def optimize_one(settings: Settings) -> RunResult:
            # each project's own proposers: the rules, and its --llm or proposer-cmd if set
            return optimize(settings, progress=progress, proposers=proposers_for(settings))

        outcomes = run_batch(batch, flags, optimize_one, said=progress)
    summary = write_summary(outcomes, batch_file, out)
    if args.json:
        print(json.dumps(summary_document(outcomes, batch_file), indent=2))
    else:
        console.print((out / "summary.txt").read_text(), end="", highlight=False)
        console.print(f"summary: {summary}", highlight=False, soft_wrap=True)
    return 1 if any(o.status == "failed" for o in outcomes) else 0
