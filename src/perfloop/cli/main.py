"""The `perfloop` command: parse, dispatch to a subcommand, turn errors into exit codes.

Exit codes: 0 the command completed (for optimize, also when nothing got
faster), 1 it failed (the workload failed, perfloop crashed), 2 usage errors
(a missing target, a bad setting), 3 undecided (for verification commands),
128 + the signal when stopped: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.

SIGTERM (a cancelled CI job, `timeout`, `docker stop`) and SIGHUP (a closed terminal)
stop perfloop as Ctrl-C does. They must: the sandboxed workers run in sessions of their
own, so no signal sent to perfloop or its process group reaches them, and only perfloop's
own clean-up kills them, removes their folders and marks the run resumable.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from rich.console import Console
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


class Stopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where Ctrl-C would be, so the same clean-up runs."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _stop_as_on_ctrl_c(signum: int, frame: object) -> None:
    raise Stopped(signum)


def _stopped_code(exc: BaseException) -> int:
    """128 + the signal that stopped the command, found along the exception's chain."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Stopped):
            return 128 + seen.signum
        seen = seen.__cause__ or seen.__context__
    return 128 + signal.SIGINT


@contextlib.contextmanager
def _stopping_as_on_ctrl_c() -> Iterator[None]:
    """SIGTERM and SIGHUP raise Stopped inside; the handlers before are put back after (a
    test calling main() keeps its own). Signals reach only the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {signum: signal.getsignal(signum) for signum in (signal.SIGTERM, signal.SIGHUP)}
    for signum in before:
        signal.signal(signum, _stop_as_on_ctrl_c)
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = console_for(stderr=machine_output(args))
    with _stopping_as_on_ctrl_c():
        return _run(args, console)


def _run(args: argparse.Namespace, console: Console) -> int:
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
        return _stopped_code(exc)
    except KeyboardInterrupt as exc:
        console.print("perfloop: interrupted; the project's files were not changed")
        return _stopped_code(exc)


if __name__ == "__main__":
    sys.exit(main())
