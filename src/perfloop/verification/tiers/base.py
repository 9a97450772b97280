"""What a verification tier is: a name, the words for what it counts, when it applies, its check."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from perfloop.model import Limits, TierRun

if TYPE_CHECKING:
    from perfloop.verification.plan import TargetPlan, TierCheck, VerifySettings

# check(candidate module source, plan, root, limits, seconds left) -> the tier's finding.
# It runs the tier in sandboxed workers, takes no more than the seconds left and never
# raises: a tier that cannot run says so in its TierCheck.
Check = Callable[[str, "TargetPlan", Path, Limits, float], "TierCheck"]


def capped(limits: Limits, seconds: float) -> Limits:
    """`limits` with the wall time cut to what the candidate's budget has left."""
    wall = max(1.0, min(limits.wall_seconds, seconds))
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=limits.memory_mb)


def always(settings: VerifySettings) -> bool:
    return True


def any_target(plan: TargetPlan) -> bool:
    return True


@dataclass(frozen=True)
class Tier:
    """One verification tier, declared in its own module of this package.

    `unit` is what it counts in a short line ("200 calls"), `inputs` the same in a
    sentence ("same on 200 recorded calls"), `found_in` where a difference it finds was
    ("on generated inputs"); `applies` says whether the settings let it run at all (a
    budget of 0 turns a tier off), beside the user's choice of tiers; `fits` whether it
    means anything for a target at all (the interaction tier: only for a method), so a
    verdict does not list a tier that could never run on it. `not_for_classes` says why
    a tier does not judge a whole class as the target (a per-call tier).
    """

    name: str
    unit: str
    inputs: str
    found_in: str
    check: Check
    applies: Callable[[VerifySettings], bool] = always
    fits: Callable[[TargetPlan], bool] = any_target
    # why the tier cannot judge a whole class as the target (None: it can); the verdict
    # lists the tier as skipped with this note, so a reader sees it did not run
    not_for_classes: str | None = None


def _unknown_check(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    from perfloop.verification.plan import TierCheck

    note = "perfloop has no tier of this name"
    return TierCheck(TierRun("unknown", "failed", 0, 0.0, note), None, note)


def unknown_tier(name: str) -> Tier:
    """How a tier perfloop does not know (one named in an older run's record) is shown."""
    return Tier(name, "inputs", "inputs", "", _unknown_check, applies=lambda settings: False)
