"""The Markdown renderer: for a person reviewing the change, in a file or a PR comment.

optimize  report.md in the run folder: the run explained beside the patch
check     check.md: the pull request's changed functions, pasteable as a PR comment
verify, bench  the verdict or the measurement, with its evidence
"""

from __future__ import annotations

from functools import singledispatch

from perfloop.measure.speed import speed_word
from perfloop.model import CandidateResult, VerdictStatus
from perfloop.report.base import CommandResult, Renderer
from perfloop.report.summary import (
    cache_lines,
    cache_text,
    decision_lines,
    format_speedup,
    headline,
    llm_cost_line,
    measurement_details,
    noise_floor_line,
    ratio_text,
    reproduce_hint,
    reuse_line,
    speed_text,
    summary_rows,
    tier_line,
)
from perfloop.report.verification import strength_text, tiers_text
from perfloop.results import (
    BenchResult,
    CheckResult,
    CheckStatus,
    Counterexample,
    FunctionCheck,
    RunResult,
    TargetResult,
    VerifyResult,
)


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|").replace("\n", " ") for c in cells) + " |"

    return [line(header), line(["---"] * len(header)), *(line(r) for r in rows)]


def _candidate_line(result: CandidateResult) -> str:
    origin = f"`{result.candidate.origin}`"
    if not result.gate.passed:
        return f"- {origin}: rejected by the gate: {result.gate.reason}"
    verdict = result.verdict
    if verdict is None:
        return f"- {origin}: not verified"
    if verdict.status is VerdictStatus.DIFFERENT and verdict.difference:
        if "\n" in verdict.difference.call:  # a program (the interaction tier): a code block
            program = "\n".join(f"  {line}" for line in verdict.difference.call.splitlines())
            return (
                f"- {origin}: **behaves differently** ({verdict.difference.tier}): "
                f"{verdict.difference.description} [{tiers_text(verdict)}]\n\n"
                f"  ```python\n{program}\n  ```\n"
            )
        if verdict.difference.tier != "replay":
            return (
                f"- {origin}: **behaves differently** ({verdict.difference.tier}) on "
                f"`{verdict.difference.call}`: {verdict.difference.description} "
                f"[{tiers_text(verdict)}]"
            )
        return (
            f"- {origin}: **behaves differently** on recorded call #{verdict.difference.call_index}"
            f" `{verdict.difference.call}`: {verdict.difference.description}"
        )
    if verdict.status is not VerdictStatus.EQUIVALENT:
        return f"- {origin}: {verdict.status.value}: {verdict.reason}"
    measurement = result.measurement
    if measurement is None or measurement.speedup is None:
        why = measurement.missing_speedup() if measurement else "not measured"
        return f"- {origin}: same behaviour [{tiers_text(verdict)}]; {why}"
    verdict_word = "faster" if measurement.faster else "not faster beyond the threshold"
    threshold = measurement.speedup.threshold
    if threshold is not None:  # the figures that decided it: significant, yet below?
        verdict_word = speed_text(measurement.speedup, threshold)
    if measurement.objective == "memory":
        verdict_word = "less memory" if measurement.improved else "not better on memory"
    details = measurement_details(measurement)
    return (
        f"- {origin}: same behaviour [{tiers_text(verdict)}]; "
        f"{format_speedup(measurement.speedup)}, {verdict_word}"
        + (f" ({details})" if details else "")
    )


def _target_section(target: TargetResult) -> list[str]:
    lines = [f"### `{target.function}` ({target.share:.1%} of the time)", ""]
    if target.reason:
        lines += [f"{target.status.value}: {target.reason}", ""]
    if target.strength is not None:
        text = strength_text(target.strength)
        lines += [text[:1].upper() + text[1:] + ".", ""]
    cached = cache_text(target)
    if cached is not None:
        lines += [f"Result cache: {cached}.", ""]
    lines += [_candidate_line(c) for c in target.candidates]
    lines += [f"- note: {note}" for note in target.notes]
    if target.best is not None:
        best = target.best
        lines += ["", f"Chosen: `{best.candidate.origin}`: {best.candidate.rationale}", ""]
        lines += ["```python", best.candidate.function_source.strip(), "```"]
        if best.measurement and best.measurement.speedup:
            lines += ["", f"Method: {best.measurement.speedup.method}."]
        if best.measurement and best.measurement.instructions:
            counts = best.measurement.instructions
            lines += ["", f"Instructions: {counts.method or counts.unavailable}."]
    return [*lines, ""]


def render_markdown(result: RunResult) -> str:
    rows = summary_rows(result)
    lines = [
        f"# perfloop run {result.run_id}",
        "",
        f"Workload `{result.workload}` in `{result.root}`, Python {result.python}.",
        "",
        f"**{headline(result)}.**",
        "",
        *(
            [f"**Applied without the project's tests**: {result.applied_without_tests}.", ""]
            if result.applied_without_tests
            else []
        ),
        *_table(
            ["function", "share of time", "rule", "calls replayed", "speedup [95% CI]", "verdict"]
            + (["cache"] if any(r.cache for r in rows) else []),
            [
                [r.function, r.share, r.rule, r.calls, r.speedup, r.verdict]
                + ([r.cache] if any(r.cache for r in rows) else [])
                for r in rows
            ],
        ),
        "",
        *[f"{line}  " for line in cache_lines(result)],
        *([""] if cache_lines(result) else []),
    ]
    if result.workload_speedup is not None:
        speedup = result.workload_speedup.speedup
        unchanged = {
            True: "unchanged",
            False: "CHANGED",
            None: "not compared (it varies run to run)",
        }
        lines += [
            "## Whole workload",
            "",
            f"Original against patched, as whole processes: {format_speedup(speedup)} "
            f"(CPU time; p={speedup.p_value if speedup.p_value is not None else float('nan'):.2g})"
            + (
                f", wall time {format_speedup(result.workload_speedup.wall_speedup)}. "
                if result.workload_speedup.wall_speedup
                else ". "
            )
            + f"Method: {speedup.method}. "
            f"Output: {unchanged[result.workload_speedup.output_unchanged]}.",
            "",
        ]
    lines += ["## Where the time goes", ""]
    lines += _table(
        ["function", "file", "calls", "own time (s)", "share", "note"],
        [
            [
                str(f.function),
                f"{f.path}:{f.lineno}",
                f.calls_text,
                f"{f.self_seconds:.3f}",
                f"{f.share:.1%}",
                f.not_targetable or "",
            ]
            for f in result.profile.functions[:15]
        ],
    )
    lines += [
        "",
        "Own time includes library code (builtins, stdlib) that the function calls directly.",
        "",
        "## Targets",
        "",
    ]
    for target in result.targets:
        lines += _target_section(target)
    if result.decisions:
        lines += [
            "## Review decisions",
            "",
            "Made with `optimize --interactive` (a person) or the MCP tool `decide` (an agent), "
            "in this order; only accepted changes are applied.",
            "",
            *(f"- {_cell(line)}" for line in decision_lines(result)),
            "",
        ]
    llm = llm_cost_line(result)
    if llm is not None:
        lines += ["## Model cost", "", llm + ".", ""]
    if result.notes:
        lines += ["## Notes", "", *(f"- {n}" for n in result.notes), ""]
    lines += [
        "## How to read this",
        "",
        "A speedup is the original's time over the new version's, on the calls recorded from "
        'the workload. "Faster" means the lower bound of the 95% interval clears the threshold. '
        '"Verified" means that on every input each tier tried (the recorded calls, the fuzzed '
        "inputs, the project's tests, the symbolic search) the new version gave the same return "
        "value or exception type, left its arguments in the same state and printed the same "
        "output. The verification strength says how many deliberately broken copies of the "
        "original (mutants) those same tiers caught: the higher it is, the less a wrong "
        "rewrite could slip through.",
        "",
    ]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


_ICON = {
    CheckStatus.BEHAVIOUR_CHANGED: "❌ behaviour changed",
    CheckStatus.SLOWER: "❌ slower",
    CheckStatus.FASTER: "✅ faster",
    CheckStatus.SAME_SPEED: "✅ same behaviour",
    CheckStatus.NOT_MEASURED: "⚠️ timing failed",
    CheckStatus.UNVERIFIABLE: "⚠️ unverifiable",
}


def _behaviour_cell(check: FunctionCheck) -> str:
    verdict = check.verdict
    if verdict is None:
        return "-"
    if check.status is CheckStatus.BEHAVIOUR_CHANGED:
        return "**changed**"
    if check.status is CheckStatus.UNVERIFIABLE:
        return "not verified"
    return f"same on {verdict.calls_checked} recorded calls"


def _speed_cell(check: FunctionCheck, result: CheckResult) -> str:
    measurement = check.measurement
    if measurement is None or measurement.speedup is None:
        return "-"
    word = speed_word(measurement.speedup, result.min_speedup, result.max_slowdown)
    return f"{ratio_text(measurement.speedup)} ({word})"


def check_markdown(result: CheckResult) -> str:
    checked = [f for f in result.functions if f.status is not CheckStatus.NOT_EXERCISED]
    idle = [f for f in result.functions if f.status is CheckStatus.NOT_EXERCISED]
    failures = result.failures
    lines = [f"## perfloop check against `{result.base}`", ""]
    if failures:
        lines.append(
            f"**{len(failures)} of {len(checked)} changed functions that the workload runs "
            "changed behaviour or got slower.**"
        )
    elif checked:
        lines.append(
            f"All {len(checked)} changed functions that the workload runs behave as before and "
            "none got slower beyond the tolerance."
        )
    else:
        lines.append("The workload runs none of the functions changed since the base.")
    lines.append("")
    if checked:
        lines += [
            "| function | behaviour | speed: base time / new time [95% CI] | result |",
            "| --- | --- | --- | --- |",
        ]
        for check in checked:
            cells = [
                f"`{check.function}`",
                _behaviour_cell(check),
                _speed_cell(check, result),
                f"{_ICON[check.status]}: {check.reason}",
            ]
            lines.append("| " + " | ".join(_cell(c) for c in cells) + " |")
        lines.append("")
    for check in checked:
        if check.counterexample is not None:
            example = check.counterexample
            lines += [
                f"**`{check.function}`** differs on this call ({example.description}):",
                "",
                "```python",
                example.code,
                "```",
                "",
            ]
    if idle:
        names = ", ".join(f"`{f.function}`" for f in idle)
        lines += [f"Changed but not run by the workload (not checked): {names}.", ""]
    if result.notes:
        lines += [*(f"- {note}" for note in result.notes), ""]
    tiers = dict.fromkeys(t for f in checked if f.verdict for t in f.verdict.tiers)
    lines += [
        f"Workload: `{result.workload}`. Behaviour: each new version against its base version "
        f"on the calls the workload made to it ({', '.join(tiers) or 'no tier ran'}), compared "
        "exactly (return value, exception type, argument state, output). "
        f"Speed: paired ABBA timing on the recorded calls; faster means the interval's lower "
        f"bound clears {result.min_speedup:g}, slower means the base version is faster by more "
        f"than {result.max_slowdown:g}x at the interval's best case. perfloop run "
        f"`{result.run_id}`.",
        "",
    ]
    return "\n".join(lines)


def _counterexample(example: Counterexample) -> list[str]:
    return [
        f"**Counterexample** ({example.where}; {reproduce_hint(example)}): {example.description}",
        "",
        "```python",
        example.code,
        "```",
        "",
    ]


def _closing(notes: tuple[str, ...], reuse: str) -> list[str]:
    """The notes as a list, then how to reuse the run's calls."""
    return [*(f"- note: {note}" for note in notes), *([""] if notes else []), reuse, ""]


def verify_markdown(result: VerifyResult) -> str:
    lines = [
        f"## perfloop verify `{result.function}`",
        "",
        f"**{result.decision.value.upper()}**: {result.reason}",
        "",
        f"Candidate: `{result.candidate.origin}`. The workload made {result.calls_seen} calls; "
        f"{result.calls_recorded} were recorded.",
        "",
    ]
    verdict = result.verdict
    if verdict is not None:
        lines += [*(f"- {tier_line(run)}" for run in verdict.runs), ""]
        lines += [strength_text(result.strength, verdict) + ".", ""]
    if result.counterexample is not None:
        lines += _counterexample(result.counterexample)
    reuse = (result.run_id, result.calls_recorded, str(result.function))
    return "\n".join([*lines, *_closing(result.notes, reuse_line(*reuse))])


def bench_markdown(result: BenchResult) -> str:
    lines = [f"## perfloop bench `{result.function}`", ""]
    speedup = result.measurement.speedup
    if speedup is None:
        lines += [f"Not measured: {result.measurement.missing_speedup()}", ""]
    else:
        lines += [
            f"**{ratio_text(speedup)}** (original time / candidate time, 95% interval): "
            f"{speed_text(speedup, result.threshold)}.",
            "",
        ]
        details = measurement_details(result.measurement)
        if details:
            lines += [details + ".", ""]
    if result.noise_floor is not None:
        lines += [noise_floor_line(result.noise_floor, result.min_speedup) + ".", ""]
    workload = result.workload
    if workload is not None and workload.speedup is not None:
        lines += [f"Whole workload: {ratio_text(workload.speedup)}.", ""]
    if speedup is not None:
        lines += [
            f"Candidate `{result.candidate.origin}`, {result.calls_recorded} recorded "
            f"calls. Method: {speedup.method}.",
            "",
        ]
    reuse = (result.run_id, result.calls_recorded, str(result.function))
    return "\n".join([*lines, *_closing(result.notes, reuse_line(*reuse))])


@singledispatch
def render(result: CommandResult) -> str:
    """The Markdown of any command's result."""
    raise TypeError(f"no Markdown for {type(result).__name__}")


render.register(RunResult, render_markdown)
render.register(VerifyResult, verify_markdown)
render.register(BenchResult, bench_markdown)
render.register(CheckResult, check_markdown)

RENDERER = Renderer(
    name="markdown",
    description="Markdown for a person reviewing the change (report.md of a run, a PR comment)",
    render=render,
    run_file="report.md",
)
