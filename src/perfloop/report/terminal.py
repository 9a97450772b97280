"""The table a user reads at the end of a run, drawn with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from perfloop.model import RunResult, TargetStatus
from perfloop.report.summary import headline, llm_cost_line, summary_rows

_STYLE = {
    TargetStatus.IMPROVED: "green",
    TargetStatus.NO_FASTER_CANDIDATE: "",
    TargetStatus.UNVERIFIABLE: "yellow",
    TargetStatus.ERROR: "red",
}


def print_summary(result: RunResult, console: Console) -> None:
    table = Table(title=f"perfloop run {result.run_id}", title_justify="left")
    for column, justify in (
        ("function", "left"),
        ("share", "right"),
        ("rule", "left"),
        ("calls replayed", "right"),
        ("speedup [95% CI]", "right"),
        ("verdict", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for row in summary_rows(result):
        table.add_row(
            row.function,
            row.share,
            row.rule,
            row.calls,
            row.speedup,
            row.verdict,
            style=_STYLE[row.status],
        )
    console.print(table)
    console.print(f"[bold]{headline(result)}[/bold]")
    llm = llm_cost_line(result)
    if llm is not None:
        console.print(llm, markup=False, highlight=False)
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"report: {result.run_dir}/report.md  patch: {result.run_dir}/patch.diff")
    if result.improved and not result.applied:
        console.print("apply it with: perfloop optimize ... --apply  (or: git apply <patch.diff>)")
