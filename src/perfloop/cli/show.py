"""`perfloop show RUN_ID`: a finished run's result again, in any format."""

from __future__ import annotations

import argparse

from perfloop.cli.common import add_format_argument, add_root_argument
from perfloop.cli.runs import open_store
from perfloop.config import ConfigError
from perfloop.model import RunId
from perfloop.report import print_result

NAME = "show"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="print a finished run's result again (the table, Markdown or JSON)",
        description="Render the result a finished run of optimize, verify, bench or check "
        "handed back, as the command printed it (--format terminal), as Markdown or as JSON.",
    )
    parser.add_argument("run_id", metavar="RUN_ID", help="as `perfloop runs` lists it")
    add_root_argument(parser)
    add_format_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    store = open_store(args.root.resolve())
    try:
        result = store.load_result(RunId(args.run_id))
        info = store.run_info(RunId(args.run_id))
    finally:
        store.close()
    if result is None:
        if info is None:
            raise ConfigError(f"no run {args.run_id}; `perfloop runs` lists the runs")
        raise ConfigError(
            f"run {args.run_id} kept no result to show (status: {info.status}); a run keeps "
            "one when it completes (runs recorded by an earlier perfloop keep none: their "
            f"report.md and results.json, if any, are in .perfloop/runs/{args.run_id}/)"
        )
    print_result(result, args.format)
    return 0
