"""`perfloop bench`: how much faster an outside rewrite is, with its interval and noise floor."""

from __future__ import annotations

import time

from perfloop.config import Settings
from perfloop.gate import gate_candidate, gate_on_calls
from perfloop.measure import (
    WorkloadComparison,
    judged_on_workload,
    measure_candidate,
    measure_noise_floor,
)
from perfloop.measure.whole_workload import CACHE_THRESHOLD
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    Measurement,
    RunId,
)
from perfloop.outside.calls import (
    Progress,
    compare_on_workload,
    describe_source,
    get_calls,
    measure_settings,
    quiet,
    recorded_run,
    require_workload,
)
from perfloop.outside.candidate import (
    CandidateSpec,
    build_candidate,
    read_target,
)
from perfloop.outside.whole_class import (
    build_class_candidate,
    gate_class,
    history_records,
    history_timing_notes,
    read_class_target,
)
from perfloop.project import Project
from perfloop.report.json import render as render_json
from perfloop.results import BenchResult
from perfloop.store.runs import RunStore


def bench_outside(
    settings: Settings,
    target: str,
    spec: CandidateSpec,
    run: str | None = None,
    workload_level: bool = False,
    progress: Progress = quiet,
) -> BenchResult:
    """Micro A/B on the recorded calls, the A/A noise floor, and optionally the whole workload."""
    steps = _Steps()
    project = Project(settings.root.resolve())
    ref = FunctionRef.parse(target)
    whole_class = project.defines_class(ref)
    if whole_class:
        found = read_class_target(project, ref)
        candidate, notes = build_class_candidate(project, found, spec), ()
    else:
        found = read_target(project, ref)
        candidate, notes = build_candidate(project, found, spec)
    if workload_level:
        require_workload(settings, "for --workload-level")
    if whole_class:
        gate = gate_class(candidate, found, project)
    else:
        gate = gate_candidate(candidate, found.source, set(), project.top_level_modules())
    timing = measure_settings(settings)
    with recorded_run(project.root, describe_source(settings, run)) as (store, run_id):
        progress(f"Recording calls of {found.function}" if run is None else "Loading calls")
        capture = get_calls(settings, store, found.function, run)
        store.save_capture(run_id, capture)
        if not whole_class:  # a cache's soundness needs the recorded calls' types
            gate = gate_on_calls(gate, candidate, found.source, capture)
        steps.done("recording the calls" if run is None else "loading the calls")
        records = capture.records
        if whole_class:  # one timed call: one recorded history, constructor and calls
            records = history_records(capture)
            notes = (*notes, *history_timing_notes(capture))
        refused = _refusal(gate, bool(records) and capture.problem is None, capture.problem)
        noise = comparison = None
        if refused is not None:
            measurement = Measurement(None, False, refused)
        else:
            # A/A first, as optimize does: the A/B's threshold (and its stopping rule)
            # is --min-speedup raised to the noise floor on a noisy machine.
            progress("Timing the original against itself (noise floor)")
            noise = measure_noise_floor(
                candidate,
                found.source,
                records,
                root=project.root,
                settings=timing,
                whole_class=whole_class,
            )
            steps.done("the A/A noise floor")
            progress("Timing the candidate against the original")
            measurement = measure_candidate(
                candidate,
                found.source,
                records,
                root=project.root,
                settings=timing,
                noise=noise,
                whole_class=whole_class,
            )
            steps.done(f"the A/B (budget {timing.budget_seconds:g} s)")
        learns = measurement.learns and settings.workload is not None
        if measurement.speedup is not None and (workload_level or learns):
            # a candidate that keeps answers between calls (a cache) is judged on the whole
            # workload, as optimize judges it: repeated recorded calls would time lookups
            progress("Timing the whole workload, original against candidate")
            comparison = _whole_workload(settings, candidate, store, run_id, learns)
            steps.done("the whole workload")
            if learns:
                measurement = judged_on_workload(measurement, comparison)
        result = BenchResult(
            run_id=run_id,
            function=found.function,
            candidate=candidate,
            calls_recorded=len(records),
            measurement=measurement,
            noise_floor=noise,
            min_speedup=settings.min_speedup,
            workload=comparison,
            notes=(*notes, "not verified here: check the behaviour with `perfloop verify`"),
            steps=steps.taken,
            timed="recorded instance histories" if whole_class else "recorded calls",
        )
        store.save_candidate_result(run_id, CandidateResult(candidate, gate, None, measurement))
        store.finish_run(result, render_json(result))
    return result


class _Steps:
    """Wall-clock seconds of each step of one command, as they finish."""

    def __init__(self) -> None:
        self._last = time.perf_counter()
        self.taken: tuple[tuple[str, float], ...] = ()

    def done(self, step: str) -> None:
        now = time.perf_counter()
        self.taken += ((step, now - self._last),)
        self._last = now


def _whole_workload(
    settings: Settings,
    candidate: Candidate,
    store: RunStore,
    run_id: RunId,
    cache: bool = False,
) -> WorkloadComparison:
    comparison = compare_on_workload(settings, candidate, cache)
    threshold = CACHE_THRESHOLD if cache else settings.min_speedup
    faster = bool(comparison.speedup and comparison.speedup.clears(threshold))
    store.save_workload_measurement(run_id, comparison.speedup, faster, comparison.error)
    return comparison


def _refusal(gate: GateResult, usable: bool, problem: str | None) -> str | None:
    """Why nothing can be timed, or None. An unchanged candidate is still timed (an A/A)."""
    if not gate.passed and not (gate.reason or "").startswith("no change"):
        return f"not timed: {gate.reason}"
    if not usable:
        return f"no recorded calls to time it on: {problem or 'none were recorded'}"
    return None
