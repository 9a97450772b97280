"""The MCP `apply` tool's logic: only a verified candidate is written, atomically, and confirmed."""

from __future__ import annotations

from pathlib import Path

import pytest
from outside_project import EDGE, HONEST

from perfloop.config import load_settings
from perfloop.outside import CandidateSpec, Decision
from perfloop.outside.apply import apply_outside
from perfloop.outside.judge import verify_settings


@pytest.mark.slow
def test_a_verified_candidate_is_written_and_a_different_one_is_not(shop: Path) -> None:
    settings = load_settings(shop, {"mutants": 0})
    engine = verify_settings(settings, ("replay",))
    before = (shop / "shop.py").read_text()

    refused = apply_outside(settings, "shop:cheapest", CandidateSpec(text=EDGE), engine=engine)
    assert not refused.applied
    assert refused.verification.decision is Decision.DIFFERENT
    assert refused.reason.startswith("not applied: different")
    assert (shop / "shop.py").read_text() == before

    done = apply_outside(
        settings,
        "shop:cheapest",
        CandidateSpec(text=HONEST),
        run=refused.verification.run_id,
        engine=engine,
    )
    assert done.applied, done.reason
    after = (shop / "shop.py").read_text()
    assert "return min(prices)" in after
    assert after.split("def label")[1] == before.split("def label")[1]
    assert done.backup is not None and (Path(done.backup) / "shop.py").read_text() == before
    assert "-    return sorted(prices)[0]" in done.diff
