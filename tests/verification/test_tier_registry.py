"""The tiers are declared once, one module each (verification/tiers/): the registry, the
settings and the renderers agree on them."""

from __future__ import annotations

import importlib
import pkgutil

from perfloop.model import TierRun
from perfloop.report.summary import tier_line
from perfloop.report.verification import tier_run_text
from perfloop.verification import tiers
from perfloop.verification.fuzz import FuzzSettings
from perfloop.verification.plan import Rollout, VerifySettings
from perfloop.verification.tiers import TIER_ORDER, TIERS, tier_named


def test_every_tier_module_is_registered_once_and_runs_by_default() -> None:
    modules = [
        info.name
        for info in pkgutil.iter_modules(tiers.__path__)
        if info.name != "base" and not info.name.startswith("_")
    ]
    declared = [importlib.import_module(f"{tiers.__name__}.{name}").TIER for name in modules]
    assert sorted(t.name for t in declared) == sorted(TIER_ORDER)  # each module is in TIERS
    assert len(set(TIER_ORDER)) == len(TIERS)
    assert all(callable(tier.check) for tier in TIERS)
    assert VerifySettings().tiers == TIER_ORDER  # the settings' default is the registry


def test_a_tier_runs_when_chosen_and_its_settings_let_it() -> None:
    settings = VerifySettings(rollout=Rollout("python bench.py"))
    assert [t for t in TIER_ORDER if settings.runs(t)] == list(TIER_ORDER)
    assert not VerifySettings().runs("rollout")  # no workload to run
    no_budget = VerifySettings(fuzz=FuzzSettings(0, 1.0), symbolic_seconds=0)
    # the recorded calls and histories still replay with no budget for generated inputs
    assert [t for t in TIER_ORDER if no_budget.runs(t)] == ["replay", "interaction", "tests"]
    assert not VerifySettings(tiers=("replay",)).runs("fuzz")
    unknown = tier_named("telepathy")  # named in an older run's record, say
    assert unknown.unit == "inputs" and not settings.runs("telepathy")
    assert TIER_ORDER[-1] == "rollout"  # the most expensive, for candidates all others passed


def test_both_renderers_count_each_tier_in_its_own_words() -> None:
    for tier in TIERS:
        run = TierRun(tier.name, "same", 12, 1.5)
        assert tier_run_text(run) == f"{tier.name}: 12 {tier.unit}, same"
        assert tier_line(run) == f"{tier.name}: same on 12 {tier.inputs} (1.5 s)"
    assert tier_run_text(TierRun("replay", "same", 3, 0.1)) == "replay: 3 calls, same"
    assert (
        tier_line(TierRun("fuzz", "same", 200, 2.0)) == "fuzz: same on 200 generated inputs (2.0 s)"
    )


def test_the_interaction_tier_is_listed_for_methods_only() -> None:
    from perfloop.model import FunctionRef
    from perfloop.verification.plan import TargetPlan
    from perfloop.verification.shapes import Constants

    def plan(qualname: str) -> TargetPlan:
        ref = FunctionRef("m", qualname)
        return TargetPlan(ref, "m.py", "", (), Constants(), VerifySettings())

    interaction = tier_named("interaction")
    assert interaction.fits(plan("Prober.feed"))
    assert not interaction.fits(plan("scale"))
    assert not interaction.fits(plan("outer.<locals>.inner"))
    assert all(tier.fits(plan("scale")) for tier in TIERS if tier.name != "interaction")


def test_a_candidate_no_tier_judged_is_unverifiable_never_equivalent(tmp_path) -> None:
    # under load the candidate's budget can run out before its first tier; `optimize`
    # would otherwise have counted (and applied) an "equivalent" nothing had checked
    from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
    from perfloop.verification import verify_candidate
    from perfloop.verification.plan import TargetPlan
    from perfloop.verification.shapes import Constants

    ref = FunctionRef("m", "scale")
    source = "def scale(x):\n    return 2 * x\n"
    plan = TargetPlan(ref, "m.py", source, (), Constants(), VerifySettings(candidate_seconds=0.5))
    candidate = Candidate(ref, "test", "", source, source, "m.py")
    verdict = verify_candidate(candidate, plan, root=tmp_path, limits=Limits(10, 256))
    assert verdict.status is VerdictStatus.UNVERIFIABLE
    assert verdict.tiers == ()
    assert "no verification tier could judge the candidate" in (verdict.reason or "")
    assert "verification budget (0.5 s) ran out" in (verdict.reason or "")


def test_a_tier_the_budget_cut_short_is_skipped_not_failed(tmp_path, monkeypatch) -> None:
    # pyflakes 3.2.0: replay of Checker.futuresAllowed (a 300 kB-1 MB `self` per call)
    # took most of the candidate's 60 s, so the rollout tier got the 2 s left for a 2 s
    # workload: "the workload did not finish within 2 s with the candidate in place"
    # failed the candidate, and the target said "checking the candidate failed"
    import dataclasses
    import time

    import perfloop.verification as verification
    from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
    from perfloop.verification.plan import TargetPlan, TierCheck
    from perfloop.verification.shapes import Constants

    def same(source, plan, root, limits, left):
        time.sleep(2.5)  # most of the budget, as replaying 1 MB `self`s took
        return TierCheck(TierRun("replay", "same", 3, 2.5))

    def hung(source, plan, root, limits, left):
        time.sleep(left)
        note = f"the workload did not finish within {left:.0f} s with the candidate in place"
        return TierCheck(TierRun("rollout", "failed", 1, left, note), None, note)

    fakes = {"replay": same, "rollout": hung}
    found = {
        tier.name: dataclasses.replace(tier, check=fakes[tier.name], fits=lambda plan: True)
        for tier in TIERS
        if tier.name in fakes
    }
    monkeypatch.setattr(verification, "TIER_ORDER", ("replay", "rollout"))
    monkeypatch.setattr(verification, "tier_named", found.__getitem__)
    ref = FunctionRef("m", "scale")
    source = "def scale(x):\n    return 2 * x\n"
    settings = VerifySettings(candidate_seconds=4.0, rollout=Rollout("python w.py"))
    plan = TargetPlan(ref, "m.py", source, (), Constants(), settings)
    candidate = Candidate(ref, "test", "", source, source, "m.py")
    verdict = verification.verify_candidate(candidate, plan, root=tmp_path, limits=Limits(10, 256))
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    assert verdict.tiers == ("replay",)
    [rollout] = [run for run in verdict.runs if run.tier == "rollout"]
    assert rollout.outcome == "skipped"
    assert "verification budget (4 s) ran out while it ran" in (rollout.note or "")

    # a tier given most of the budget that still does not finish is the candidate's doing
    # (a hang): it fails, and says what to raise should the candidate only be slow
    monkeypatch.setattr(verification, "TIER_ORDER", ("rollout",))
    verdict = verification.verify_candidate(candidate, plan, root=tmp_path, limits=Limits(10, 256))
    assert verdict.status is VerdictStatus.FAILED
    assert "did not finish within 4 s" in (verdict.reason or "")
    assert (verdict.reason or "").endswith("give each candidate more time with --candidate-timeout")
