"""The tiers behind one interface: check one module source against a target's plan.

Each check runs its tier in sandboxed workers and returns a `TierCheck`; it
never raises. `seconds_left` is what remains of the candidate's verification
budget; a tier takes no more than that.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from perfloop.model import Difference, Limits, TierRun, VerdictStatus
from perfloop.verification import project_tests, symbolic
from perfloop.verification.fuzz import FuzzResult, FuzzTask, fuzz_worker_limits, run_fuzz
from perfloop.verification.plan import TargetPlan, TierCheck
from perfloop.verification.replay import replay

Check = Callable[[str, TargetPlan, Path, Limits, float], TierCheck]


def _capped(limits: Limits, seconds: float) -> Limits:
    wall = max(1.0, min(limits.wall_seconds, seconds))
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=limits.memory_mb)


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
        limits=_capped(limits, seconds_left),
        policy=plan.settings.policy,
    )
    outcome = {
        VerdictStatus.EQUIVALENT: "same",
        VerdictStatus.DIFFERENT: "different",
    }.get(verdict.status, "failed")
    run = TierRun("replay", outcome, verdict.calls_checked, verdict.seconds)
    return TierCheck(run, verdict.difference, verdict.reason)


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
        worker = _capped(worker, seconds_left)
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


def check_tests(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    return project_tests.check_with_tests(source, plan, root, limits, seconds_left)


def check_symbolic(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    return symbolic.check_symbolic(source, plan, root, limits, seconds_left)


CHECKS: dict[str, Check] = {
    "replay": check_replay,
    "fuzz": check_fuzz,
    "tests": check_tests,
    "symbolic": check_symbolic,
}
