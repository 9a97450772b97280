"""What every stage of a run is handed: the settings, the project, the store, the proposers."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from perfloop.config import Settings
from perfloop.measure import NoiseFloors
from perfloop.model import Candidate, FunctionRef, Limits, RunId
from perfloop.pipeline.budget import Budget
from perfloop.progress import Progress
from perfloop.project import Project
from perfloop.propose import propose_rule_candidates
from perfloop.propose.rounds import RoundProposer
from perfloop.store.cache import CacheKey, ResultCache
from perfloop.store.checkpoints import Checkpoints
from perfloop.store.runs import RunStore
from perfloop.verification import RunVerification
from perfloop.verification.compare import ComparePolicy

# a proposer gets (function, its file relative to the root, the file's source) and
# returns candidates; rules are the default, an LLM or an outside agent are others
Proposer = Callable[[FunctionRef, str, str], Sequence[Candidate]]


DEFAULT_PROPOSERS: tuple[Proposer, ...] = (propose_rule_candidates,)


# a RoundProposer (an LLM) gets a TargetContext and feedback rounds after the plain ones
AnyProposer = Proposer | RoundProposer


def quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class Context:
    """What every per-target step needs; built once per run."""

    settings: Settings
    project: Project
    run_id: RunId
    store: RunStore
    policy: ComparePolicy
    progress: Progress
    proposers: tuple[AnyProposer, ...]
    verification: RunVerification  # caches the test index, plans and strengths of the run
    checkpoints: Checkpoints  # the completed steps (a resumed run reuses them)
    starting_notes: tuple[str, ...] = ()
    noise_floors: NoiseFloors = field(default_factory=NoiseFloors)  # one A/A per target
    budget: Budget = field(default_factory=lambda: Budget(None))  # --budget
    cache: ResultCache | None = None  # None: --no-cache, or the cache could not be opened
    # each target's cache key, as computed this run (merging re-verifies under it)
    cache_keys: dict[FunctionRef, CacheKey] = field(default_factory=dict)
    # what the project's tests tier said in the runs whose targets were reused
    reused_test_notes: list[str] = field(default_factory=list)
    # the runs whose profile and recorded calls this one took (--trust-capture)
    trusted: list[str] = field(default_factory=list)

    @property
    def round_proposers(self) -> list[RoundProposer]:
        return [p for p in self.proposers if isinstance(p, RoundProposer)]

    @property
    def root(self) -> Path:
        return self.project.root


def recorded_limits(context: Context) -> Limits:
    limits = context.checkpoints.done.get("workload-limits")
    if isinstance(limits, Limits):
        return limits
    settings = context.settings  # a run profiled before limits were recorded
    return Limits(settings.workload_timeout, int(settings.workload_timeout) + 5, 1 << 20)


def index_limits(settings: Settings) -> Limits:
    """Running the project's tests once may take as long as the workload."""
    wall = settings.workload_timeout
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=settings.memory_mb)


def candidate_limits(context: Context, seconds: float | None = None) -> Limits:
    wall = context.settings.candidate_timeout
    if seconds is not None:  # a candidate gets ten times what the original needed
        wall = min(wall, max(5.0, 10 * seconds))
    return Limits(
        wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=context.settings.memory_mb
    )
