"""`perfloop export --format pie|reward|diffs [RUN...]`: datasets from this project's runs.

See perfloop.export for what each format holds; `--schema` prints a format's JSON Schema.
Output is JSON Lines, on standard output or written atomically to `--output FILE`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from perfloop.atomic import write_atomic
from perfloop.cli.common import add_root_argument
from perfloop.cli.runs import open_store
from perfloop.config import ConfigError
from perfloop.export import FORMATS, SCHEMAS, ExportError, export_lines
from perfloop.report.terminal import console_for

NAME = "export"


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    parser = commands.add_parser(
        NAME,
        help="write the runs' candidates as a dataset (slow/fast pairs, rewards, diffs)",
        description="Export this project's optimize runs as JSON Lines: pie (slow/fast pairs "
        "with measured speedups and the verification that defines correctness), reward "
        "(every judged candidate with a reward from its verdict and speedup) or diffs "
        "(each chosen change as a sequence of small diffs). Default: every completed run.",
    )
    parser.add_argument("run_ids", nargs="*", metavar="RUN", help="runs to export (default: all)")
    parser.add_argument("--format", choices=FORMATS, required=True, help="what to write")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write here, not stdout")
    parser.add_argument(
        "--schema", action="store_true", help="print the format's JSON Schema and stop"
    )
    add_root_argument(parser)
    return parser


def run(args: argparse.Namespace) -> int:
    if args.schema:
        print(json.dumps(SCHEMAS[args.format], indent=2))
        return 0
    store = open_store(args.root.resolve())
    try:
        lines = [json.dumps(line) for line in export_lines(store, args.format, args.run_ids)]
    except ExportError as exc:
        raise ConfigError(str(exc)) from exc
    finally:
        store.close()
    text = "".join(f"{line}\n" for line in lines)
    if args.output is None:
        print(text, end="")
    else:
        write_atomic(args.output, text)
        console_for(stderr=True).print(
            f"{len(lines)} {args.format} records written to {args.output}", highlight=False
        )
    if not lines:
        console_for(stderr=True).print(
            f"no {args.format} records: the runs exported have no "
            + {
                "pie": "verified candidate measured faster",
                "reward": "candidate that reached verification",
                "diffs": "target with a chosen candidate",
            }[args.format],
            highlight=False,
        )
    return 0
