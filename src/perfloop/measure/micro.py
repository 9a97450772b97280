"""The micro A/B: time a candidate against the original on the recorded calls.

Runs sandboxed timing processes one after another (each a fresh interpreter:
a new hash seed and memory layout), collects their paired ABBA block times
(see `perfloop.measure.timing`) and turns them into a ratio with a t-interval
across processes (see `perfloop.measure.stats`). The number of processes
adapts: at least `settings.processes`, then one more while the interval
straddles the threshold and the processes still allowed could lift it above
(`stats.cannot_clear`), until `settings.max_processes` or the wall-clock
budget. Never raises: every failure becomes a Measurement with an error message.
"""

from __future__ import annotations

import math
import statistics
import time
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.measure.counters import count_instructions
from perfloop.measure.executed import only_the_body_differs
from perfloop.measure.settings import MeasureSettings
from perfloop.measure.stats import (
    INTERIM_CONFIDENCE,
    Decision,
    GroupedRatio,
    decide,
    grouped_ratio_interval,
    log_ratios,
    minimum_detectable,
    signed_rank_p_value,
)
from perfloop.measure.timing import LEARNING_FACTOR, LearningCheck, ProcessTimings, TimingTask
from perfloop.model import CallRecord, Candidate, FunctionRef, Measurement, MemoryPeaks, Speedup
from perfloop.sandbox.runner import WorkerOutcome, WorkerStatus, run_in_worker

TIMING_ENTRY = "perfloop.measure.timing:run_timing_task"
DEFAULT_SETTINGS = MeasureSettings()
AA_BUDGET_FACTOR = 2  # an A/A whose floor is above min_speedup extends up to 2 budgets


@dataclass(frozen=True)
class NoiseFloor:
    """How far apart identical code looks on this machine now: an A/A run of the original.

    `floor` is the largest ratio the A/A interval reaches either way
    (max(high, 1/low)); `threshold` is the threshold a candidate must clear,
    `--min-speedup` or the floor if that is higher; `min_detectable` the
    smallest true speedup that clears `threshold` in 80% of measurements of
    this size. With `error` set the A/A failed and the plain threshold holds.
    """

    ratio: float
    low: float
    high: float
    floor: float
    threshold: float
    min_detectable: float
    processes: int
    method: str
    error: str | None = None


@dataclass(frozen=True)
class MicroRun:
    """The raw outcome of one micro A/B: every process's timings and the interval on them."""

    timings: tuple[ProcessTimings, ...]
    estimate: GroupedRatio | None
    decision: Decision
    threshold: float
    seconds: float
    error: str | None = None
    same_instructions: int = 0  # the first process found nothing to time (ProcessTimings)


def measure_candidate(
    candidate: Candidate,
    original_source: str,
    records: Sequence[CallRecord],
    *,
    root: Path,
    settings: MeasureSettings = DEFAULT_SETTINGS,
    noise: NoiseFloor | None = None,
    whole_class: bool = False,
) -> Measurement:
    """Time `candidate` against the original on `records`; faster if ci_low >= the threshold.

    `whole_class`: the target is a class and each record one history of an instance
    (see `perfloop.outside.whole_class.history_records`).

    The threshold is `settings.min_speedup`, raised to the noise floor when
    `noise` (an A/A run, see `measure_noise_floor`) says identical code strays
    further on this machine now. Never raises: a failure of the candidate, a
    worker or perfloop itself becomes a Measurement with `error` set.
    """
    try:
        return _measure_candidate(
            candidate, original_source, records, root, settings, noise, whole_class
        )
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
    noise: NoiseFloor | None,
    whole_class: bool = False,
) -> Measurement:
    if not records:
        return Measurement(None, False, "no recorded calls to time the candidate on")
    threshold = time_threshold(settings, noise)
    task = timing_task(candidate, original_source, records, root, settings, whole_class)
    if not whole_class and only_the_body_differs(
        original_source, candidate.module_source, candidate.function.qualname
    ):
        task = replace(task, compare_instructions=True)
    run = run_micro_ab(task, root, settings, threshold)
    if run.same_instructions:
        return Measurement(
            None, False, objective=settings.objective, untimed=same_instructions_text(run)
        )
    if run.error is not None or run.estimate is None:
        return Measurement(None, False, run.error or "no timings", objective=settings.objective)
    speedup = summarise_run(run, settings, noise)
    if whole_class:  # what one timed "call" is
        method = speedup.method.replace("recorded call(s)", "recorded instance histories")
        speedup = replace(speedup, method=method)
    faster = speedup.clears(max(settings.min_speedup, noise_threshold(noise)))
    memory = run.timings[0].memory
    better = None
    if settings.objective == "memory":
        better = memory is not None and memory_is_better(memory, speedup, settings)
    notes = measurement_notes(run, settings)
    instructions = None
    if settings.counters and (better if better is not None else faster):
        instructions = count_instructions(
            replace(task, cold=run.timings[0].cold),
            root=root,
            pass_seconds=speedup.baseline_seconds,
        )
        if instructions.unavailable:
            notes += (f"instructions not counted: {instructions.unavailable}",)
    return Measurement(
        speedup,
        faster,
        memory=memory,
        instructions=instructions,
        better=better,
        objective=settings.objective,
        notes=notes,
        learns=keeps_answers(run.timings[0].learning),
    )


def same_instructions_text(run: MicroRun) -> str:
    calls = "its one recorded call" if run.same_instructions == 1 else (
        f"each of its {run.same_instructions} recorded calls"
    )  # fmt: skip
    return (
        f"not timed: on {calls} it runs the very instructions the original runs (its edit "
        "is in code those calls never reach), so a timing could show only noise"
    )


CACHE_FACTOR = 3.0
"""How much more the candidate's first pass must cost than its second, against the
original's own ratio, before the whole workload judges it instead of replayed calls.
LEARNING_FACTOR (1.2) only switches the micro A/B to first passes, which costs little
when it is wrong; a whole-workload A/B costs minutes, and a real cache is far beyond
this (mpmath's exp_basecase: 22x)."""


def keeps_answers(learning: LearningCheck | None) -> bool:
    """The candidate keeps answers between calls: it learns, and by a wide margin."""
    if learning is None or not learning.learns:
        return False
    return learning.candidate_first_over_later >= CACHE_FACTOR * learning.baseline_first_over_later


def measure_noise_floor(
    candidate_like: Candidate,
    original_source: str,
    records: Sequence[CallRecord],
    *,
    root: Path,
    settings: MeasureSettings = DEFAULT_SETTINGS,
    whole_class: bool = False,
) -> NoiseFloor:
    """An A/A run: the original against a second copy of itself, `noise_processes` processes
    and more while they put the floor above `min_speedup` (see run_micro_ab).

    `candidate_like` names the target (its function and path; its source is
    ignored). Never raises: a failure gives a NoiseFloor with `error` set whose
    threshold is the plain `min_speedup`.
    """
    same = replace(candidate_like, module_source=original_source, origin="noise-floor")
    fixed = replace(
        settings,
        processes=settings.noise_processes,
        max_processes=max(settings.noise_processes, settings.max_processes),
    )
    try:
        if not records:
            raise _NoNoise("no recorded calls to time")
        # each process gets the A/B's share of time (budget / noise_processes); the A/A,
        # measured once and shared by all of the target's candidates, may take up to
        # AA_BUDGET_FACTOR budgets when its first processes leave the floor high
        # no first-pass (cache) check and no memory peaks: the original against itself
        # can learn nothing the other side does not, and neither is reported for an A/A
        # (about 1.5 s of its first process on the example's targets)
        task = replace(
            timing_task(same, original_source, records, root, fixed, whole_class), probe=False
        )
        longer = replace(fixed, budget_seconds=AA_BUDGET_FACTOR * settings.budget_seconds)
        run = run_micro_ab(task, root, longer, threshold=None)
        if run.error is not None or run.estimate is None:
            raise _NoNoise(run.error or "no timings")
    except Exception as exc:
        text = str(exc) if isinstance(exc, _NoNoise) else traceback.format_exc(limit=-4)
        plain = settings.min_speedup
        return NoiseFloor(1.0, 0.0, math.inf, math.inf, plain, math.inf, 0, "", text)
    estimate = run.estimate
    floor = aa_floor(estimate)
    threshold = max(settings.min_speedup, floor)
    return NoiseFloor(
        ratio=estimate.ratio,
        low=estimate.low,
        high=estimate.high,
        floor=floor,
        threshold=threshold,
        min_detectable=minimum_detectable(
            estimate.log_se, estimate.df, threshold, confidence=settings.confidence
        ),
        processes=estimate.groups,
        method=(
            f"A/A: the original against a second copy of itself, {estimate.groups} processes "
            f"x {settings.pairs_per_process} ABBA pairs, the same clock and interval as the A/B"
            + (
                f" ({settings.noise_processes}, then more while identical code looked further "
                f"apart than {settings.min_speedup:g}x)"
                if estimate.groups > settings.noise_processes
                else ""
            )
        ),
    )


def aa_floor(estimate: GroupedRatio) -> float:
    """The largest ratio an A/A interval reaches either way: how far apart identical code
    may look, as far as this run can tell."""
    return max(estimate.high, 1 / estimate.low) if estimate.low > 0 else math.inf


class _NoNoise(Exception):
    pass


class NoiseFloors:
    """One A/A run per target and run, shared by all of that target's candidates."""

    def __init__(self) -> None:
        self._floors: dict[tuple[str, str], NoiseFloor] = {}

    def get(
        self,
        candidate: Candidate,
        original_source: str,
        records: Sequence[CallRecord],
        *,
        root: Path,
        settings: MeasureSettings,
        whole_class: bool = False,
    ) -> NoiseFloor:
        key = (str(candidate.function), original_source)
        if key not in self._floors:  # see has()
            self._floors[key] = measure_noise_floor(
                candidate,
                original_source,
                records,
                root=root,
                settings=settings,
                whole_class=whole_class,
            )
        return self._floors[key]

    def has(self, function: FunctionRef, original_source: str) -> bool:
        """Whether `get` for this target takes the A/A already measured (no new timing)."""
        return (str(function), original_source) in self._floors


def noise_threshold(noise: NoiseFloor | None) -> float:
    return noise.threshold if noise is not None and noise.error is None else 1.0


def time_threshold(settings: MeasureSettings, noise: NoiseFloor | None) -> float:
    """The threshold the time interval is decided against (sequential stopping too)."""
    if settings.objective == "memory":  # non-inferiority: not slower beyond the tolerance
        return 1 / settings.max_slowdown
    return max(settings.min_speedup, noise_threshold(noise))


def memory_is_better(memory: MemoryPeaks, speedup: Speedup, settings: MeasureSettings) -> bool:
    """Peak memory per call `min_speedup` times smaller, and time not worse than tolerated."""
    return memory.ratio >= settings.min_speedup and speedup.ci_low >= 1 / settings.max_slowdown


def run_micro_ab(
    task: TimingTask, root: Path, settings: MeasureSettings, threshold: float | None
) -> MicroRun:
    """Run timing processes until the interval is decisive about `threshold` or the budget ends.

    With `threshold` None (an A/A run) `settings.processes` processes run, then more
    while the floor they give (`aa_floor`) is above `min_speedup`, up to the
    process limit and the budget: a floor that would raise the threshold is only
    believed once more processes could not bring it down. (One disturbed process
    among four widens a Student's t interval with 3 degrees of freedom enough to hide
    a real 1.2x; on sqlparse's `Lexer.get_tokens`, on a quiet machine, the A/A said
    1.19x beside candidates measured at [0.97, 1.04] and [1.00, 1.01].)
    The first process calibrates the loop count and probes for a cache; the
    others reuse its loop count and its choice of warm or cold blocks.
    """
    started = time.perf_counter()
    timings: list[ProcessTimings] = []
    estimate: GroupedRatio | None = None
    decision = Decision.UNDECIDED
    limit = settings.max_processes
    for number in range(1, limit + 1):
        outcome = run_in_worker(
            TIMING_ENTRY,
            task,
            root=root,
            limits=settings.limits,
            returns=ProcessTimings,
            here=True,  # a timing runs on this machine, alone
        )
        failure = process_failure(outcome, number, limit)
        if failure is not None:
            return MicroRun(tuple(timings), None, Decision.UNDECIDED, threshold or 0, 0, failure)
        assert isinstance(outcome.value, ProcessTimings)
        timings.append(outcome.value)
        if number == 1:
            first = outcome.value
            if first.same_instructions:
                elapsed = time.perf_counter() - started
                return MicroRun(
                    tuple(timings), None, Decision.UNDECIDED, threshold or 0, elapsed,
                    same_instructions=first.same_instructions,
                )  # fmt: skip
            # the others reuse its loop count and its choice of warm or cold blocks, and
            # sample a long pass as it did, from the call times it measured
            task = replace(
                task, probe=False, loops=first.loops, cold=first.cold, call_ns=first.call_ns
            )
        if number < settings.processes:
            continue
        estimate = grouped_ratio_interval(groups_of(timings), confidence=settings.confidence)
        elapsed = time.perf_counter() - started
        each = elapsed / number
        next_would_end = elapsed + each > settings.budget_seconds
        final = number == limit or next_would_end
        more = min(limit - number, max(0, int((settings.budget_seconds - elapsed) / each)))
        if threshold is None:
            if final or aa_floor(estimate) <= settings.min_speedup:
                break
            continue
        decision = decide(estimate, threshold, final=final, more_groups=more)
        if decision is not Decision.UNDECIDED:
            break
    return MicroRun(
        tuple(timings), estimate, decision, threshold or 0, time.perf_counter() - started
    )


def groups_of(timings: Sequence[ProcessTimings]) -> list[list[tuple[int, int]]]:
    return [list(zip(t.baseline_ns, t.candidate_ns)) for t in timings]


def timing_task(
    candidate: Candidate,
    original_source: str,
    records: Sequence[CallRecord],
    root: Path,
    settings: MeasureSettings,
    whole_class: bool = False,
) -> TimingTask:
    """The task of one timing process. Its path is absolute, as every worker task's is:
    the worker runs in a scratch folder, and a package's `__init__.py` served there
    from a relative path had a `__path__` without its submodules (cachetools 5.3.3's
    `from . import keys` failed, so no candidate of the package's module was timed)."""
    return TimingTask(
        module=candidate.function.module,
        qualname=candidate.function.qualname,
        path=str(root / candidate.path),
        original_source=original_source,
        candidate_source=candidate.module_source,
        call_args=tuple(record.args for record in records),
        call_reprs=tuple(record.call_repr for record in records),
        pairs=settings.pairs_per_process,
        min_block_ns=round(settings.min_block_seconds * 1e9),
        whole_class=whole_class,
        seconds=settings.budget_seconds / settings.processes,
    )


def process_failure(outcome: WorkerOutcome[object], number: int, limit: int) -> str | None:
    """Why timing process `number` gave no usable times, or None if it did."""
    where = f"timing process {number} (of at most {limit})"
    if outcome.status is WorkerStatus.TIMEOUT:
        return (
            f"{where} {outcome.message} (the time limit, "
            "MeasureSettings.limits.wall_seconds); the candidate or the original hangs or is "
            "very slow on the recorded calls"
        )
    if not outcome.ok:
        tail = f"\n{outcome.stderr_tail.strip()}" if outcome.stderr_tail.strip() else ""
        return f"{where} failed ({outcome.status.value}): {outcome.message}{tail}"
    if not isinstance(outcome.value, ProcessTimings):
        return f"{where} returned {type(outcome.value).__name__}, not timings"
    if outcome.value.problem is not None:
        return outcome.value.problem
    return None


def summarise_run(run: MicroRun, settings: MeasureSettings, noise: NoiseFloor | None) -> Speedup:
    """The Speedup of a finished run: ratio, interval, p-value, noise floor, method."""
    estimate = run.estimate
    assert estimate is not None
    timings = run.timings
    p_value = signed_rank_p_value([log_ratios(group) for group in groups_of(timings)])
    threshold = max(settings.min_speedup, noise_threshold(noise))
    if noise is not None and noise.error is None:
        detectable = noise.min_detectable
    else:
        detectable = minimum_detectable(
            estimate.log_se, estimate.df, threshold, confidence=settings.confidence
        )
    return Speedup(
        ratio=estimate.ratio,
        ci_low=estimate.low,
        ci_high=estimate.high,
        pairs=estimate.pairs,
        baseline_seconds=median_pass_seconds(timings, baseline=True),
        candidate_seconds=median_pass_seconds(timings, baseline=False),
        method=micro_method_text(run, settings, noise),
        p_value=p_value,
        noise_floor=noise.floor if noise is not None and noise.error is None else None,
        threshold=threshold,
        min_detectable=detectable,
        processes=estimate.groups,
    )


def median_pass_seconds(timings: Sequence[ProcessTimings], *, baseline: bool) -> float:
    """Median seconds of one pass over all recorded calls, over every block of one side
    (a sampled pass scaled up by the sample's share of a full pass's time)."""
    return statistics.median(
        nanoseconds / t.loops / 1e9 / t.sample_share
        for t in timings
        for nanoseconds in (t.baseline_ns if baseline else t.candidate_ns)
    )


def micro_method_text(run: MicroRun, settings: MeasureSettings, noise: NoiseFloor | None) -> str:
    timings = run.timings
    estimate = run.estimate
    assert estimate is not None
    first = timings[0]
    if first.cold:
        block = (
            f"one first pass over {first.calls_per_pass} recorded call(s) on a fresh module copy"
        )
    else:
        loops = "/".join(str(n) for n in sorted({t.loops for t in timings}))
        block = f"{loops} pass(es) over {first.calls_per_pass} recorded call(s)"
    if first.sampled:
        sizes = sorted({t.calls_per_pass for t in timings})
        size = f"{sizes[0]}" if len(sizes) == 1 else f"{sizes[0]}-{sizes[-1]}"
        block += (
            f" (a random sample of {size} of the {first.recorded_calls}, drawn "
            f"anew in each process: a pass over all of them takes "
            f"{median_pass_seconds(timings, baseline=True):.2f} s)"
        )
    kept = min(t.kept_calls for t in timings)
    settled = min(t.settled_calls for t in timings)
    reuses = []
    if kept:
        reuses.append(
            f"{kept} call(s) whose inputs neither version changed reuse one copy per process"
        )
    if settled:
        reuses.append(
            f"{settled} call(s) whose inputs only their first run changed get a fresh copy "
            "in each block's first pass and keep it for the later ones"
        )
    shallow = min(t.shallow_calls for t in timings)
    if shallow:
        reuses.append(
            f"{shallow} call(s) that only rebind what their arguments hold run on a shallow "
            "copy of one pristine copy per process"
        )
    copies = f"fresh input copies ({'; '.join(reuses)})" if reuses else "fresh input copies"
    noise_text = (
        f"; noise floor {noise.floor:.3f}x from an A/A run of {noise.processes} processes"
        if noise is not None and noise.error is None
        else "; no A/A noise floor"
    )
    return (
        f"{estimate.pairs} paired ABBA blocks (baseline/candidate) in {estimate.groups} worker "
        f"processes run one after another, in {run.seconds:.1f} s (adaptive: at least "
        f"{settings.processes}, then more while undecided, up to {settings.max_processes} "
        f"processes or a {settings.budget_seconds:g} s budget{over_budget(run, settings)}); "
        f"a block is {block} on {copies}, GC off; "
        f"clock: {first.clock}; per process the Hodges-Lehmann estimate of the log ratios, "
        f"{settings.confidence:.0%} CI by Student's t across processes (df {estimate.df}); "
        f"an early 'faster' needs the {INTERIM_CONFIDENCE:.1%} interval, an early 'not "
        "faster' an interval below the threshold or one that the processes still allowed, "
        "each measuring its upper bound, could not lift above it; p-value: Wilcoxon "
        f"signed-rank on the pairs, stratified by process{noise_text}"
    )


def over_budget(run: MicroRun, settings: MeasureSettings) -> str:
    """Why the A/B took longer than its budget, or "" if it did not."""
    if run.seconds <= settings.budget_seconds or not run.timings:
        return ""
    count = len(run.timings)
    each = f"{run.seconds / count:.1f} s a process (starting the interpreter and importing the code"
    if count <= settings.processes:
        return (
            f"; over budget because the first {settings.processes} processes always run, at about "
            f"{each} included); to fit, lower measure-processes in [tool.perfloop] or raise "
            "measure-budget"
        )
    return (
        f"; over budget because the last process started within it and a process took longer "
        f"than the ones before it (about {each} included, on average)"
    )


def measurement_notes(run: MicroRun, settings: MeasureSettings) -> tuple[str, ...]:
    first = run.timings[0]
    notes: list[str] = []
    learning = first.learning
    if learning is not None and learning.learns:
        notes.append(
            "the candidate gets much faster on calls it has already seen (first pass "
            f"{learning.candidate_first_over_later:.1f}x its second, the original "
            f"{learning.baseline_first_over_later:.1f}x; at least {LEARNING_FACTOR}x apart): it "
            "likely caches results across calls. Repeating the recorded calls would time the "
            "cache, so each block was one first pass on a fresh module copy; the whole-"
            "workload ratio shows what the cache is worth in the real workload"
        )
    if first.clock != "wall time minus run-queue wait":
        notes.append(
            "the run-queue wait of the timing thread is unknown here (no "
            "/proc/thread-self/schedstat), so time other processes held the CPU counts "
            "as noise: measure on a quiet machine"
        )
    return tuple(notes)
