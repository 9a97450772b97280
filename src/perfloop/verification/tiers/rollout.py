"""The rollout tier: the whole workload, run with the candidate in place, prints what it
printed with the original. It runs last, for candidates every other tier passed."""

from __future__ import annotations

from pathlib import Path

from perfloop.model import Difference, Limits, TierRun
from perfloop.verification.plan import TargetPlan, TierCheck, VerifySettings
from perfloop.verification.rollout import first_difference, run_with_source
from perfloop.verification.tiers.base import Tier

# a candidate's run may take this many times the original's before it counts as hung
_SLOWER = 10.0


def check_rollout(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    rollout, shared = plan.settings.rollout, plan.reference
    if rollout is None or shared is None:
        return _skipped("no workload to run")
    module, path = plan.function.module, root / plan.path
    reference = shared.get(module, path, plan.original_source)
    if reference.stdout is None:
        return _skipped(reference.problem or "the original's output is unknown")
    timeout = min(rollout.timeout, max(5.0, _SLOWER * reference.seconds), seconds_left)
    run = run_with_source(rollout, root, module, path, source, timeout)
    call = f"{rollout.command}  # in {root}, with the candidate in place"
    if run.timed_out:
        note = f"the workload did not finish within {timeout:.0f} s with the candidate in place"
        return TierCheck(TierRun("rollout", "failed", 1, run.seconds, note), None, note)
    if not run.succeeded:
        description = f"the workload failed with the candidate in place: {run.failure_message()}"
    elif run.stdout != reference.stdout:
        description = first_difference(reference.stdout, run.stdout)
    else:
        return TierCheck(TierRun("rollout", "same", 1, run.seconds))
    difference = Difference(0, call, description, "rollout", pasteable=False)
    return TierCheck(TierRun("rollout", "different", 1, run.seconds), difference)


def _skipped(why: str) -> TierCheck:
    return TierCheck(TierRun("rollout", "skipped", 0, 0.0, why))


def has_workload(settings: VerifySettings) -> bool:
    return settings.rollout is not None


TIER = Tier(
    "rollout",
    "run",
    "run of the workload",
    "in the whole workload's output",
    check_rollout,
    applies=has_workload,
)
