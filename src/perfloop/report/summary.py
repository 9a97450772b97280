"""The one summary table of a run, shared by the terminal and Markdown renderers."""

from __future__ import annotations

from dataclasses import dataclass

from perfloop.model import (
    CandidateResult,
    Measurement,
    RunResult,
    Speedup,
    TargetResult,
    TargetStatus,
    VerdictStatus,
)


@dataclass(frozen=True)
class SummaryRow:
    function: str
    share: str
    rule: str
    calls: str
    speedup: str
    verdict: str
    status: TargetStatus


def format_speedup(speedup: Speedup) -> str:
    return f"{speedup.ratio:.2f}x [{speedup.ci_low:.2f}, {speedup.ci_high:.2f}]"


FASTER = "faster"
SLOWER = "slower"
BELOW_THRESHOLD = "faster, but below the threshold"
NO_DIFFERENCE = "no significant difference"


def speed_word(speedup: Speedup | None, min_speedup: float, max_slowdown: float = 1.0) -> str:
    """How a ratio (baseline over candidate time) reads: decided by its interval, not its middle.

    faster: the lower bound clears `min_speedup`; slower: the upper bound times
    `max_slowdown` stays under 1; faster, but below the threshold: the interval
    lies above 1 (significant) but its lower bound misses `min_speedup`.
    """
    if speedup is None:
        return "not measured"
    if speedup.ci_low >= min_speedup:
        return FASTER
    if speedup.ci_high < 1.0 and speedup.ci_high * max_slowdown <= 1.0:
        return SLOWER
    if speedup.ci_low > 1.0:
        return BELOW_THRESHOLD
    return NO_DIFFERENCE


def speed_text(speedup: Speedup | None, threshold: float, max_slowdown: float = 1.0) -> str:
    """The speed word with the figures that decided it, for a person to read.

    `faster by 3.0% [2.0%, 4.0%], significant, but below the 5.0% threshold (--min-speedup)`.
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
        return (
            f"faster by {by}, significant, but below the {amount(threshold)} threshold "
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
        rows.append(
            SummaryRow(
                function=str(target.function),
                share=f"{target.share:.1%}",
                rule=shown.candidate.origin if shown else "-",
                calls=calls,
                speedup=format_speedup(speedup) if speedup else "-",
                verdict=verdict_text(target),
                status=target.status,
            )
        )
    return rows


def headline(result: RunResult) -> str:
    """`2 of 5 functions made faster, verified; 1 faster but weakly verified (...)`: only
    strongly verified ones count as verified."""
    weak = sum(1 for target in result.improved if target.weakly_verified)
    strong = len(result.improved) - weak
    text = f"{strong} of {len(result.targets)} functions made faster, verified"
    if weak:
        text += f"; {weak} faster but weakly verified (not applied without --accept-weak)"
    if result.workload_speedup is not None:
        text += f"; whole workload {format_speedup(result.workload_speedup.speedup)}"
    return text


def llm_speedups(result: RunResult) -> int:
    """LLM candidates that were verified and measurably faster."""
    return sum(
        1
        for target in result.targets
        for c in target.candidates
        if c.candidate.origin.startswith("llm:") and c.measurement and c.measurement.faster
    )


def llm_cost_line(result: RunResult) -> str | None:
    """What the run's LLM calls cost, in total and per verified speedup; None without calls."""
    usage = result.llm_usage
    if usage is None:
        return None
    text = (
        f"LLM: {usage.calls} calls ({usage.cached_calls} from the cache), "
        f"{usage.prompt_tokens:,}+{usage.completion_tokens:,} tokens, {usage.seconds:.1f} s"
    )
    if usage.cost is not None:
        text += f", ${usage.cost:.4f}"
    wins = llm_speedups(result)
    if wins:
        text += (
            f"; per verified speedup: {usage.tokens / wins:,.0f} tokens, "
            f"{usage.seconds / wins:.1f} s"
        )
        if usage.cost is not None:
            text += f", ${usage.cost / wins:.4f}"
    else:
        text += "; no verified speedup came from the LLM"
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
