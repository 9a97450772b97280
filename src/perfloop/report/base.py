"""What a renderer is: one output format for the result of every command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from rich.console import Console

from perfloop.results import CommandResult


@dataclass(frozen=True)
class Renderer:
    """One output format.

    `render` gives the text of any command's result, as a file holds it. `run_file`
    is the file an optimize run folder keeps in this format (None: not kept). `show`
    prints a result to the terminal where plain text would lose something (the
    terminal renderer's tables and colours); without it the text is printed as it is.
    """

    name: str
    description: str
    render: Callable[[CommandResult], str]
    run_file: str | None = None
    show: Callable[[CommandResult, Console], None] | None = None
