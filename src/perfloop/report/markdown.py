"""report.md: the run explained for a person reviewing the patch."""

from __future__ import annotations

from perfloop.model import CandidateResult, RunResult, TargetResult, VerdictStatus
from perfloop.report.summary import (
    format_speedup,
    headline,
    llm_cost_line,
    measurement_details,
    speed_text,
    summary_rows,
)
from perfloop.report.verification import strength_text, tiers_text


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
        error = measurement.error if measurement else "not measured"
        return f"- {origin}: same behaviour [{tiers_text(verdict)}]; timing failed: {error}"
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
    lines += [_candidate_line(c) for c in target.candidates]
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
            ["function", "share of time", "rule", "calls replayed", "speedup [95% CI]", "verdict"],
            [[r.function, r.share, r.rule, r.calls, r.speedup, r.verdict] for r in rows],
        ),
        "",
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
                str(f.calls),
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
    llm = llm_cost_line(result)
    if llm is not None:
        lines += ["## LLM cost", "", llm + ".", ""]
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
