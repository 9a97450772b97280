"""The interaction tier: sequences of calls on one instance of a method's class, the ones the
workload made and ones generated from them, with the candidate in place."""

from __future__ import annotations

from pathlib import Path

from perfloop.model import Difference, Limits, TierRun
from perfloop.verification.interaction import (
    InteractionTask,
    history_seconds,
    run_interactions,
    worker_limits,
)
from perfloop.verification.plan import TargetPlan, TierCheck
from perfloop.verification.tiers.base import Tier


def check_interaction(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    if not plan.histories:
        why = (
            "no instance of the class that the workload called a method on could be followed"
            if plan.whole_class
            else "no instance of its class that the workload called it on could be followed"
        )
        return TierCheck(TierRun("interaction", "skipped", 0, 0.0, why))
    settings = plan.settings.fuzz
    if settings.seconds * 1.5 + 5.0 > seconds_left:  # shrink generation to what is left
        seconds = max(0.5, (seconds_left - 5.0) / 3)
        settings = type(settings)(settings.examples, min(settings.seconds, seconds))
    task = InteractionTask(
        plan.function.module,
        plan.function.qualname,
        str(root / plan.path),
        plan.original_source,
        source,
        plan.histories,
        plan.constants,
        settings,
        plan.settings.policy,
        history_seconds(settings, limits, seconds_left),
        whole_class=plan.whole_class,
    )
    result = run_interactions(task, root=root, limits=worker_limits(settings, limits, seconds_left))
    sequences = result.histories + result.generated
    note = result.note
    if result.private:
        cap = len(result.private) if plan.whole_class else 12  # a class: the report lists all
        shown = ", ".join(result.private[:cap]) + (", ..." if len(result.private) > cap else "")
        private = f"attributes treated as private (compared only through later calls): {shown}"
        note = f"{note}; {private}" if note else private
    run = TierRun("interaction", result.outcome, sequences, result.seconds, note)
    if result.outcome == "different" and result.program is not None:
        difference = Difference(
            max(0, sequences - 1),
            result.program,
            result.description or "",
            "interaction",
            pasteable=result.exact,
        )
        return TierCheck(run, difference)
    return TierCheck(run, None, result.note if result.outcome == "failed" else None)


def is_method(plan: TargetPlan) -> bool:
    """A method of a class (histories are recorded for those only), not a nested function."""
    owner = plan.function.qualname.rpartition(".")[0]
    return plan.whole_class or bool(plan.histories) or (bool(owner) and "<locals>" not in owner)


TIER = Tier(
    "interaction",
    "sequences",
    "call sequences on one object",
    "in a sequence of calls on one object",
    check_interaction,
    fits=is_method,
)
