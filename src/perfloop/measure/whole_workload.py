"""The whole-workload A/B: run the user's command with and without candidates in place.

Runs alternate ABBA over `runs` pairs after one discarded warm-up run of each
side (it warms the OS file cache and the interpreter's files; its output still
counts in the output comparison). Both sides run through the same machinery:
the baseline serves the ORIGINAL sources of the overridden modules through the
same import hook that serves the candidates, so hook and compile costs are
identical and the ratio isolates the code change. The ratio of wall times per
pair gets the same geometric-mean ratio and bootstrap interval as the micro A/B
(one group: runs are separate processes).
"""

from __future__ import annotations

import statistics
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfloop.measure.settings import MeasureSettings
from perfloop.measure.stats import DEFAULT_RESAMPLES, Side, abba_schedule, paired_ratio_interval
from perfloop.model import Speedup
from perfloop.workload import RuntimeSpec, WorkloadRun, run_workload

WARMUP_RUNS_PER_SIDE = 1


@dataclass(frozen=True)
class WorkloadComparison:
    """The whole workload, original against candidates in place.

    `output_unchanged` is None when the original's own output differs between
    its runs (then `note` says so): there is nothing stable to compare against.
    `baseline_runs` and `candidate_runs` are the timed wall times in seconds, in
    run order, warm-ups excluded.
    """

    speedup: Speedup | None
    output_unchanged: bool | None
    error: str | None = None
    baseline_runs: tuple[float, ...] = ()
    candidate_runs: tuple[float, ...] = ()
    note: str | None = None


class _RunFailed(Exception):
    pass


def measure_workload(
    command: str,
    root: Path,
    overrides: dict[str, tuple[str, str]],
    *,
    settings: MeasureSettings,
    runs: int = 5,
    timeout: float = 600,
) -> WorkloadComparison:
    """Time `command` in `root`, original vs. `overrides` ({module: (path, new source)}).

    Never raises: a failing run or a failure of perfloop itself becomes `error`.
    """
    try:
        return _measure_workload(command, root, overrides, settings, runs, timeout)
    except Exception:  # a bug of ours must not stop the run: report it with the traceback
        return WorkloadComparison(
            None, None, f"perfloop failed while measuring:\n{traceback.format_exc(limit=-6)}"
        )


def _measure_workload(
    command: str,
    root: Path,
    overrides: dict[str, tuple[str, str]],
    settings: MeasureSettings,
    runs: int,
    timeout: float,
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
        outputs: dict[Side, list[str]] = {Side.BASELINE: [], Side.CANDIDATE: []}
        try:
            for side in (Side.BASELINE, Side.CANDIDATE) * WARMUP_RUNS_PER_SIDE:
                outputs[side].append(_run(command, root, specs[side], side, timeout).stdout)
            for _pair, side in abba_schedule(runs):
                run = _run(command, root, specs[side], side, timeout)
                outputs[side].append(run.stdout)
                seconds[side].append(run.seconds)
        except _RunFailed as exc:
            return WorkloadComparison(
                None,
                None,
                str(exc),
                tuple(seconds[Side.BASELINE]),
                tuple(seconds[Side.CANDIDATE]),
            )
    unchanged, note = compare_outputs(outputs[Side.BASELINE], outputs[Side.CANDIDATE])
    return WorkloadComparison(
        workload_speedup(seconds[Side.BASELINE], seconds[Side.CANDIDATE], settings),
        unchanged,
        None,
        tuple(seconds[Side.BASELINE]),
        tuple(seconds[Side.CANDIDATE]),
        note,
    )


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


def _run(command: str, root: Path, spec: RuntimeSpec, side: Side, timeout: float) -> WorkloadRun:
    run = run_workload(command, root, spec=spec, timeout=timeout)
    if not run.succeeded:
        which = "original" if side is Side.BASELINE else "with the candidates in place"
        raise _RunFailed(f"a workload run ({which}) failed: {run.failure_message()}")
    return run


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
    baseline: Sequence[float], candidate: Sequence[float], settings: MeasureSettings
) -> Speedup:
    interval = paired_ratio_interval(
        [list(zip(baseline, candidate))], confidence=settings.confidence
    )
    return Speedup(
        ratio=interval.ratio,
        ci_low=interval.low,
        ci_high=interval.high,
        pairs=interval.pairs,
        baseline_seconds=statistics.median(baseline),
        candidate_seconds=statistics.median(candidate),
        method=(
            f"geometric mean of {interval.pairs} paired ABBA whole-workload wall-time ratios "
            f"(baseline/candidate; {WARMUP_RUNS_PER_SIDE} warm-up run per side discarded); "
            f"{settings.confidence:.0%} CI by bootstrap over pairs "
            f"({DEFAULT_RESAMPLES} resamples, seed 0)"
        ),
    )
