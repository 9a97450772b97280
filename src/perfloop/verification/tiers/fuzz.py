"""The fuzz tier: inputs generated from the recorded calls' types and the function's literals."""

from __future__ import annotations

import time
from pathlib import Path

from perfloop.model import Difference, Limits, TierRun
from perfloop.verification.fuzz import FuzzResult, FuzzTask, fuzz_worker_limits, run_fuzz
from perfloop.verification.plan import TargetPlan, TierCheck, VerifySettings
from perfloop.verification.shapes import source_constants
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
    shrunk = worker.wall_seconds > seconds_left
    if shrunk:  # shrink the budget to what is left
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
        plan.constants.joined(source_constants(source, plan.function.qualname)),
        settings,
        plan.settings.policy,
        observed=plan.observed,
    )
    started = time.perf_counter()
    results = run_fuzz(task, root=root, limits=worker)
    seconds = time.perf_counter() - started
    if isinstance(results, str):
        if shrunk and results.startswith("did not finish within"):
            # killed at a deadline cut down to the candidate's last seconds: on a busy
            # machine starting the worker alone can take that long, which says nothing
            # about the candidate (replay, which ran first, finished its calls)
            note = (
                f"the candidate's verification budget ran out while fuzzing (the worker {results} "
                "after the earlier tiers); raise --candidate-timeout to fuzz it"
            )
            return TierCheck(TierRun("fuzz", "skipped", 0, seconds, note), None, None)
        return TierCheck(TierRun("fuzz", "failed", 0, seconds, results), None, results)
    return fuzz_check_from_result(results[0], seconds)


def has_examples(settings: VerifySettings) -> bool:
    return settings.fuzz.examples > 0


TIER = Tier(
    "fuzz",
    "inputs",
    "generated inputs",
    "on generated inputs",
    check_fuzz,
    applies=has_examples,
    not_for_classes="fuzzing one method's calls does not apply to a whole-class candidate; "
    "the interaction tier generates call sequences on one object instead",
)
