"""The verification tiers, one module each, in the order they run.

A tier module declares `TIER` (see `base.Tier`): its name, the words for what it
counts, when the settings let it run, and its check. Adding a tier is one module
here and its place in `TIERS`; the settings, the flags and every renderer take
the tier from this tuple.
"""

from __future__ import annotations

from perfloop.verification.tiers import fuzz, interaction, replay, rollout, symbolic, tests
from perfloop.verification.tiers.base import Check, Tier, unknown_tier

TIERS: tuple[Tier, ...] = (
    replay.TIER,
    fuzz.TIER,
    interaction.TIER,
    tests.TIER,
    symbolic.TIER,
    rollout.TIER,
)
TIER_ORDER: tuple[str, ...] = tuple(tier.name for tier in TIERS)
_BY_NAME = {tier.name: tier for tier in TIERS}


def tier_named(name: str) -> Tier:
    """The tier called `name`; one perfloop does not know counts plain "inputs"."""
    return _BY_NAME.get(name) or unknown_tier(name)


__all__ = ["TIERS", "TIER_ORDER", "Check", "Tier", "tier_named"]
