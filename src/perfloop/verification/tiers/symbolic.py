"""The symbolic tier: a search for an input on which the two versions differ (CrossHair)."""

from __future__ import annotations

from perfloop.verification.plan import VerifySettings
from perfloop.verification.symbolic import check_symbolic
from perfloop.verification.tiers.base import Tier


def has_budget(settings: VerifySettings) -> bool:
    return settings.symbolic_seconds > 0


TIER = Tier(
    "symbolic",
    "paths",
    "symbolic paths",
    "on inputs the symbolic search found",
    check_symbolic,
    applies=has_budget,
    not_for_classes="the symbolic search compares one function's calls; it does not apply to "
    "a whole-class candidate",
)
