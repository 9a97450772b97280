"""The pieces the renderers share: a run's summary table, the speed words with their figures,
and the one-line forms of intervals, tier runs and the noise floor."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from perfloop.measure import NoiseFloor
from perfloop.measure.speed import BELOW_THRESHOLD, FASTER, SLOWER, speed_word
from perfloop.model import CandidateResult, Measurement, Speedup, TierRun, VerdictStatus
from perfloop.results import (
    CacheState,
    Counterexample,
    ReviewAction,
    ReviewDecision,
    RunResult,
    TargetResult,
    TargetStatus,
)
from perfloop.verification.tiers import tier_named


@dataclass(frozen=True)
class SummaryRow:
    function: str
    share: str
    rule: str
    calls: str
    speedup: str
    verdict: str
    status: TargetStatus
    cache: str = ""


def format_speedup(speedup: Speedup) -> str:
    return f"{speedup.ratio:.2f}x [{speedup.ci_low:.2f}, {speedup.ci_high:.2f}]"


def speed_text(speedup: Speedup | None, threshold: float, max_slowdown: float = 1.0) -> str:
    """The speed word with the figures that decided it, for a person to read.

    `faster by 3.0% [2.0%, 4.0%], significant, but the interval does not clear the 5.0%
    threshold (--min-speedup 1.05)`: the interval's lower end decides, not the estimate
    (tomli's `parse_value` read "faster by 6.3% [4.4%, 8.2%] ... below the 5.1% threshold").
    """
    word = speed_word(speedup, threshold, max_slowdown)
    if speedup is None or word == SLOWER:
        return word
    amount = _percent if max(speedup.ci_high, threshold) < 2 else _times
    by = f"{amount(speedup.ratio)} [{amount(speedup.ci_low)}, {amount(speedup.ci_high)}]"
    if word == FASTER:
        return f"faster by {by}"
    if word == BELOW_THRESHOLD:
        floor = speedup.noise_floor
        source = "the A/A noise floor" if floor is not None and floor >= threshold else None
        # the interval is above 1.00x; the pairs' signed-rank test may still not agree
        # (pyparsing's Forward.parseImpl: "1.07x [1.01, 1.13]" with p=0.28 under load)
        agreed = speedup.p_value is None or speedup.p_value < 0.05
        significant = (
            "significant" if agreed else f"above 1.00x (though the pairs' p={speedup.p_value:.2g})"
        )
        return (
            f"faster by {by}, {significant}, but the interval does not clear the "
            f"{amount(threshold)} threshold "
            f"({source or f'--min-speedup {threshold:g}'}): not called faster"
        )
    if speedup.ci_high < 1.0:  # slower, but `max_slowdown` tolerates it
        return (
            f"slower, within the {max_slowdown:g}x tolerance: {_times(1 / speedup.ratio)} the time"
        )
    text = f"{word}: the 95% interval includes 1.00x"
    if speedup.p_value is not None and speedup.p_value < 0.05:
        text += (
            f" (the pairs' p={speedup.p_value:.2g} counts the noise within each process; "
            "the interval also counts the spread between processes)"
        )
    return text


def _percent(ratio: float) -> str:
    """A ratio as the percentage faster it means: 1.03 -> 3.0%, 0.9 -> -10%."""
    value = (ratio - 1) * 100
    return f"{value:.0f}%" if abs(value) >= 10 else f"{value:.1f}%"


def _times(ratio: float) -> str:
    return f"{ratio:.2f}x"


def _most_informative(target: TargetResult) -> CandidateResult | None:
    """The candidate that tells the most about the outcome: the best, else the furthest along."""
    if target.best is not None:
        return target.best
    measured = [c for c in target.candidates if c.measurement and c.measurement.speedup]
    if measured:
        return max(measured, key=lambda c: c.measurement.speedup.ratio)  # type: ignore[union-attr]
    return target.candidates[0] if target.candidates else None


def verdict_text(target: TargetResult) -> str:
    best = target.best.measurement if target.best else None
    word = "less memory" if best is not None and best.objective == "memory" else "faster"
    if target.status is TargetStatus.IMPROVED and target.weakly_verified:
        score = target.strength.score if target.strength else None
        shown = "unknown" if score is None else f"{score:.0%}"
        return f"{word}, weakly verified (strength {shown}; --apply needs --accept-weak)"
    if target.status is TargetStatus.IMPROVED:
        score = target.strength.score if target.strength else None
        return f"{word}, verified" + (f" (strength {score:.0%})" if score is not None else "")
    if target.status is TargetStatus.UNVERIFIABLE:
        return f"unverifiable: {target.reason}"
    return target.reason or target.status.value


def summary_rows(result: RunResult) -> list[SummaryRow]:
    rows = []
    for target in result.targets:
        shown = _most_informative(target)
        speedup = shown.measurement.speedup if shown and shown.measurement else None
        verdict = shown.verdict if shown else None
        calls = str(target.calls_recorded)
        if verdict is not None and verdict.status is VerdictStatus.EQUIVALENT:
            calls = f"{verdict.calls_checked}/{target.calls_recorded}"
            judged = {run.tier for run in verdict.runs if run.outcome != "skipped"}
            if "replay" not in judged and "interaction" in judged:  # a whole class
                calls = f"{target.calls_recorded} histories"
        rows.append(
            SummaryRow(
                function=str(target.function),
                share=f"{target.share:.1%}",
                rule=shown.candidate.origin if shown else "-",
                calls=calls,
                speedup=format_speedup(speedup) if speedup else "-",
                verdict=verdict_text(target),
                status=target.status,
                cache=cache_word(target),
            )
        )
    return rows


def cache_word(target: TargetResult) -> str:
    """Where the target's result came from, in a word or two: `reused`, `re-measured`,
    `computed`, `off`; empty for a run without the cache."""
    use = target.cache
    if use is None:
        return ""
    return {
        CacheState.REUSED: "reused",
        CacheState.REMEASURED: "re-measured",
        CacheState.COMPUTED: "computed",
        CacheState.OFF: "off",
    }[use.state]


def cache_text(target: TargetResult) -> str | None:
    """The target's cache use in a sentence, or None for a run without the cache."""
    use = target.cache
    if use is None:
        return None
    if use.state is CacheState.REUSED:
        return f"verdicts and measurements reused from run {use.run_id} ({use.why})"
    if use.state is CacheState.REMEASURED:
        return f"re-measured: {use.why} (verdicts from run {use.run_id})"
    if use.state is CacheState.COMPUTED:
        return f"computed: {use.why}"
    return f"result cache not used: {use.why}"


def cache_lines(result: RunResult) -> list[str]:
    """A summary of the cache's part in the run, then why each target not reused was not."""
    used = [t for t in result.targets if t.cache is not None]
    if not used:
        return []
    reused = sum(1 for t in used if t.cache and t.cache.state is CacheState.REUSED)
    lines = [f"result cache: {reused} of {len(result.targets)} targets reused"]
    lines += [
        f"{t.function}: {cache_text(t)}"
        for t in used
        if t.cache is not None and t.cache.state is not CacheState.REUSED
    ]
    return lines


def headline(result: RunResult) -> str:
    """`2 of 5 functions made faster, verified; 1 faster but weakly verified (...)`: only
    strongly verified ones count as verified. Whole classes as targets are counted as
    classes: `1 of 1 classes made faster`, `1 of 3 targets (2 functions, 1 class) ...`."""
    weak = sum(1 for target in result.improved if target.weakly_verified)
    strong = len(result.improved) - weak
    text = f"{strong} of {targets_text(result.targets)} made faster, verified"
    if weak:
        text += f"; {weak} faster but weakly verified (not applied without --accept-weak)"
    if result.workload_speedup is not None:
        text += f"; whole workload {format_speedup(result.workload_speedup.speedup)}"
    return text


def targets_text(targets: Sequence[TargetResult]) -> str:
    """`5 functions`, `1 classes`, or `3 targets (2 functions, 1 class)`: what the targets
    were."""
    classes = sum(1 for target in targets if target.whole_class)
    functions = len(targets) - classes
    if not classes:
        return f"{functions} functions"
    if not functions:
        return f"{classes} classes"
    named = f"{functions} function{'s' if functions > 1 else ''}, {classes} class"
    return f"{len(targets)} targets ({named}{'es' if classes > 1 else ''})"


MODEL_ORIGINS = ("llm:", "cmd:")  # candidates a model wrote, directly or through a command


def llm_speedups(result: RunResult) -> int:
    """Candidates from an LLM or a proposer command that were verified and measurably faster."""
    return sum(
        1
        for target in result.targets
        for c in target.candidates
        if c.candidate.origin.startswith(MODEL_ORIGINS) and c.measurement and c.measurement.faster
    )


def llm_cost_line(result: RunResult) -> str | None:
    """What the run's LLM calls and proposer command runs cost, in total and per verified
    speedup (tokens and money as the command reported them); None without any."""
    usage = result.llm_usage
    if usage is None:
        return None
    if usage.command_runs == usage.calls:
        counted = f"proposer command: {usage.calls} runs"
    elif usage.command_runs:
        counted = f"LLM and proposer command: {usage.calls} calls ({usage.command_runs} runs)"
    else:
        counted = f"LLM: {usage.calls} calls"
    # a command that reports no tokens has no token figures, rather than zero of them
    unreported = usage.tokens == 0 and usage.command_runs == usage.calls
    tokens = (
        "tokens not reported"
        if unreported
        else f"{usage.prompt_tokens:,}+{usage.completion_tokens:,} tokens"
    )
    text = f"{counted} ({usage.cached_calls} from the cache), {tokens}, {usage.seconds:.1f} s"
    if usage.cost is not None:
        text += f", ${usage.cost:.4f}"
    wins = llm_speedups(result)
    if wins:
        per_win = "" if unreported else f"{usage.tokens / wins:,.0f} tokens, "
        text += f"; per verified speedup: {per_win}{usage.seconds / wins:.1f} s"
        if usage.cost is not None:
            text += f", ${usage.cost / wins:.4f}"
    else:
        text += "; no verified speedup came from " + (
            "the command" if usage.command_runs == usage.calls else "the LLM"
        )
    if usage.failed_calls:
        text += f"; {usage.failed_calls} calls failed, first: {usage.first_error}"
    return text


def _bytes(count: int) -> str:
    for unit, size in (("MB", 1 << 20), ("KB", 1 << 10)):
        if count >= size:
            return f"{count / size:.1f} {unit}"
    return f"{count} B"


def measurement_details(measurement: Measurement) -> str:
    """What stands beside a ratio: p-value, noise floor, memory, instructions, caveats."""
    parts = []
    speedup = measurement.speedup
    if speedup is not None and speedup.p_value is not None:
        parts.append(f"p={speedup.p_value:.2g} (signed-rank)")
    if speedup is not None and speedup.noise_floor is not None:
        parts.append(f"noise floor {speedup.noise_floor:.3f}x")
    if speedup is not None and speedup.threshold is not None:
        detectable = speedup.min_detectable
        shown = f", detectable from {detectable:.3f}x" if detectable and detectable < 100 else ""
        parts.append(f"threshold {speedup.threshold:.3f}x{shown}")
    memory = measurement.memory
    if memory is not None:
        parts.append(
            f"peak memory per call {_bytes(memory.baseline_bytes)} -> "
            f"{_bytes(memory.candidate_bytes)}"
        )
    counts = measurement.instructions
    if counts is not None and counts.ratio is not None:
        parts.append(f"instructions {counts.ratio:.2f}x ({counts.tool})")
    return "; ".join([*parts, *measurement.notes])


def detail_lines(result: RunResult) -> list[str]:
    """One line per measured best candidate: its figures beside the ratio."""
    lines = []
    for target in result.targets:
        best = _most_informative(target)
        if best is not None and best.measurement is not None and best.measurement.speedup:
            lines.append(f"{target.function}: {measurement_details(best.measurement)}")
    return lines


def ratio_text(speedup: Speedup) -> str:
    return interval_text(speedup.ratio, speedup.ci_low, speedup.ci_high)


def interval_text(ratio: float, low: float, high: float) -> str:
    return f"{ratio:.2f}x [{low:.2f}, {high:.2f}]"


def seconds_text(value: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


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


def reproduce_hint(example: Counterexample) -> str:
    """How a reader reproduces a counterexample, by the tier that found it."""
    if example.tier == "tests":
        return "run it to reproduce"
    if example.tier == "rollout":
        return "run it with the candidate in place to see the difference"
    if example.exact:
        return "paste it to reproduce"
    return "NOT pasteable: an argument has no exact Python form, shown by its repr"


def decision_text(decision: ReviewDecision) -> str:
    """A person's decision in one line: `accepted edit:rule:str-join (3f9a1c2b7d10)`."""
    action = decision.action
    if action is ReviewAction.HINTED:
        text = f'asked the LLM for more: "{decision.text}"'
    elif action is ReviewAction.KEPT_ORIGINAL:
        text = "kept the original"
    else:
        text = f"{action.value} {decision.origin} ({decision.candidate_id})"
    if action is ReviewAction.EDITED and decision.outcome_id:
        text += f", giving {decision.outcome_id}"
    return f"{text}: {decision.outcome}" if decision.outcome else text


def decision_lines(result: RunResult) -> list[str]:
    """What the person (optimize --interactive) or agent (MCP decide) reviewing the run
    decided, in order."""
    return [f"{d.function}: {decision_text(d)}" for d in result.decisions]
