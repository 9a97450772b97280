"""The fuzz tier: inputs generated from the recorded calls' types and the function's literals."""

from __future__ import annotations

import time
from pathlib import Path

from perfloop.model import Difference, Limits, TierRun
from perfloop.verification.fuzz import FuzzResult, FuzzTask, fuzz_worker_limits, run_fuzz
from perfloop.verification.plan import TargetPlan, TierCheck, VerifySettings
from perfloop.verification.tiers.base import Tier, capped


def fuzz_check_from_result(result: FuzzResult, seconds: float) -> TierCheck:
    """A fuzz worker's finding as a TierCheck."""
    run = TierRun(result.tier, result.outcome, result.examples, seconds, result.note)
    if result.outcome in ("different", "unverifiable") and result.call is not None:
        difference = Difference(
            max(0, result.examples - 1),
            result.call,
            result.description or "",
            result.tier,
            pasteable=result.call_pasteable,
        )
        reason = None if result.outcome == "different" else result.description
        return TierCheck(run, difference, reason)
    return TierCheck(run, None, result.note if result.outcome == "failed" else None)


def check_fuzz(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    settings = plan.settings.fuzz
    worker = fuzz_worker_limits(settings, 1, limits)
    if worker.wall_seconds > seconds_left:  # shrink the budget to what is left
        seconds = max(0.5, (seconds_left - 5.0) / 1.5)
        settings = type(settings)(settings.examples, min(settings.seconds, seconds))
        worker = capped(worker, seconds_left)
    task = FuzzTask(
        plan.function.module,
        plan.function.qualname,
        str(root / plan.path),
        plan.original_source,
        (source,),
        plan.records,
        plan.constants,
        settings,
        plan.settings.policy,
    )
    started = time.perf_counter()
    results = run_fuzz(task, root=root, limits=worker)
    seconds = time.perf_counter() - started
    if isinstance(results, str):
        return TierCheck(TierRun("fuzz", "failed", 0, seconds, results), None, results)
    return fuzz_check_from_result(results[0], seconds)


def has_examples(settings: VerifySettings) -> bool:
    return settings.fuzz.examples > 0


TIER = Tier(
    "fuzz", "inputs", "generated inputs", "on generated inputs", check_fuzz, applies=has_examples
)
