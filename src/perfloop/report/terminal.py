"""The table a user reads at the end of a run, drawn with rich."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from perfloop.model import Profile, RunResult, TargetStatus
from perfloop.report.summary import detail_lines, headline, llm_cost_line, summary_rows

_STYLE = {
    TargetStatus.IMPROVED: "green",
    TargetStatus.NO_FASTER_CANDIDATE: "",
    TargetStatus.UNVERIFIABLE: "yellow",
    TargetStatus.ERROR: "red",
}


def print_profile(profile: Profile, console: Console, rows: int = 10) -> None:
    """Where the workload's time went, before what perfloop did about it."""
    table = Table(
        title=f"where the time goes ({profile.total_seconds:.2f} s profiled)", title_justify="left"
    )
    for column, justify in (
        ("function", "left"),
        ("calls", "right"),
        ("own time", "right"),
        ("share", "right"),
        ("note", "left"),
    ):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for hot in profile.functions[:rows]:
        table.add_row(
            str(hot.function),
            str(hot.calls),
            f"{hot.self_seconds:.3f} s",
            f"{hot.share:.1%}",
            hot.not_targetable or "",
            style="dim" if hot.not_targetable else "",
        )
    console.print(table)
    console.print("own time includes the library code a function calls directly\n", style="dim")


def print_summary(result: RunResult, console: Console) -> None:
    print_profile(result.profile, console)
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
    for line in detail_lines(result):
        console.print(line, style="dim", markup=False, highlight=False)
    console.print(f"[bold]{headline(result)}[/bold]")
    llm = llm_cost_line(result)
    if llm is not None:
        console.print(llm, markup=False, highlight=False)
    for note in result.notes:
        console.print(f"note: {note}")
    console.print(f"report: {result.run_dir}/report.md  patch: {result.run_dir}/patch.diff")
    if result.improved and not result.applied:
        console.print("apply it with: perfloop optimize ... --apply  (or: git apply <patch.diff>)")
