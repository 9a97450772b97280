"""The recorded calls an outside check works on, and the run that records what it did.

Calls come from running the workload with a recorder on the target
(`perfloop.capture.capture_calls`), or from an earlier run in the store
(`--run RUN_ID`). Every verify, bench and check is itself a run in the store,
with its capture, candidate, verdict and measurements, so its calls can be
reused by the next command.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.config import ConfigError, Settings
from perfloop.measure import (
    MeasureSettings,
    WorkloadComparison,
    measure_workload,
    settings_from,
    workload_overrides,
)
from perfloop.measure.whole_workload import CACHE_THRESHOLD
from perfloop.model import Candidate, FunctionRef, Limits, RunId, TargetCapture
from perfloop.store.runs import RunStore, new_run_id

Progress = Callable[[str], None]


def quiet(message: str) -> None:
    pass


def store_path(root: Path) -> Path:
    return root / ".perfloop" / "perfloop.db"


@contextmanager
def recorded_run(root: Path, workload: str) -> Iterator[tuple[RunStore, RunId]]:
    """A new run in the project's store; marked failed if the body raises."""
    store = RunStore(store_path(root))
    run_id = new_run_id()
    store.start_run(run_id, ".".join(map(str, sys.version_info[:3])), workload, root)
    try:
        yield store, run_id
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        store.close()


def finish(store: RunStore, run_id: RunId, document: dict[str, object]) -> None:
    """Complete a run that hands back a bare document (the MCP server's capture)."""
    store.complete_run(run_id, json.dumps(document, indent=2))


def describe_source(settings: Settings, run: str | None) -> str:
    """What the runs table says about where the calls came from."""
    if run is not None:
        return f"(calls recorded in run {run})"
    return require_workload(settings)


def require_workload(settings: Settings, why: str = "to record calls of the function") -> str:
    if not settings.workload:
        raise ConfigError(
            f"no workload {why}: pass --workload 'python bench.py', set workload in "
            "[tool.perfloop], or reuse the calls of an earlier run with --run RUN_ID"
        )
    return settings.workload


def get_calls(
    settings: Settings, store: RunStore, function: FunctionRef, run: str | None
) -> TargetCapture:
    """The target's calls: from run `run` in the store, or by running the workload now."""
    if run is not None:
        capture = store.load_capture(RunId(run), str(function))
        if capture is None:
            raise ConfigError(_missing_capture(store, run, function))
        return capture
    workload = require_workload(settings)
    captures = capture_calls(
        workload, settings.root.resolve(), [function], CaptureSettings.of(settings)
    )
    return captures[function]


def _missing_capture(store: RunStore, run: str, function: FunctionRef) -> str:
    if store.run_status(RunId(run)) is None:
        return (
            f"there is no run {run!r} in {store.path}; run ids are the names of the folders "
            "under .perfloop/runs/ and what verify, bench and capture print"
        )
    captured = store.captured_functions(RunId(run))
    if not captured:
        return f"run {run} recorded no calls; record them with --workload instead of --run"
    return (
        f"run {run} recorded no calls of {function}; it has calls of: {', '.join(captured)}. "
        "Record them with --workload instead of --run"
    )


def limits_for(settings: Settings, original_seconds: float | None = None) -> Limits:
    """A check's limits; a candidate gets at most ten times what the original needed."""
    wall = settings.candidate_timeout
    if original_seconds is not None:
        wall = min(wall, max(5.0, 10 * original_seconds))
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=settings.memory_mb)


def measure_settings(settings: Settings) -> MeasureSettings:
    """The settings optimize measures with (budget, A/A processes, objective), so both agree."""
    return settings_from(settings, limits_for(settings))


def compare_on_workload(
    settings: Settings, candidate: Candidate, cache: bool = False
) -> WorkloadComparison:
    """The whole workload, original against `candidate` in place; `cache`: the candidate
    keeps answers between calls, and is decided against CACHE_THRESHOLD, as optimize
    decides it (perfloop.pipeline.candidates.time_candidate)."""
    root = settings.root.resolve()
    timing = measure_settings(settings)
    if cache:
        timing = replace(timing, min_speedup=CACHE_THRESHOLD)
    return measure_workload(
        require_workload(settings),
        root,
        workload_overrides(
            root, [(candidate.function.module, candidate.path, candidate.module_source)]
        ),
        settings=timing,
        runs=settings.workload_runs,
        timeout=settings.workload_timeout,
        writes=settings.workload_writes,
    )
