"""The whole-workload A/B: run the user's command with and without candidates in place.

Runs alternate ABBA over at least `runs` pairs after one discarded warm-up run
of each side (it warms the OS file cache and the interpreter's files; its
output still counts in the output comparison), and more pairs, up to
`settings.max_workload_runs`, while the interval straddles the threshold and the
pairs still allowed could lift it above (`stats.cannot_clear`). Both
sides run through the same machinery: the baseline serves the ORIGINAL sources
of the overridden modules through the same import hook that serves the
candidates, so hook and compile costs are identical and the ratio isolates the
code change.

Each run is timed twice: its wall time, and the CPU time (user + system) of
its whole process tree (the rusage of waited-for children). The headline is
the CPU-time ratio, because on a shared machine a run's wall time also counts
the time other processes held the CPU; the wall-time ratio is shown beside it.
Where the two disagree (the patch changed how long the workload waits, for
I/O or for threads), the note says so and the wall-time ratio is the one to
read. Both get the same statistics as the micro A/B: a t-interval on the
pairs' log ratios (each pair is two whole processes, independent of the
others) and a signed-rank p-value.
"""

from __future__ import annotations

import functools
import math
import resource
import statistics
import tempfile
import traceback
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.measure.settings import MeasureSettings
from perfloop.measure.stats import (
    Decision,
    Side,
    decide,
    grouped_ratio_interval,
    log_ratios,
    minimum_detectable,
    signed_rank_p_value,
)
from perfloop.model import Measurement, Speedup
from perfloop.workload import RuntimeSpec, WorkloadRun, run_workload

WARMUP_RUNS_PER_SIDE = 1


@dataclass(frozen=True)
class WorkloadComparison:
    """The whole workload, original against candidates in place.

    `output_unchanged` is None when the original's own output differs between
    its runs (then `note` says so): there is nothing stable to compare against.
    `baseline_runs` and `candidate_runs` are the timed wall times in seconds, in
    run order, warm-ups excluded; `*_cpu_runs` the CPU times of the same runs.
    `speedup` is the CPU-time ratio, `wall_speedup` the wall-time ratio;
    `clock_note` says when they disagree.
    """

    speedup: Speedup | None
    output_unchanged: bool | None
    error: str | None = None
    baseline_runs: tuple[float, ...] = ()
    candidate_runs: tuple[float, ...] = ()
    note: str | None = None
    wall_speedup: Speedup | None = None
    baseline_cpu_runs: tuple[float, ...] = ()
    candidate_cpu_runs: tuple[float, ...] = ()
    clock_note: str | None = None  # the wall-time and CPU-time ratios disagree


class _RunFailed(Exception):
    pass


def measure_workload(
    command: str,
    root: Path,
    overrides: dict[str, tuple[str, str]],
    *,
    settings: MeasureSettings,
    runs: int | None = None,
    timeout: float = 600,
    writes: Sequence[str] = (),
) -> WorkloadComparison:
    """Time `command` in `root`, original vs. `overrides` ({module: (path, new source)}).

    At least `runs` pairs (default `settings.workload_runs`), more while undecided.
    Both sides run inside the boundary for candidate code, writing only to `writes`
    (paths relative to `root`) and their own temporary folders.
    Never raises: a failing run or a failure of perfloop itself becomes `error`.
    """
    runs = settings.workload_runs if runs is None else runs
    run = functools.partial(_run, command, root, timeout=timeout, writes=writes)
    try:
        return _measure_workload(run, overrides, settings, runs)
    except Exception:  # a bug of ours must not stop the run: report it with the traceback
        return WorkloadComparison(
            None, None, f"perfloop failed while measuring:\n{traceback.format_exc(limit=-6)}"
        )


def _measure_workload(
    run_side: Callable[[RuntimeSpec, Side], tuple[WorkloadRun, float]],
    overrides: dict[str, tuple[str, str]],
    settings: MeasureSettings,
    runs: int,
) -> WorkloadComparison:
    if runs < 1:
        return WorkloadComparison(None, None, f"runs must be at least 1, got {runs}")
    with tempfile.TemporaryDirectory(prefix="perfloop-overrides-") as tmp:
        try:
            specs = {
                Side.BASELINE: override_spec(original_sources(overrides), Path(tmp) / "baseline"),
                Side.CANDIDATE: override_spec(overrides, Path(tmp) / "candidate"),
            }
        except OSError as exc:
            return WorkloadComparison(None, None, f"cannot read an original module: {exc}")
        seconds: dict[Side, list[float]] = {Side.BASELINE: [], Side.CANDIDATE: []}
        cpu: dict[Side, list[float]] = {Side.BASELINE: [], Side.CANDIDATE: []}
        outputs: dict[Side, list[str]] = {Side.BASELINE: [], Side.CANDIDATE: []}
        try:
            for side in (Side.BASELINE, Side.CANDIDATE) * WARMUP_RUNS_PER_SIDE:
                warmup = run_side(specs[side], side)[0]
                outputs[side].append(warmup.stdout)
                never = _never_imported(overrides, warmup) if side is Side.CANDIDATE else ()
                if never:
                    return WorkloadComparison(
                        None,
                        None,
                        f"the workload never imported {', '.join(map(repr, never))} (the "
                        "changed code, by that name), so timing it would compare the original "
                        "with itself",
                    )
            limit = max(runs, settings.max_workload_runs)
            for pair in range(limit):
                order = (Side.BASELINE, Side.CANDIDATE)
                for side in order if pair % 2 == 0 else order[::-1]:
                    run, cpu_seconds = run_side(specs[side], side)
                    outputs[side].append(run.stdout)
                    seconds[side].append(run.seconds)
                    cpu[side].append(cpu_seconds)
                if pair + 1 >= runs and _decided(cpu, settings, more=limit - pair - 1):
                    break
        except _RunFailed as exc:
            return WorkloadComparison(
                None,
                None,
                str(exc),
                tuple(seconds[Side.BASELINE]),
                tuple(seconds[Side.CANDIDATE]),
            )
    unchanged, note = compare_outputs(outputs[Side.BASELINE], outputs[Side.CANDIDATE])
    speedup = workload_speedup(cpu[Side.BASELINE], cpu[Side.CANDIDATE], settings, clock="cpu")
    wall = workload_speedup(seconds[Side.BASELINE], seconds[Side.CANDIDATE], settings)
    return WorkloadComparison(
        speedup,
        unchanged,
        None,
        tuple(seconds[Side.BASELINE]),
        tuple(seconds[Side.CANDIDATE]),
        note,
        wall,
        tuple(cpu[Side.BASELINE]),
        tuple(cpu[Side.CANDIDATE]),
        clocks_disagree(speedup, wall),
    )


def _never_imported(overrides: dict[str, tuple[str, str]], run: WorkloadRun) -> list[str]:
    """The overridden modules a hooked run did not import under their names (none when the
    run's imports are unknown)."""
    if run.imports is None:
        return []
    imported = {name for name, _path in run.imports.modules}
    return sorted(module for module in overrides if module not in imported)


def _decided(cpu: dict[Side, list[float]], settings: MeasureSettings, *, more: int) -> bool:
    """Whether the pairs so far decide, `more` pairs still allowed (none: the last look)."""
    pairs = list(zip(_positive(cpu[Side.BASELINE]), _positive(cpu[Side.CANDIDATE])))
    if len(pairs) < 2:
        return more == 0
    estimate = grouped_ratio_interval([pairs], confidence=settings.confidence)
    decision = decide(estimate, settings.min_speedup, final=more == 0, more_groups=more)
    return decision is not Decision.UNDECIDED


def _positive(values: Sequence[float]) -> list[float]:
    """Times as the statistics need them: a run too short for the clock counts as 1 µs."""
    return [max(value, 1e-6) for value in values]


def clocks_disagree(cpu: Speedup, wall: Speedup) -> str | None:
    """A note when the wall-time interval lies wholly on one side of the CPU-time ratio."""
    if wall.ci_high < cpu.ratio or wall.ci_low > cpu.ratio:
        return (
            f"the wall-time ratio {wall.ratio:.2f}x [{wall.ci_low:.2f}, {wall.ci_high:.2f}] "
            f"disagrees with the CPU-time ratio {cpu.ratio:.2f}x: the patch changed how long "
            "the workload waits (I/O, sleeping, threads), so read the wall-time ratio"
        )
    return None


def workload_overrides(
    root: Path, versions: Iterable[tuple[str, str, str]]
) -> dict[str, tuple[str, str]]:
    """The `overrides` of measure_workload, from (module, path relative to `root`, new
    source) triples. `module` is the name the workload imports the file under (a target's
    FunctionRef.module), never derived from the path: for a `src/` layout that gave
    `src.acme.text`, a module the workload never imports, so the whole-workload A/B of an
    applied patch timed the original against itself."""
    return {module: (str(root / path), source) for module, path, source in versions}


def original_sources(overrides: dict[str, tuple[str, str]]) -> dict[str, tuple[str, str]]:
    """The same modules with their current on-disk sources, for the baseline runs."""
    return {
        module: (path, Path(path).read_text(encoding="utf-8"))
        for module, (path, _source) in overrides.items()
    }


def override_spec(overrides: dict[str, tuple[str, str]], directory: Path) -> RuntimeSpec:
    """A RuntimeSpec serving each module's source text from a file written into `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    files: dict[str, tuple[str, str]] = {}
    for number, (module, (path, source)) in enumerate(sorted(overrides.items())):
        source_file = directory / f"{number}-{module}.py"
        source_file.write_text(source, encoding="utf-8")
        files[module] = (path, str(source_file))
    return RuntimeSpec(overrides=files)


def _run(
    command: str,
    root: Path,
    spec: RuntimeSpec,
    side: Side,
    *,
    timeout: float,
    writes: Sequence[str],
) -> tuple[WorkloadRun, float]:
    """One run and the CPU seconds (user + system) of its process tree."""
    before = _children_cpu()
    run = run_workload(
        command, root, spec=spec, timeout=timeout, candidate_code=True, writes=writes
    )
    cpu_seconds = _children_cpu() - before - run.launcher_cpu_seconds
    if not run.succeeded:
        which = "original" if side is Side.BASELINE else "with the candidates in place"
        raise _RunFailed(f"a workload run ({which}) failed: {run.failure_message()}")
    return run, cpu_seconds


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def compare_outputs(
    baseline: Sequence[str], candidate: Sequence[str]
) -> tuple[bool | None, str | None]:
    """(output unchanged?, note). None when the original's output varies by itself."""
    reference = baseline[0]
    if any(output != reference for output in baseline):
        return None, (
            "the original workload printed different output in different runs (timings, "
            "randomness, set or dict order?), so its output cannot show whether the "
            "candidates changed behaviour; make the workload print only deterministic results"
        )
    return all(output == reference for output in candidate), None


def workload_speedup(
    baseline: Sequence[float],
    candidate: Sequence[float],
    settings: MeasureSettings,
    *,
    clock: str = "wall",
) -> Speedup:
    """The ratio of paired runs' times with a t-interval over pairs and a signed-rank p."""
    pairs = list(zip(_positive(baseline), _positive(candidate)))
    estimate = grouped_ratio_interval([pairs], confidence=settings.confidence)
    what = (
        "CPU time (user + system) of the process tree"
        if clock == "cpu"
        else "wall time of the whole process"
    )
    interval = (
        f"{settings.confidence:.0%} CI by Student's t on the pairs' log ratios (df {estimate.df})"
        if estimate.df > 0
        else "no interval from a single pair"
    )
    return Speedup(
        ratio=estimate.ratio,
        ci_low=estimate.low,
        ci_high=estimate.high,
        pairs=estimate.pairs,
        baseline_seconds=statistics.median(baseline),
        candidate_seconds=statistics.median(candidate),
        method=(
            f"{what}, {estimate.pairs} interleaved ABBA pairs of whole runs (baseline/"
            f"candidate; {WARMUP_RUNS_PER_SIDE} warm-up run per side discarded; at least "
            f"{settings.workload_runs} pairs, more up to {settings.max_workload_runs} while "
            "undecided and while the pairs left could still make it faster); "
            f"{interval}; p-value: Wilcoxon signed-rank on the pairs"
        ),
        p_value=signed_rank_p_value([log_ratios(pairs)]),
        threshold=settings.min_speedup,
        min_detectable=minimum_detectable(
            estimate.log_se, estimate.df, settings.min_speedup, confidence=settings.confidence
        )
        if math.isfinite(estimate.log_se)
        else None,
        processes=estimate.pairs * 2,
    )


CACHE_THRESHOLD = 1.0
"""A candidate that keeps answers between calls is faster when the whole workload is
significantly faster (its interval lies above 1): its gain is spread over the workload,
so the per-function threshold does not apply to it."""


def judged_on_workload(measurement: Measurement, comparison: WorkloadComparison) -> Measurement:
    """`measurement` (of replayed calls) replaced by the whole workload's verdict, for a
    candidate that keeps answers between calls: repeating recorded calls would time its
    cache, and a first pass over them times none of the reuse the real workload has."""
    replayed = measurement.speedup
    said = ""
    if replayed is not None:
        said = f"; the replayed calls alone, each block a first pass: {replayed.ratio:.2f}x"
    if comparison.speedup is None:
        return replace(
            measurement,
            faster=False,
            error=f"it keeps answers between calls, and timing it on the whole workload failed: "
            f"{comparison.error}",
        )
    if comparison.output_unchanged is False:
        return replace(
            measurement,
            faster=False,
            error="it keeps answers between calls, and the workload printed something "
            "different with it in place",
        )
    speedup = comparison.speedup
    note = (
        "it keeps answers between calls (a cache), so it was judged on the whole workload "
        f"with only it in place: {speedup.ratio:.3f}x [{speedup.ci_low:.3f}, "
        f"{speedup.ci_high:.3f}] over {speedup.pairs} pairs of runs, faster when the interval "
        f"lies above {CACHE_THRESHOLD:g}{said}"
    )
    return replace(
        measurement,
        speedup=speedup,
        faster=speedup.ci_low > CACHE_THRESHOLD,
        better=None,
        notes=(*measurement.notes, note),
    )
