"""How hard the measurement stage works and what it calls faster."""

from __future__ import annotations

from dataclasses import dataclass, replace

from perfloop.config import Settings
from perfloop.model import Limits

DEFAULT_LIMITS = Limits(wall_seconds=120)
OBJECTIVES = ("time", "memory")


@dataclass(frozen=True)
class MeasureSettings:
    """Settings of the micro A/B (`measure_candidate`) and the whole-workload A/B.

    Worker processes run one after another (never in parallel, so they do not
    compete for the CPU); each runs `pairs_per_process` ABBA block pairs, a
    block lasting at least `min_block_seconds`. At least `processes` run; then
    the measurement stops as soon as its interval is decisive, or extends while
    it straddles the threshold, up to `max_processes` and `budget_seconds` of
    wall-clock time. A candidate is faster when the lower end of the
    `confidence` interval of the ratio reaches `min_speedup` (raised to the
    noise floor when one is given). `noise_processes` processes estimate the
    noise floor (an A/A run). With `objective` "memory", a candidate is better
    when its peak memory per call is `min_speedup` times smaller and its time
    interval's lower end reaches 1 / `max_slowdown` (not slower beyond that).
    `counters` counts instructions of faster candidates where a counter works.
    The whole-workload A/B runs at least `workload_runs` pairs of whole
    processes, and more up to `max_workload_runs` while undecided. `limits`
    apply to each timing process.
    """

    min_speedup: float = Settings.min_speedup
    processes: int = Settings.measure_processes
    pairs_per_process: int = 10
    min_block_seconds: float = 0.01
    confidence: float = 0.95
    limits: Limits = DEFAULT_LIMITS
    max_processes: int = 12
    budget_seconds: float = Settings.measure_budget
    noise_processes: int = 4
    objective: str = Settings.objective
    max_slowdown: float = Settings.max_slowdown
    counters: bool = Settings.counters
    workload_runs: int = Settings.workload_runs
    max_workload_runs: int = Settings.max_workload_runs

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ValueError(f"processes must be at least 1, got {self.processes}")
        if self.max_processes < self.processes:
            raise ValueError(
                f"max_processes ({self.max_processes}) must be at least processes "
                f"({self.processes})"
            )
        if self.pairs_per_process < 1:
            raise ValueError(f"pairs_per_process must be at least 1, got {self.pairs_per_process}")
        if self.min_block_seconds <= 0:
            raise ValueError(f"min_block_seconds must be positive, got {self.min_block_seconds}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must lie between 0 and 1, got {self.confidence}")
        if self.objective not in OBJECTIVES:
            raise ValueError(f"objective must be one of {OBJECTIVES}, got {self.objective!r}")
        if self.max_slowdown < 1:
            raise ValueError(f"max_slowdown must be at least 1, got {self.max_slowdown}")
        if self.noise_processes < 2:
            raise ValueError(f"noise_processes must be at least 2, got {self.noise_processes}")
        if not 1 <= self.workload_runs <= self.max_workload_runs:
            raise ValueError(
                "need 1 <= workload_runs <= max_workload_runs, got "
                f"{self.workload_runs} and {self.max_workload_runs}"
            )


def settings_from(run: Settings, limits: Limits | None = None) -> MeasureSettings:
    """The measurement settings of a run (`[tool.perfloop]` and flags).

    `limits` are a check's worker limits; a timing process runs both versions dozens
    of times, so it gets at least two minutes of wall clock and as much CPU time.
    """
    return MeasureSettings(
        min_speedup=run.min_speedup,
        processes=run.measure_processes,
        max_processes=max(run.measure_processes, MeasureSettings.max_processes),
        budget_seconds=run.measure_budget,
        objective=run.objective,
        max_slowdown=run.max_slowdown,
        counters=run.counters,
        workload_runs=run.workload_runs,
        max_workload_runs=max(run.workload_runs, run.max_workload_runs),
        limits=DEFAULT_LIMITS if limits is None else timing_limits(limits),
    )


def timing_limits(check: Limits) -> Limits:
    wall = max(120.0, check.wall_seconds)
    return replace(check, wall_seconds=wall, cpu_seconds=max(check.cpu_seconds, int(wall) + 5))
