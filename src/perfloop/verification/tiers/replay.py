"""The replay tier: the candidate against the original on the calls the workload made."""

from __future__ import annotations

from pathlib import Path

from perfloop.model import Limits, TierRun, VerdictStatus
from perfloop.verification.plan import TargetPlan, TierCheck
from perfloop.verification.replay import replay
from perfloop.verification.tiers.base import Tier, capped


def check_replay(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    verdict = replay(
        plan.function.module,
        plan.function.qualname,
        root / plan.path,
        source,
        plan.records,
        root=root,
        limits=capped(limits, seconds_left),
        policy=plan.settings.policy,
    )
    outcome = {
        VerdictStatus.EQUIVALENT: "same",
        VerdictStatus.DIFFERENT: "different",
        VerdictStatus.UNVERIFIABLE: "unverifiable",  # the version did not load: nothing ran
    }.get(verdict.status, "failed")
    run = TierRun("replay", outcome, verdict.calls_checked, verdict.seconds)
    return TierCheck(run, verdict.difference, verdict.reason)


TIER = Tier(
    "replay",
    "calls",
    "recorded calls",
    "on the recorded calls",
    check_replay,
    not_for_classes="per-call replay of single methods does not apply to a whole-class "
    "candidate (its methods and attributes change together); the interaction tier judges it",
)
