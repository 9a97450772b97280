"""Proposers that learn from feedback, and the bounded rounds that drive them.

A plain proposer (a rule) is a function called once. A `RoundProposer` (an
LLM, or a user's command given as `--proposer-cmd`) first proposes from the
target's context, then gets feedback round by round: when its last round beat
the best verified candidate so far (a verified rule result counts), the new
best goes back with its measured speedup (`refine`); otherwise its most telling
rejected candidate goes back with its counterexample or error (`repair`); with
nothing rejected, the best is refined.
Every candidate goes through the same gate, verification and
measurement as any other (`evaluate`, given by the pipeline).

The rounds stop after `proposer.rounds` feedback rounds, when the proposer says
its budget is spent, when a refinement does not beat the best so far, or when
there is nothing left to send back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol, runtime_checkable

from perfloop.model import Candidate, CandidateResult, TargetContext, VerdictStatus

Evaluate = Callable[[Candidate], CandidateResult]


@runtime_checkable
class RoundProposer(Protocol):
    rounds: int
    """How many feedback rounds may follow the first proposal."""

    def propose(self, context: TargetContext) -> Sequence[Candidate]: ...

    def repair(self, context: TargetContext, rejected: CandidateResult) -> Sequence[Candidate]: ...

    def refine(self, context: TargetContext, best: CandidateResult) -> Sequence[Candidate]: ...

    def exhausted(self) -> str | None:
        """Why no more calls should be made (budget spent, model unusable), or None."""
        ...


def best_verified(results: Sequence[CandidateResult]) -> CandidateResult | None:
    """The verified and measured candidate with the highest speedup (faster or not)."""
    measured = [
        r
        for r in results
        if r.verdict
        and r.verdict.status is VerdictStatus.EQUIVALENT
        and r.measurement
        and r.measurement.speedup
    ]
    return max(measured, key=lambda r: r.measurement.speedup.ratio, default=None)  # type: ignore[union-attr]


def most_telling_rejection(results: Sequence[CandidateResult]) -> CandidateResult | None:
    """A rejected candidate to repair: one with a counterexample, else a failed check, else a
    gate failure (a repeat of one already tried tells the model nothing)."""

    def rank(result: CandidateResult) -> int:
        verdict = result.verdict
        if verdict is not None and verdict.difference is not None:
            return 3
        if verdict is not None and verdict.status is not VerdictStatus.EQUIVALENT:
            return 2
        if not result.gate.passed and "duplicate" not in (result.gate.reason or ""):
            return 1
        return 0

    ranked = [(rank(r), index, r) for index, r in enumerate(results) if rank(r) > 0]
    return max(ranked, key=lambda item: (item[0], -item[1]))[2] if ranked else None


def _ratio(result: CandidateResult | None) -> float:
    if result is None or result.measurement is None or result.measurement.speedup is None:
        return 0.0
    return result.measurement.speedup.ratio


def run_rounds(
    proposer: RoundProposer, context: TargetContext, evaluate: Evaluate
) -> list[CandidateResult]:
    """All candidates the proposer made for this target, evaluated, in order."""
    results: list[CandidateResult] = []
    batch = proposer.propose(context)
    best = best_verified(context.verified)
    refining = False
    for round_number in range(proposer.rounds + 1):
        evaluated = [evaluate(candidate) for candidate in batch]
        results.extend(evaluated)
        if round_number == proposer.rounds or proposer.exhausted():
            break
        latest = best_verified([*context.verified, *results])
        improved = _ratio(latest) > _ratio(best)
        best = latest
        if refining and not improved:
            break  # the refinement did not beat the best: rounds stopped improving
        rejected = most_telling_rejection(evaluated)
        if best is not None and (improved or rejected is None):
            refining = True
            batch = proposer.refine(context, best)
        elif rejected is not None:
            batch = proposer.repair(context, rejected)
        elif not evaluated:
            batch = proposer.propose(context)  # nothing usable came back; ask again
        else:
            break
    return results
