"""The arguments every command that has them spells the same way."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_root_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the project (default: .)")


def add_json_argument(
    parser: argparse.ArgumentParser, help: str = "print the result as JSON"
) -> None:
    parser.add_argument("--json", action="store_true", help=help)


def add_format_argument(parser: argparse.ArgumentParser) -> None:
    """--format NAME, one per renderer (perfloop.report), and --json for --format json."""
    from perfloop.report import RENDERERS

    formats = parser.add_mutually_exclusive_group()
    formats.add_argument(
        "--format",
        choices=list(RENDERERS),
        default="terminal",
        help="how to print the result: "
        + "; ".join(f"{r.name}, {r.description}" for r in RENDERERS.values()),
    )
    formats.add_argument(
        "--json",
        dest="format",
        action="store_const",
        const="json",
        help="the same as --format json",
    )


def machine_output(args: argparse.Namespace) -> bool:
    """True when standard output carries a document (JSON, Markdown): progress and errors
    then go to standard error."""
    return getattr(args, "format", "terminal") != "terminal" or getattr(args, "json", False)
