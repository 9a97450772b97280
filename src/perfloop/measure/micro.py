"""The micro A/B: time a candidate against the original on the recorded calls.

Runs `settings.processes` sandboxed timing processes one after another (each a
fresh interpreter: a new hash seed and memory layout), collects their paired
ABBA block times (see `perfloop.measure.timing`) and turns them into a ratio
with a hierarchical bootstrap interval (see `perfloop.measure.stats`).
Never raises: every failure becomes a Measurement with an error message.
"""

from __future__ import annotations

import statistics
import traceback
from collections.abc import Sequence
from pathlib import Path

from perfloop.measure.settings import MeasureSettings
from perfloop.measure.stats import DEFAULT_RESAMPLES, paired_ratio_interval
from perfloop.measure.timing import ProcessTimings, TimingTask
from perfloop.model import CallRecord, Candidate, Measurement, Speedup
from perfloop.sandbox import WorkerOutcome, WorkerStatus, run_in_worker

TIMING_ENTRY = "perfloop.measure.timing:run_timing_task"
DEFAULT_SETTINGS = MeasureSettings()


def measure_candidate(
    candidate: Candidate,
    original_source: str,
    records: Sequence[CallRecord],
    *,
    root: Path,
    settings: MeasureSettings = DEFAULT_SETTINGS,
) -> Measurement:
    """Time `candidate` against the original on `records`; faster if ci_low >= min_speedup.

    Never raises: a failure of the candidate, a worker or perfloop itself becomes
    a Measurement with `error` set.
    """
    try:
        return _measure_candidate(candidate, original_source, records, root, settings)
    except Exception:  # a bug of ours must not stop the run: report it with the traceback
        return Measurement(
            None, False, f"perfloop failed while measuring:\n{traceback.format_exc(limit=-6)}"
        )


def _measure_candidate(
    candidate: Candidate,
    original_source: str,
    records: Sequence[CallRecord],
    root: Path,
    settings: MeasureSettings,
) -> Measurement:
    if not records:
        return Measurement(None, False, "no recorded calls to time the candidate on")
    task = timing_task(candidate, original_source, records, settings)
    timings: list[ProcessTimings] = []
    for number in range(1, settings.processes + 1):
        outcome = run_in_worker(TIMING_ENTRY, task, root=root, limits=settings.limits)
        failure = process_failure(outcome, number, settings)
        if failure is not None:
            return Measurement(None, False, failure)
        assert isinstance(outcome.value, ProcessTimings)
        timings.append(outcome.value)
    speedup = summarise_timings(timings, settings)
    return Measurement(speedup, speedup.clears(settings.min_speedup))


def timing_task(
    candidate: Candidate,
    original_source: str,
    records: Sequence[CallRecord],
    settings: MeasureSettings,
) -> TimingTask:
    return TimingTask(
        module=candidate.function.module,
        qualname=candidate.function.qualname,
        path=candidate.path,
        original_source=original_source,
        candidate_source=candidate.module_source,
        call_args=tuple(record.args for record in records),
        call_reprs=tuple(record.call_repr for record in records),
        pairs=settings.pairs_per_process,
        min_block_ns=round(settings.min_block_seconds * 1e9),
    )


def process_failure(
    outcome: WorkerOutcome[object], number: int, settings: MeasureSettings
) -> str | None:
    """Why timing process `number` gave no usable times, or None if it did."""
    where = f"timing process {number} of {settings.processes}"
    if outcome.status is WorkerStatus.TIMEOUT:
        return (
            f"{where} {outcome.message} (the time limit, "
            f"MeasureSettings.limits.wall_seconds={settings.limits.wall_seconds:g}); the "
            "candidate or the original hangs or is very slow on the recorded calls"
        )
    if not outcome.ok:
        tail = f"\n{outcome.stderr_tail.strip()}" if outcome.stderr_tail.strip() else ""
        return f"{where} failed ({outcome.status.value}): {outcome.message}{tail}"
    if not isinstance(outcome.value, ProcessTimings):
        return f"{where} returned {type(outcome.value).__name__}, not timings"
    if outcome.value.problem is not None:
        return outcome.value.problem
    return None


def summarise_timings(timings: Sequence[ProcessTimings], settings: MeasureSettings) -> Speedup:
    """The paired ratio over all processes' block pairs, its interval, and per-pass medians."""
    groups = [list(zip(t.baseline_ns, t.candidate_ns)) for t in timings]
    interval = paired_ratio_interval(groups, confidence=settings.confidence)
    return Speedup(
        ratio=interval.ratio,
        ci_low=interval.low,
        ci_high=interval.high,
        pairs=interval.pairs,
        baseline_seconds=median_pass_seconds(timings, baseline=True),
        candidate_seconds=median_pass_seconds(timings, baseline=False),
        method=micro_method_text(timings, settings.confidence),
    )


def median_pass_seconds(timings: Sequence[ProcessTimings], *, baseline: bool) -> float:
    """Median seconds of one pass over all recorded calls, over every block of one side."""
    return statistics.median(
        nanoseconds / t.loops / 1e9
        for t in timings
        for nanoseconds in (t.baseline_ns if baseline else t.candidate_ns)
    )


def micro_method_text(timings: Sequence[ProcessTimings], confidence: float) -> str:
    pairs = sum(len(t.baseline_ns) for t in timings)
    loops = sorted({t.loops for t in timings})
    loop_text = "/".join(str(n) for n in loops)
    calls = timings[0].calls_per_pass
    return (
        f"geometric mean of {pairs} paired ABBA block ratios (baseline/candidate) over "
        f"{len(timings)} processes; a block is {loop_text} pass(es) over {calls} recorded "
        f"call(s) on fresh input copies, GC off; {confidence:.0%} CI by hierarchical "
        f"bootstrap (processes, then pairs; {DEFAULT_RESAMPLES} resamples, seed 0)"
    )
