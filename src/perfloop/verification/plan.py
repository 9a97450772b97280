"""What verification knows about one target, prepared once per run and handed to every tier.

A `TargetPlan` holds the original's source, the captured calls, the literals
of the function's source, the project tests that execute it, and the
settings; every candidate of the target (and every mutant of the self-check)
is verified against the same plan.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from perfloop.config import Settings
from perfloop.model import (
    CallRecord,
    Difference,
    FunctionRef,
    ObjectHistory,
    ObservedType,
    TierRun,
)
from perfloop.verification.compare import DEFAULT_POLICY, ComparePolicy
from perfloop.verification.fuzz import FuzzSettings
from perfloop.verification.shapes import Constants

if TYPE_CHECKING:
    from perfloop.verification.rollout import WorkloadReference


@dataclass(frozen=True)
class Rollout:
    """The workload the rollout tier runs with each candidate in place."""

    command: str
    writes: tuple[str, ...] = ()  # what the workload may write (--workload-writes)
    timeout: float = Settings.workload_timeout


@dataclass(frozen=True)
class VerifySettings:
    """Which tiers run and how long they may take."""

    policy: ComparePolicy = DEFAULT_POLICY
    tiers: tuple[str, ...] = field(default_factory=lambda: _tier_order())
    fuzz: FuzzSettings = field(default_factory=FuzzSettings)
    symbolic_seconds: float = Settings.symbolic_seconds
    candidate_seconds: float = Settings.candidate_timeout  # all tiers of one candidate together
    mutants: int = Settings.mutants  # at most, for the self-check; 0: no self-check
    mutant_fuzz: FuzzSettings = field(default_factory=lambda: FuzzSettings(50, 1.0))
    # the self-check's tiers: the symbolic search is left out by default, it would cost
    # several seconds per surviving mutant for the few that only it tells apart
    mutant_tiers: tuple[str, ...] = ("replay", "fuzz", "interaction", "tests")
    min_strength: float = Settings.min_strength
    tests_runner: str = Settings.tests_runner  # auto, pytest or unittest
    rollout: Rollout | None = None  # None: no workload to run, or the rollout tier is off

    @classmethod
    def from_settings(cls, settings: Settings, policy: ComparePolicy) -> VerifySettings:
        """The verification tiers' settings from a run's settings."""
        tiers = _tier_order()
        return cls(
            policy=policy,
            tiers=tiers if settings.project_tests else tuple(t for t in tiers if t != "tests"),
            fuzz=FuzzSettings(settings.fuzz_examples, settings.fuzz_seconds),
            symbolic_seconds=settings.symbolic_seconds,
            candidate_seconds=settings.candidate_timeout,
            mutants=settings.mutants,
            min_strength=settings.min_strength,
            tests_runner=settings.tests_runner,
            rollout=Rollout(
                settings.workload,
                tuple(str(path) for path in settings.workload_writes),
                settings.workload_timeout,
            )
            if settings.workload and settings.rollout
            else None,
        )

    def runs(self, tier: str) -> bool:
        """The tier is chosen and the settings let it run (a budget of 0 turns it off)."""
        from perfloop.verification.tiers import tier_named

        return tier in self.tiers and tier_named(tier).applies(self)


def _tier_order() -> tuple[str, ...]:
    # the tiers import this module (for TierCheck, TargetPlan): looked up when first used
    from perfloop.verification.tiers import TIER_ORDER

    return TIER_ORDER


@dataclass(frozen=True)
class TestSelection:
    """The project's tests that execute a target and pass with the original."""

    __test__ = False  # not a pytest test class

    node_ids: tuple[str, ...] = ()  # in the order the suite ran them
    seconds: float = 0.0  # how long they took with the original
    note: str | None = None  # why there are none
    durations: tuple[float, ...] = ()  # each test's time with the original, as node_ids
    runner: str = "pytest"  # or "unittest": how the tests were run, and so their ids


@dataclass(frozen=True)
class TargetPlan:
    function: FunctionRef
    path: str  # the module's file, relative to the root
    original_source: str
    records: tuple[CallRecord, ...]
    constants: Constants
    settings: VerifySettings
    tests: TestSelection = field(default_factory=TestSelection)
    problem: str | None = None  # set: the target cannot be verified (and why)
    # a method's: a few instances of its class followed through the workload
    histories: tuple[ObjectHistory, ...] = ()
    # the original workload's output, shared by every target of a run (the rollout tier)
    reference: WorkloadReference | None = field(default=None, compare=False)
    # the parameters' runtime types the recorder observed (drawn from by the fuzz tier)
    observed: tuple[ObservedType, ...] = ()
    # `function` names a whole class: a candidate replaces the class (any of its methods,
    # attributes, `__slots__`); tiers that judge one call of one function do not apply
    whole_class: bool = False


@dataclass(frozen=True)
class TierCheck:
    """One tier's finding on one version."""

    run: TierRun
    difference: Difference | None = None
    reason: str | None = None  # for "failed" and "unverifiable"
