"""The verifier's self-check: how many mutants of the original the tiers tell apart.

Mutants (see `mutants`) go through the same tiers as candidates, cheap to
expensive, each stopping at its first difference: replay and a reduced fuzz
budget together in one worker for all mutants (starting a worker per mutant
would cost more than checking it); for a method whose class's instances were
followed through the workload, the interaction tier (the recorded histories and
a few generated sequences) for the mutants still alive, again in one worker;
then the project's tests for those still alive (and the symbolic check, with a
reduced budget, if `mutant_tiers` asks for it). For a whole class as the target, the
mutants are of its methods (one fault in one method each), and the tiers that judge it
(interaction on the recorded histories and generated sequences, then the tests) are
the ones that may kill them, as for its candidates. The mutation score
killed / generated is the target's verification strength; below the
threshold its candidates are "weakly verified". Mutants equivalent to the
original cannot be killed and lower the score, so it is a lower bound.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

from perfloop.model import Limits, VerificationStrength
from perfloop.verification.fuzz import FuzzTask, fuzz_worker_limits, run_fuzz
from perfloop.verification.interaction import (
    WORKER_OVERHEAD,
    InteractionBatch,
    InteractionTask,
    run_interaction_batch,
)
from perfloop.verification.mutants import Mutant, generate_mutants
from perfloop.verification.plan import TargetPlan
from perfloop.verification.project_tests import OriginalRuns, check_with_tests
from perfloop.verification.tiers import tier_named

_KILLING_OUTCOMES = ("different", "failed", "unverifiable")
_SURVIVORS_SHOWN = 5
_MUTANT_SYMBOLIC_SECONDS = 3.0
# per mutant, for replaying the recorded histories (those left are not replayed); the
# generated sequences take the reduced fuzz budget (`mutant_fuzz`) on top
_MUTANT_HISTORY_SECONDS = 5.0


def measure_strength(plan: TargetPlan, *, root: Path, limits: Limits) -> VerificationStrength:
    """Generate mutants of the original and count how many the tiers reject."""
    started = time.perf_counter()
    settings = plan.settings
    made = generate_mutants(
        plan.original_source,
        plan.function.qualname,
        settings.mutants,
        messages_compared=settings.policy.exception_messages,
    )
    mutants = list(made.mutants)
    if not mutants:
        return VerificationStrength(
            0,
            0,
            made.excluded,
            settings.min_strength,
            time.perf_counter() - started,
            note="no mutant could be made of this function; its verification strength is unknown",
        )
    killers: list[str | None] = _replay_and_fuzz(mutants, plan, root, limits)
    if plan.histories and _chosen(plan, "interaction"):
        alive = [index for index, killer in enumerate(killers) if killer is None]
        found = _interactions([mutants[index] for index in alive], plan, root, limits)
        for index, killer in zip(alive, found):
            killers[index] = killer
    reduced = replace(
        plan,
        settings=replace(
            settings, symbolic_seconds=min(settings.symbolic_seconds, _MUTANT_SYMBOLIC_SECONDS)
        ),
    )
    needed = math.ceil(settings.min_strength * len(mutants) - 1e-9)
    untried: dict[str, int] = {}  # tier -> mutants alive it was not run on: decided already
    killed = sum(killer is not None for killer in killers)
    tests = _TestsTier(reduced, root, limits)
    for tier in ("tests", "symbolic"):
        if not _chosen(plan, tier):
            continue
        for index, mutant in enumerate(mutants):
            if killers[index] is not None:
                continue
            if killed >= needed:
                # the threshold is met: the rest could only raise a score already above it,
                # at a run of the project's tests each (tomlkit 0.13.2's _parse_string: 10
                # mutants the replay and fuzz let through, 90 s of its 126 s self-check)
                untried[tier] = untried.get(tier, 0) + 1
                continue
            if tier == "tests":
                kills = tests.kills(mutant.module_source)
            else:
                check = tier_named(tier).check(
                    mutant.module_source, reduced, root, limits, settings.candidate_seconds
                )
                kills = check.run.outcome in _KILLING_OUTCOMES
            if kills:
                killers[index] = tier
                killed += 1
    killed_by = Counter(k for k in killers if k is not None)
    survivors = [m.description for m, k in zip(mutants, killers) if k is None]
    note = None
    if untried:
        skipped = " and ".join(f"the {tier} tier for {count}" for tier, count in untried.items())
        note = (
            f"the self-check stopped once the threshold was met: {skipped} of the mutants "
            "the earlier tiers let through did not run, as they could only raise the score "
            "(--min-strength 1 runs every tier on every mutant)"
        )
    return VerificationStrength(
        killed=sum(killed_by.values()),
        generated=len(mutants),
        excluded=made.excluded,
        threshold=settings.min_strength,
        seconds=time.perf_counter() - started,
        killed_by=tuple(sorted(killed_by.items())),
        survivors=tuple(survivors[:_SURVIVORS_SHOWN]),
        note=note,
    )


class _TestsTier:
    """The project's tests run on mutants of one target, the tests that killed earlier
    mutants first: a mutant is usually killed by a test that killed another (a run of
    those alone stops at once), and the original's reruns to confirm a failure are kept
    (`check_with_tests`'s `originals`). A mutant those tests let through runs the whole
    selection, as a candidate does."""

    def __init__(self, plan: TargetPlan, root: Path, limits: Limits) -> None:
        self.plan = plan
        self.root = root
        self.limits = limits
        self.killing: list[str] = []  # test ids, in the order they first killed
        self.originals: OriginalRuns = {}
        self.narrowing = True  # until those tests alone fail with the original too

    def kills(self, module_source: str) -> bool:
        selection = self.plan.tests
        if self.killing and self.narrowing:
            first = [i for i, node_id in enumerate(selection.node_ids) if node_id in self.killing]
            narrowed = replace(
                selection,
                node_ids=tuple(selection.node_ids[i] for i in first),
                durations=tuple(selection.durations[i] for i in first)
                if selection.durations
                else (),
                seconds=sum(selection.durations[i] for i in first) if selection.durations else 0.0,
            )
            outcome = self._check(module_source, replace(self.plan, tests=narrowed))
            if outcome in _KILLING_OUTCOMES:
                return True
            if outcome == "skipped":  # they need the tests before them: run them all
                self.narrowing = False
        return self._check(module_source, self.plan) in _KILLING_OUTCOMES

    def _check(self, module_source: str, plan: TargetPlan) -> str:
        seconds = plan.settings.candidate_seconds
        check = check_with_tests(
            module_source, plan, self.root, self.limits, seconds, self.originals
        )
        if check.run.outcome not in _KILLING_OUTCOMES:
            return check.run.outcome
        failed = check.difference.call if check.difference is not None else None
        if failed in plan.tests.node_ids and failed not in self.killing:
            self.killing.append(failed)
        return check.run.outcome


def _chosen(plan: TargetPlan, tier: str) -> bool:
    """The tier runs for the target's candidates and for the self-check's mutants (a tier
    that cannot judge a whole class runs for neither)."""
    settings = plan.settings
    if plan.whole_class and tier_named(tier).not_for_classes is not None:
        return False
    return settings.runs(tier) and tier in settings.mutant_tiers


def _generates(plan: TargetPlan) -> bool:
    """Whether the interaction tier makes up sequences for the mutants: for a method, when
    the fuzz tier is chosen; for a whole class (the fuzz tier does not apply to it) when the
    fuzz budget is on, as for its candidates."""
    if plan.whole_class:
        return plan.settings.fuzz.examples > 0
    return _chosen(plan, "fuzz")


def _replay_and_fuzz(
    mutants: list[Mutant], plan: TargetPlan, root: Path, limits: Limits
) -> list[str | None]:
    """Which tier killed each mutant ("replay", "fuzz") or None, in one shared worker."""
    return _one_by_one_if_hung(
        lambda batch: _batch(batch, plan, root, limits), mutants, hung="replay"
    )


def _one_by_one_if_hung(
    run: Callable[[list[Mutant]], list[str | None] | str], mutants: list[Mutant], hung: str
) -> list[str | None]:
    """`run` on all mutants in one worker; if one hung it (a text comes back), each alone,
    a mutant that hangs alone counting as killed by the tier `hung`."""
    results = run(mutants)
    if not isinstance(results, str):
        return results
    killers: list[str | None] = []
    for mutant in mutants:
        alone = run([mutant])
        killers.extend([hung] if isinstance(alone, str) else alone)
    return killers


def _batch(
    mutants: list[Mutant], plan: TargetPlan, root: Path, limits: Limits
) -> list[str | None] | str:
    settings = plan.settings
    fuzzing = _chosen(plan, "fuzz")
    replaying = _chosen(plan, "replay")
    if not (fuzzing or replaying):  # `--tiers interaction`: neither may count a kill
        return [None] * len(mutants)
    fuzz = settings.mutant_fuzz if fuzzing else replace(settings.mutant_fuzz, examples=0)
    task = FuzzTask(
        plan.function.module,
        plan.function.qualname,
        str(root / plan.path),
        plan.original_source,
        tuple(m.module_source for m in mutants),
        plan.records,
        plan.constants,
        fuzz,
        settings.policy,
        replay_first=replaying,
        observed=plan.observed,
    )
    worker = fuzz_worker_limits(fuzz, len(mutants), limits)
    wall = worker.wall_seconds + len(mutants) * max(2.0, limits.wall_seconds / 4)
    worker = Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=limits.memory_mb)
    results = run_fuzz(task, root=root, limits=worker)
    if isinstance(results, str):
        return results
    return [r.tier if r.outcome in _KILLING_OUTCOMES else None for r in results]


def _interactions(
    mutants: list[Mutant], plan: TargetPlan, root: Path, limits: Limits
) -> list[str | None]:
    """Which mutants the interaction tier kills ("interaction", else None), in one shared
    worker; one by one if a mutant hung it (a hung mutant counts as killed, as in replay)."""
    if not mutants:
        return []
    return _one_by_one_if_hung(
        lambda batch: _interaction_batch(batch, plan, root, limits), mutants, hung="interaction"
    )


def _interaction_batch(
    mutants: list[Mutant], plan: TargetPlan, root: Path, limits: Limits
) -> list[str | None] | str:
    settings = plan.settings
    generating = _generates(plan)
    generation = settings.mutant_fuzz if generating else replace(settings.mutant_fuzz, examples=0)
    task = InteractionTask(
        plan.function.module,
        plan.function.qualname,
        str(root / plan.path),
        plan.original_source,
        plan.original_source,  # replaced by each mutant's
        plan.histories,
        plan.constants,
        generation,
        settings.policy,
        _MUTANT_HISTORY_SECONDS,
        whole_class=plan.whole_class,
    )
    each = _MUTANT_HISTORY_SECONDS + generation.seconds * 1.5 + max(2.0, limits.wall_seconds / 4)
    wall = WORKER_OVERHEAD + len(mutants) * each
    worker = Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=limits.memory_mb)
    results = run_interaction_batch(
        InteractionBatch(task, tuple(m.module_source for m in mutants)), root=root, limits=worker
    )
    if isinstance(results, str):
        return results
    return ["interaction" if r.outcome in _KILLING_OUTCOMES else None for r in results]
