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
