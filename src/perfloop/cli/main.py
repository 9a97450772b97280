"""The `perfloop` command: parse, dispatch to a subcommand, turn errors into exit codes.

Exit codes: 0 the command completed (for optimize, also when nothing got
faster), 1 it failed (the workload failed, perfloop crashed), 2 usage errors
(a missing target, a bad setting), 3 undecided (for verification commands).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from rich.markup import escape

from perfloop.cli import COMMANDS
from perfloop.cli.common import machine_output
from perfloop.config import ConfigError
from perfloop.model import InvalidReference
from perfloop.project import TargetError
from perfloop.report.terminal import console_for
from perfloop.store.checkpoints import RunInterrupted
from perfloop.workload import WorkloadError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="perfloop", description="Make Python code faster and prove it."
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.add_parser(subcommands).set_defaults(handler=command.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console_for(stderr=machine_output(args))
    try:
        return int(args.handler(args))
    except (ConfigError, TargetError, InvalidReference) as exc:
        # no hard line breaks: the message names functions and paths to copy
        console.print(
            f"[red]perfloop: error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True
        )
        return 2
    except WorkloadError as exc:
        console.print(
            f"[red]perfloop: the workload failed:[/red] {escape(str(exc))}",
            highlight=False,
            soft_wrap=True,
        )
        return 1
    except RunInterrupted as exc:  # says what was finished and how to resume
        console.print(str(exc), highlight=False, soft_wrap=True)  # a command to copy
        return 130
    except KeyboardInterrupt:
        console.print("perfloop: interrupted; the project's files were not changed")
        return 130


if __name__ == "__main__":
    sys.exit(main())
