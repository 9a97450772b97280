"""What a command shows while it works: a live display on a terminal, plain lines in a log.

On a terminal, rich's live display of two lines, replaced as the work goes on and gone
at the end: the stage or target (`Target 2 of 5: shop:cheapest (about 3 min left for
the targets)`) with the time since the command started, and under it the step inside
it (a `Detail`: the candidate and the verification tier it is in, or its timing) with
the time that step has taken so far. Anywhere else (a pipe, a CI log, a file) a line
per step on standard error, `perfloop [1:05] shop:cheapest: verifying rule:x: fuzz
tier`, so a long run shows where it is without a terminal; standard output keeps only
the result.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from perfloop.progress import Detail

Report = Callable[[str], None]


class Shown:
    """Shows each step (call it with the step's text); `paused()` hides the live line
    while a person is asked something (optimize --interactive)."""

    def __init__(self, report: Report, live: Progress | None = None) -> None:
        self._report, self._live = report, live

    def __call__(self, text: str) -> None:
        self._report(text)

    @contextmanager
    def paused(self) -> Iterator[None]:
        if self._live is None:
            yield
            return
        self._live.stop()
        try:
            yield
        finally:
            self._live.start()


@contextmanager
def progress_shown(console: Console, first: str = "starting") -> Iterator[Shown]:
    """A function that shows each step; live on a terminal, else as lines on stderr."""
    if console.is_terminal:
        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as live:
            stage = live.add_task(first, total=None)
            step = live.add_task("", total=None, visible=False)

            def report(text: str) -> None:
                if isinstance(text, Detail):  # under the stage; its clock starts again
                    live.reset(step, description=text, visible=True)
                else:
                    live.update(stage, description=text)
                    live.update(step, visible=False, refresh=True)

            yield Shown(report, live)
    else:
        yield Shown(plain_lines(sys.stderr))


def plain_lines(stream: TextIO, clock: Callable[[], float] = time.monotonic) -> Report:
    """One line per new step, with the time since the first, flushed at once."""
    started = clock()
    last: list[str] = []

    def report(text: str) -> None:
        if last and last[-1] == text:
            return
        last[:] = [text]
        minutes, seconds = divmod(int(clock() - started), 60)
        stream.write(f"perfloop [{minutes}:{seconds:02d}] {text}\n")
        stream.flush()

    return report
