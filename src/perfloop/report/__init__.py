"""How results reach people and programs: one renderer per output format.

    terminal  what the commands print: tables for optimize, lines for verify, bench, check
    markdown  report.md of a run, check.md for a PR comment, verify and bench as Markdown
    json      results.json of a run and the verify/bench/check documents (--json, MCP)
    html      report.html of a run: one self-contained page with charts

Each renderer is one module that defines `RENDERER` (see `base.Renderer`) and renders the
result of every command (`perfloop.results`). Adding a format is one module and its line
in `RENDERERS`: `--format` offers it, and a run folder keeps its `run_file`.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from perfloop.atomic import write_atomic
from perfloop.report import html, json, markdown, terminal
from perfloop.report.base import CommandResult, Renderer
from perfloop.results import RunResult

RENDERERS: dict[str, Renderer] = {
    renderer.name: renderer
    for renderer in (terminal.RENDERER, markdown.RENDERER, json.RENDERER, html.RENDERER)
}


def renderer_named(name: str) -> Renderer:
    try:
        return RENDERERS[name]
    except KeyError:
        known = ", ".join(RENDERERS)
        raise ValueError(f"no output format {name!r}; the formats are {known}") from None


def print_result(result: CommandResult, format: str, console: Console | None = None) -> None:
    """Print `result` to standard output in `format`."""
    renderer = renderer_named(format)
    if renderer.show is not None:
        renderer.show(result, console or terminal.console_for())
    else:
        print(renderer.render(result), end="")


def write_run_files(result: RunResult, run_dir: Path) -> None:
    """Write the run folder's files atomically: each renderer's `run_file`, and the patch."""
    run_dir.mkdir(parents=True, exist_ok=True)
    for renderer in RENDERERS.values():
        if renderer.run_file is not None:
            write_atomic(run_dir / renderer.run_file, renderer.render(result))
    write_atomic(run_dir / "patch.diff", result.patch)


__all__ = ["RENDERERS", "Renderer", "print_result", "renderer_named", "write_run_files"]
