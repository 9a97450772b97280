"""What verify, bench and check print: plain text for the terminal, Markdown for a PR comment.

Pure functions of the result objects; each number comes with its interval and method.
"""

from __future__ import annotations

from perfloop.measure import NoiseFloor
from perfloop.model import Speedup, TierRun
from perfloop.outside.judge import strength_text
from perfloop.outside.results import (
    BenchResult,
    CheckResult,
    CheckStatus,
    Counterexample,
    FunctionCheck,
    VerifyResult,
)
from perfloop.report.summary import measurement_details, speed_word
from perfloop.verification.plan import tier_named


def ratio_text(speedup: Speedup) -> str:
    return interval_text(speedup.ratio, speedup.ci_low, speedup.ci_high)


def interval_text(ratio: float, low: float, high: float) -> str:
    return f"{ratio:.2f}x [{low:.2f}, {high:.2f}]"


def _seconds(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def counterexample_lines(example: Counterexample, indent: str = "    ") -> list[str]:
    if example.tier == "tests":
        how = "run it to reproduce"
    elif example.exact:
        how = "paste it to reproduce"
    else:
        how = "NOT pasteable: an argument has no exact Python form, shown by its repr"
    return [
        f"smallest counterexample ({example.where}; {how}):",
        f"{indent}{example.code}",
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
        lines.append(
            f"inputs tried: {verdict.calls_checked} of {result.calls_recorded} recorded calls "
            f"replayed (the workload made {result.calls_seen} calls)"
            + "".join(
                f", {run.inputs} {tier_named(run.tier).inputs}"
                for run in verdict.runs
                if run.tier != "replay" and run.outcome != "skipped"
            )
        )
        lines.append(f"verification strength: {strength_text(result.strength, verdict)}")
    if result.counterexample is not None:
        lines += counterexample_lines(result.counterexample)
    lines += [f"note: {note}" for note in result.notes]
    lines.append(
        reuse_line(result.run_id, result.calls_recorded, str(result.function), result.calls_seen)
    )
    return "\n".join(lines) + "\n"


def reuse_line(run_id: str, calls_recorded: int, function: str, calls_seen: int = 0) -> str:
    """How a later command reuses this run's calls, or what to do when it recorded none."""
    if calls_recorded:
        return f"reuse these calls: --run {run_id}"
    if calls_seen:
        return (
            f"the workload called {function} {calls_seen} times but none of the calls could be "
            "recorded (the verdict says why), so there is nothing to reuse"
        )
    return (
        f"no calls of {function} were recorded, so there is nothing to reuse: give a "
        "--workload that calls it (or check that the name is the one the workload calls)"
    )


def tier_line(run: TierRun) -> str:
    """`fuzz: same on 200 generated inputs (1.2 s)`, or why the tier was skipped."""
    if run.outcome == "skipped":
        return f"{run.tier}: skipped ({run.note})"
    noun = tier_named(run.tier).inputs
    text = f"{run.tier}: {run.outcome} on {run.inputs} {noun} ({run.seconds:.1f} s)"
    return f"{text}; {run.note}" if run.note else text


def noise_floor_line(noise: NoiseFloor, min_speedup: float) -> str:
    """The A/A run and the rule it feeds; its figures beside the ratio come from the report's."""
    label = "noise floor (A/A: the original against itself"
    if noise.error is not None:
        return f"{label}): not measured, the threshold stays {min_speedup:g}: {noise.error}"
    interval = interval_text(noise.ratio, noise.low, noise.high)
    return (
        f"{label}, {noise.processes} processes): {interval}"
        f"; faster needs the interval's lower bound to clear {min_speedup:g} or this floor, "
        "whichever is higher"
    )


def bench_text(result: BenchResult) -> str:
    measurement = result.measurement
    lines = [
        f"perfloop bench {result.function}  candidate: {result.candidate.origin}  "
        f"run: {result.run_id}",
    ]
    speedup = measurement.speedup
    if speedup is None:
        lines.append(f"speedup: not measured (exit {result.exit_code}): {measurement.error}")
    else:
        lines.append(
            f"speedup: {ratio_text(speedup)} (original time / candidate time, 95% CI): "
            f"{result.speed_text}"
        )
        details = measurement_details(measurement)  # noise floor, threshold, detectable
        if details:
            lines.append(f"  {details}")
    if result.noise_floor is not None:
        lines.append(noise_floor_line(result.noise_floor, result.min_speedup))
    if speedup is not None:
        lines.append(
            f"one pass over {result.calls_recorded} recorded calls: "
            f"original {_seconds(speedup.baseline_seconds)}, "
            f"candidate {_seconds(speedup.candidate_seconds)}"
        )
    workload = result.workload
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
