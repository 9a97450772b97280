"""The tiers are named once (verification.plan.TIERS): order, checks and unit words agree."""

from __future__ import annotations

from perfloop.model import TierRun
from perfloop.report.summary import tier_line
from perfloop.report.verification import tier_run_text
from perfloop.verification.plan import TIER_ORDER, TIERS
from perfloop.verification.tiers import CHECKS


def test_every_tier_has_a_check_and_every_check_a_tier() -> None:
    assert list(CHECKS) == list(TIER_ORDER)
    assert len({tier.name for tier in TIERS}) == len(TIERS)


def test_both_renderers_count_each_tier_in_its_own_words() -> None:
    for tier in TIERS:
        run = TierRun(tier.name, "same", 12, 1.5)
        assert tier_run_text(run) == f"{tier.name}: 12 {tier.unit}, same"
        assert tier_line(run) == f"{tier.name}: same on 12 {tier.inputs} (1.5 s)"
    assert tier_run_text(TierRun("replay", "same", 3, 0.1)) == "replay: 3 calls, same"
    assert (
        tier_line(TierRun("fuzz", "same", 200, 2.0)) == "fuzz: same on 200 generated inputs (2.0 s)"
    )
