"""Verification: decide whether a candidate behaves exactly like the original, and say how
much that decision is worth.

Tiers run cheap to expensive and stop at the first difference: replay of the
captured calls, differential fuzzing, the project's own tests, and (with the
`symbolic` extra) a symbolic search. `verify_candidate` is the one entry point
the search calls for a candidate; `prepare_target` builds, once per target,
what every tier needs (and finds originals that disagree with themselves);
`measure_strength` runs the self-check. `RunVerification` keeps what is
learnt once per run (the test index, each target's plan and strength). The
equivalence relation every tier uses is in `compare`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from perfloop.model import (
    Candidate,
    FunctionRef,
    Limits,
    TargetCapture,
    TierRun,
    Verdict,
    VerdictStatus,
    VerificationStrength,
)
from perfloop.verification.compare import DEFAULT_POLICY, ComparePolicy
from perfloop.verification.fuzz import FuzzSettings, FuzzTask, fuzz_worker_limits, run_fuzz
from perfloop.verification.plan import TargetPlan, TestSelection, VerifySettings
from perfloop.verification.project_tests import TestIndex, index_tests, select_tests
from perfloop.verification.rollout import WorkloadReference
from perfloop.verification.shapes import source_constants
from perfloop.verification.strength import measure_strength
from perfloop.verification.tiers import TIER_ORDER, tier_named

_STATUS = {
    "different": VerdictStatus.DIFFERENT,
    "failed": VerdictStatus.FAILED,
    "unverifiable": VerdictStatus.UNVERIFIABLE,
}


def prepare_target(
    function: FunctionRef,
    path: str,
    module_source: str,
    capture: TargetCapture,
    *,
    root: Path,
    settings: VerifySettings,
    limits: Limits,
    tests: TestSelection | None = None,
    reference: WorkloadReference | None = None,
    whole_class: bool = False,
) -> TargetPlan:
    """The target's plan; `problem` is set if the original disagrees with itself under fuzzing."""
    plan = TargetPlan(
        function,
        path,
        module_source,
        capture.records,
        source_constants(module_source, function.qualname),
        settings,
        tests or TestSelection(note="the project's tests were not looked at"),
        reference=reference,
        observed=capture.parameter_types,
        histories=capture.histories,
        whole_class=whole_class,
    )
    if settings.runs("fuzz") and capture.records and not whole_class:
        problem = original_instability(plan, root=root, limits=limits)
        if problem is not None:
            plan = replace(plan, problem=problem)
    return plan


def original_instability(plan: TargetPlan, *, root: Path, limits: Limits) -> str | None:
    """Fuzz the original against itself; a message if it gave two answers to one input."""
    task = FuzzTask(
        plan.function.module,
        plan.function.qualname,
        str(root / plan.path),
        plan.original_source,
        (None,),
        plan.records,
        plan.constants,
        plan.settings.fuzz,
        plan.settings.policy,
        observed=plan.observed,
    )
    results = run_fuzz(task, root=root, limits=fuzz_worker_limits(task.settings, 1, limits))
    if isinstance(results, str) or results[0].outcome not in ("unverifiable", "different"):
        return None
    found = results[0]
    return (
        f"run twice on the same input, {found.call}, the original gave different results "
        f"({found.description}); it depends on something besides its arguments (randomness, "
        "time, module state), so no rewrite of it can be verified"
    )


# what a tier cut short by the candidate's budget tells the user to do (tomlkit 0.13.2's
# parser methods: 10 s of 60 were left for tests whose run takes more under load)
_MORE_TIME = "give each candidate more time with --candidate-timeout"


def verify_candidate(
    candidate: Candidate,
    plan: TargetPlan,
    *,
    root: Path,
    limits: Limits,
    stop_at_first_difference: bool = True,
    on_tier: Callable[[str], None] | None = None,
) -> Verdict:
    """Run the enabled tiers in order within the candidate's budget; the verdict lists each.
    `on_tier` is told each tier's name as it starts (the progress display). Where no
    tier judged (all skipped), the verdict is UNVERIFIABLE, never EQUIVALENT."""
    started = time.perf_counter()
    if plan.problem is not None:
        return Verdict(VerdictStatus.UNVERIFIABLE, (), 0, 0.0, reason=plan.problem)
    deadline = time.monotonic() + plan.settings.candidate_seconds
    runs: list[TierRun] = []
    status, difference, reason = VerdictStatus.EQUIVALENT, None, None
    for tier in TIER_ORDER:
        if not plan.settings.runs(tier) or not tier_named(tier).fits(plan):
            continue
        refused = tier_named(tier).not_for_classes if plan.whole_class else None
        if refused is not None:  # listed, so the verdict says it did not judge the class
            runs.append(TierRun(tier, "skipped", 0, 0.0, refused))
            continue
        left = deadline - time.monotonic()
        if status is not VerdictStatus.EQUIVALENT and stop_at_first_difference:
            break
        budget_note = (
            f"the candidate's verification budget ({plan.settings.candidate_seconds:g} s) ran out"
        )
        if left < 1.0:
            runs.append(TierRun(tier, "skipped", 0, 0.0, f"{budget_note}; {_MORE_TIME}"))
            continue
        if on_tier is not None:
            on_tier(tier)
        check = tier_named(tier).check(candidate.module_source, plan, root, limits, left)
        if check.run.outcome == "failed" and time.monotonic() >= deadline:
            cut_short = f"{budget_note} while it ran ({check.run.note}); {_MORE_TIME}"
            if left < plan.settings.candidate_seconds / 2:
                # the earlier tiers took most of the budget, and this one got the rest:
                # pyflakes 3.2.0's futuresAllowed got 2 s of rollout for a 2 s workload, and
                # "did not finish within 2 s" failed a candidate every other tier had passed
                runs.append(TierRun(tier, "skipped", 0, check.run.seconds, cut_short))
                continue
            # given most of the budget and still not done: the candidate's own doing (a
            # hang, or far slower than the original), so it fails, saying what to raise
            check = replace(check, run=replace(check.run, note=cut_short))
            if check.reason is not None:
                check = replace(check, reason=f"{check.reason}; {_MORE_TIME}")
        runs.append(check.run)
        found = _STATUS.get(check.run.outcome)
        if found is not None and status is VerdictStatus.EQUIVALENT:
            status, difference, reason = found, check.difference, check.reason
    judged_by = tuple(r.tier for r in runs if r.outcome != "skipped")
    if status is VerdictStatus.EQUIVALENT and not judged_by:
        # no tier gave evidence (none applied, none was chosen, or the budget ran out
        # before the first): that is no verdict, and nothing may be applied on it
        why = "; ".join(f"{run.tier}: {run.note}" for run in runs if run.note)
        status = VerdictStatus.UNVERIFIABLE
        reason = (
            f"no verification tier could judge the candidate ({why or 'none was chosen'}); "
            "choose tiers that apply with --tiers, or leave it out to run every one"
        )
    replayed = next((r.inputs for r in runs if r.tier == "replay"), 0)
    return Verdict(
        status,
        judged_by,
        replayed,
        time.perf_counter() - started,
        difference,
        reason,
        tuple(runs),
    )


class RunVerification:
    """What verification learns once per run: the project's test index, and each target's
    plan and strength. Only a cache; the work is in the functions above."""

    def __init__(self, root: Path, settings: VerifySettings, index_limits: Limits) -> None:
        self.root = root
        self.settings = settings
        self.index_limits = index_limits
        self._index: TestIndex | None = None
        self._plans: dict[FunctionRef, TargetPlan] = {}
        self._reference = (
            WorkloadReference(settings.rollout, root) if settings.rollout is not None else None
        )
        self._strengths: dict[FunctionRef, VerificationStrength] = {}
        self._expected: dict[FunctionRef, tuple[str, str, TargetCapture, Limits, bool]] = {}

    def tests_for(self, function: FunctionRef, path: str, module_source: str) -> TestSelection:
        if not self.settings.runs("tests"):
            return TestSelection(note="the project's tests tier is turned off")
        if self._index is None:
            self._index = index_tests(self.root, self.index_limits, self.settings.tests_runner)
        return select_tests(self._index, self.root, function, path, module_source)

    def indexes_tests(self) -> bool:
        """Whether the next plan first runs the project's tests (once per run) to index
        which tests call which function: the progress display says so, it takes a while."""
        return self.settings.runs("tests") and self._index is None

    def index_tests(self) -> None:
        """Run the project's tests once now if the tier is on and they have not run yet (a
        run whose verdicts all came from the cache still needs to know before --apply)."""
        if self.settings.runs("tests") and self._index is None:
            self._index = index_tests(self.root, self.index_limits, self.settings.tests_runner)

    def tests_problem(self) -> str | None:
        """Why the project's tests could not judge this run's candidates although it has
        tests; None when they could, when it has none, or when the tier is off."""
        return None if self._index is None else self._index.could_not_run

    def tests_notes(self) -> tuple[str, ...]:
        """How the project's tests were run, where the user would not expect it (unittest
        because pytest could not run them); empty otherwise."""
        note = None if self._index is None else self._index.note
        return () if note is None else (note,)

    def plan(
        self,
        function: FunctionRef,
        path: str,
        module_source: str,
        capture: TargetCapture,
        limits: Limits,
        whole_class: bool = False,
    ) -> TargetPlan:
        """The target's plan, prepared once; `whole_class`: `function` names a class."""
        if function not in self._plans:
            self._plans[function] = prepare_target(
                function,
                path,
                module_source,
                capture,
                root=self.root,
                settings=self.settings,
                limits=limits,
                tests=self.tests_for(function, path, module_source),
                reference=self._reference,
                whole_class=whole_class,
            )
        return self._plans[function]

    def expect(
        self,
        function: FunctionRef,
        path: str,
        module_source: str,
        capture: TargetCapture,
        limits: Limits,
        whole_class: bool = False,
    ) -> None:
        """Note what `plan_of` needs to prepare the target's plan when it is first asked
        for (merging or applying may not need it: preparing runs the original's fuzzing and
        the project's tests); `whole_class`: `function` names a class."""
        self._expected.setdefault(function, (path, module_source, capture, limits, whole_class))

    def plan_of(self, function: FunctionRef) -> TargetPlan | None:
        """The target's plan: prepared already, or now from what `expect` noted; None if
        neither."""
        if function not in self._plans and function in self._expected:
            path, module_source, capture, limits, whole_class = self._expected[function]
            return self.plan(function, path, module_source, capture, limits, whole_class)
        return self._plans.get(function)

    def knows_strength(self, function: FunctionRef) -> bool:
        """Whether the target's strength was measured already (or the self-check is off)."""
        return self.settings.mutants <= 0 or function in self._strengths

    def strength(self, plan: TargetPlan, limits: Limits) -> VerificationStrength | None:
        """The target's verification strength (None when the self-check is off)."""
        if self.settings.mutants <= 0:
            return None
        if plan.function not in self._strengths:
            self._strengths[plan.function] = measure_strength(plan, root=self.root, limits=limits)
        return self._strengths[plan.function]


__all__ = [
    "DEFAULT_POLICY",
    "ComparePolicy",
    "FuzzSettings",
    "RunVerification",
    "TargetPlan",
    "TestSelection",
    "VerifySettings",
    "measure_strength",
    "prepare_target",
    "verify_candidate",
]
