"""Judge one candidate against one original on recorded calls: the part verify and check share.

The original is replayed first: if it does not reproduce its own recording it
depends on something besides its arguments, and no verdict on a rewrite of it
would mean anything. Then `perfloop.verification` prepares the target's plan, runs
every tier that applies (`verify_candidate`) and measures how strong the
verification of this target is (`RunVerification.strength`, the mutant
self-check). The recorded calls are handed over smallest first, so the first
difference replay stops at is the smallest recorded counterexample.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.config import ConfigError, Settings
from perfloop.model import (
    CallRecord,
    Candidate,
    RunId,
    TargetCapture,
    Verdict,
    VerdictStatus,
    VerificationStrength,
)
from perfloop.outside.calls import limits_for
from perfloop.outside.counterexample import counterexample_for, smallest_first
from perfloop.progress import STRENGTH_STEP
from perfloop.results import Counterexample
from perfloop.sandbox.runner import configure_workers, worker_count
from perfloop.verification import RunVerification, VerifySettings, verify_candidate
from perfloop.verification.compare import ComparePolicy
from perfloop.verification.replay import replay_original
from perfloop.verification.tiers import TIER_ORDER


@dataclass(frozen=True)
class Judgement:
    verdict: Verdict
    counterexample: Counterexample | None
    strength: VerificationStrength | None
    weak: bool


def verify_settings(settings: Settings, tiers: tuple[str, ...] | None = None) -> VerifySettings:
    """The verification engine's settings, as `perfloop optimize` derives them from the
    project's settings, with only `tiers` run if given (None: every tier that applies)."""
    policy = ComparePolicy(
        float_rel_tolerance=settings.float_tolerance,
        exception_messages=settings.exception_messages,
    )
    chosen = VerifySettings.from_settings(settings, policy)
    return chosen if tiers is None else replace(chosen, tiers=check_tiers(tiers))


def check_tiers(tiers: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """The tiers as given; ConfigError naming the known ones if one is not a tier."""
    unknown = sorted(set(tiers) - set(TIER_ORDER))
    if unknown:
        raise ConfigError(
            f"unknown verification tier {', '.join(unknown)}; the tiers are {', '.join(TIER_ORDER)}"
        )
    return tuple(tiers)


def new_verification(root: Path, settings: Settings, engine: VerifySettings) -> RunVerification:
    """One per command: it indexes the project's tests once for every target checked.
    Its tasks run in warm workers or fresh ones as the settings say (`warm-workers`)."""
    configure_workers(worker_count(), warm=settings.warm_workers)
    index_limits = replace(
        limits_for(settings),
        wall_seconds=settings.workload_timeout,
        cpu_seconds=int(settings.workload_timeout) + 5,
    )
    return RunVerification(root, engine, index_limits)


def judge(
    candidate: Candidate,
    original_source: str,
    capture: TargetCapture,
    *,
    verification: RunVerification,
    settings: Settings,
    run_id: RunId,
    on_tier: Callable[[str], None] | None = None,
) -> Judgement:
    """The verdict on `candidate` against `original_source` on `capture`'s calls;
    `on_tier` is told each verification tier as it starts (the progress display)."""
    root = verification.root
    policy = verification.settings.policy
    function = candidate.function
    if not capture.usable:
        reason = capture.problem or "no calls were recorded"
        verdict = Verdict(VerdictStatus.UNVERIFIABLE, (), 0, 0.0, reason=reason)
        return Judgement(verdict, None, None, weak=True)
    ordered = smallest_first(capture.records)
    # numbered in the order tried, so a tier's count of calls checked is right
    records = tuple(replace(record, index=i) for i, record in enumerate(ordered))
    module_file = root / candidate.path
    limits = limits_for(settings)
    original = replay_original(
        function.module,
        function.qualname,
        module_file,
        records,
        root=root,
        limits=limits,
        policy=policy,
        source=original_source,
    )
    baseline, records = original.verdict, original.records
    problem = original.problem()
    if problem is not None:
        verdict = Verdict(VerdictStatus.UNVERIFIABLE, (), 0, baseline.seconds, reason=problem)
        return Judgement(verdict, None, None, weak=True)
    limits = limits_for(settings, baseline.seconds)
    plan = verification.plan(
        function, candidate.path, original_source, replace(capture, records=records), limits
    )
    verdict = original.annotate(
        _recorded_numbering(
            verify_candidate(candidate, plan, root=root, limits=limits, on_tier=on_tier), ordered
        )
    )
    strength = None
    if verdict.status is VerdictStatus.EQUIVALENT:  # how much "the same" is worth here
        if on_tier is not None:
            on_tier(STRENGTH_STEP)
        strength = verification.strength(plan, limits)
    counterexample = counterexample_for(
        verdict,
        capture.records,
        function,
        module_file,
        original_source,
        root=root,
        run_id=run_id,
        policy=policy,
    )
    return Judgement(verdict, counterexample, strength, strength is not None and strength.weak)


def _recorded_numbering(verdict: Verdict, ordered: tuple[CallRecord, ...]) -> Verdict:
    """Give a difference found on a recorded call that call's index in the capture."""
    difference = verdict.difference
    if difference is None or difference.tier != "replay":
        return verdict
    if not 0 <= difference.call_index < len(ordered):
        return verdict
    record = ordered[difference.call_index]
    return replace(verdict, difference=replace(difference, call_index=record.index))
