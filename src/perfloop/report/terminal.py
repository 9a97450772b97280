"""The terminal renderer: what the commands print.

optimize's tables are drawn with rich (colour on a terminal); verify, bench and check
print plain lines, each number with its interval and method, so a CI log reads the same.
"""

from __future__ import annotations

import io
import sys
from functools import singledispatch

from rich.console import Console
from rich.table import Table

from perfloop.model import Profile
from perfloop.report.base import CommandResult, Renderer
from perfloop.report.markdown import check_markdown
from perfloop.report.summary import (
    cache_lines,
    decision_lines,
    detail_lines,
    headline,
    llm_cost_line,
    measurement_details,
    noise_floor_line,
    ratio_text,
    reproduce_hint,
    reuse_line,
    seconds_text,
    speed_text,
    summary_rows,
    tier_line,
)
from perfloop.report.verification import strength_text
from perfloop.results import (
    BenchResult,
    CheckResult,
    Counterexample,
    RunResult,
    TargetStatus,
    VerifyResult,
)
from perfloop.verification.tiers import tier_named

_STYLE = {
    TargetStatus.IMPROVED: "green",
    TargetStatus.NO_FASTER_CANDIDATE: "",
    TargetStatus.UNVERIFIABLE: "yellow",
    TargetStatus.ERROR: "red",
    TargetStatus.SKIPPED: "dim",
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
            hot.calls_text,
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
    rows = summary_rows(result)
    cached = any(row.cache for row in rows)
    if cached:
        table.add_column("cache", justify="left")
    for row in rows:
        table.add_row(
            row.function,
            row.share,
            row.rule,
            row.calls,
            row.speedup,
            row.verdict,
            *([row.cache] if cached else []),
            style=_STYLE[row.status],
        )
    console.print(table)
    for line in [*detail_lines(result), *cache_lines(result)]:
        console.print(line, style="dim", markup=False, highlight=False)
    if result.decisions:
        console.print("review decisions (optimize --interactive, or an agent's MCP decide):")
        for line in decision_lines(result):
            console.print(f"  {line}", markup=False, highlight=False)
    for target in result.targets:
        for note in target.notes:
            console.print(f"{target.function}: {note}", style="dim", markup=False, highlight=False)
    console.print(f"[bold]{headline(result)}[/bold]")
    llm = llm_cost_line(result)
    if llm is not None:
        console.print(llm, markup=False, highlight=False)
    for note in result.notes:
        console.print(f"note: {note}")
    folder = result.run_dir
    console.print(
        f"report: {folder}/report.md (with charts: report.html)  patch: {folder}/patch.diff"
    )
    if result.improved and not result.applied:
        console.print("apply it with: perfloop optimize ... --apply  (or: git apply <patch.diff>)")


def counterexample_lines(example: Counterexample, indent: str = "    ") -> list[str]:
    return [
        f"smallest counterexample ({example.where}; {reproduce_hint(example)}):",
        *(f"{indent}{line}" for line in example.code.splitlines()),
        f"{indent}-> {example.description}",
    ]


def verify_text(result: VerifyResult) -> str:
    verdict = result.verdict
    lines = [
        f"perfloop verify {result.function}  candidate: {result.candidate.origin}  "
        f"run: {result.run_id}",
        f"verdict: {result.decision.value.upper()} (exit {result.exit_code}): {result.reason}",
    ]
    if verdict is not None:
        lines.append(f"tiers run: {', '.join(verdict.tiers) or 'none'}")
        lines += [f"  {tier_line(run)}" for run in verdict.runs]
        others = [
            f"{run.inputs} {tier_named(run.tier).inputs}"
            for run in verdict.runs
            if run.tier != "replay" and run.outcome != "skipped"
        ]
        replay_skipped = any(r.tier == "replay" and r.outcome == "skipped" for r in verdict.runs)
        if not (replay_skipped and others):  # a whole class: no per-call replay to count
            others.insert(
                0,
                f"{verdict.calls_checked} of {result.calls_recorded} recorded calls "
                f"replayed (the workload made {result.calls_seen} calls)",
            )
        lines.append("inputs tried: " + ", ".join(others))
        lines.append(strength_text(result.strength, verdict))
    if result.counterexample is not None:
        lines += counterexample_lines(result.counterexample)
    lines += [f"note: {note}" for note in result.notes]
    lines.append(
        reuse_line(result.run_id, result.calls_recorded, str(result.function), result.calls_seen)
    )
    return "\n".join(lines) + "\n"


def bench_text(result: BenchResult) -> str:
    measurement = result.measurement
    lines = [
        f"perfloop bench {result.function}  candidate: {result.candidate.origin}  "
        f"run: {result.run_id}",
    ]
    speedup = measurement.speedup
    if speedup is None:
        lines.append(
            f"speedup: not measured (exit {result.exit_code}): {measurement.missing_speedup()}"
        )
    else:
        lines.append(
            f"speedup: {ratio_text(speedup)} (original time / candidate time, 95% CI): "
            f"{speed_text(result.measurement.speedup, result.threshold)}"
        )
        details = measurement_details(measurement)  # noise floor, threshold, detectable
        if details:
            lines.append(f"  {details}")
    if result.noise_floor is not None:
        lines.append(noise_floor_line(result.noise_floor, result.min_speedup))
    workload = result.workload
    if speedup is not None:
        # a cache is judged on the whole workload (judged_on_workload): its times are runs
        judged_on_runs = workload is not None and workload.speedup == speedup
        timed = (
            "one run of the whole workload"
            if judged_on_runs
            else f"one pass over {result.calls_recorded} {result.timed}"
        )
        lines.append(
            f"{timed}: original {seconds_text(speedup.baseline_seconds)}, "
            f"candidate {seconds_text(speedup.candidate_seconds)}"
        )
    if workload is not None:
        if workload.speedup is None:
            lines.append(f"whole workload: not measured: {workload.error}")
        else:
            output = {True: "output unchanged", False: "OUTPUT CHANGED", None: "output varies"}[
                workload.output_unchanged
            ]
            lines.append(f"whole workload: {ratio_text(workload.speedup)}, {output}")
    if speedup is not None:
        lines.append(f"method: {speedup.method}")
    if result.steps:
        total = sum(seconds for _, seconds in result.steps)
        parts = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in result.steps)
        lines.append(f"time taken: {total:.1f} s in all: {parts}")
    lines += [f"note: {note}" for note in result.notes]
    lines.append(reuse_line(result.run_id, result.calls_recorded, str(result.function)))
    return "\n".join(lines) + "\n"


def console_for(stderr: bool = False) -> Console:
    """Piped or captured output gets the whole table instead of rich's 80-column default."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 160)


def run_text(result: RunResult) -> str:
    """The run's tables as plain text, as `show` prints them without colour."""
    console = Console(record=True, width=160, file=io.StringIO())
    print_summary(result, console)
    return console.export_text()


@singledispatch
def render(result: CommandResult) -> str:
    """What the command prints for `result`, as plain text."""
    raise TypeError(f"no terminal text for {type(result).__name__}")


render.register(RunResult, run_text)
render.register(VerifyResult, verify_text)
render.register(BenchResult, bench_text)
render.register(CheckResult, check_markdown)  # a PR comment reads well in a terminal too


def show(result: CommandResult, console: Console) -> None:
    if isinstance(result, RunResult):
        print_summary(result, console)
    else:
        sys.stdout.write(render(result))


RENDERER = Renderer(
    name="terminal",
    description="tables and lines for a person at a terminal (the default)",
    render=render,
    show=show,
)
