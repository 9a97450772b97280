"""The feedback rounds: what goes back to a proposer after each round, and when they stop."""

from __future__ import annotations

from dataclasses import dataclass, field

from perfloop.model import (
    Candidate,
    CandidateResult,
    Difference,
    FunctionRef,
    GateResult,
    Measurement,
    RunId,
    Speedup,
    TargetContext,
    Verdict,
    VerdictStatus,
)
from perfloop.propose.rounds import RoundProposer, run_rounds

REF = FunctionRef("lib", "total")
CONTEXT = TargetContext(RunId("r"), REF, "lib.py", "def total(xs): ...\n", 0.9)


def candidate(name: str) -> Candidate:
    return Candidate(REF, f"test:{name}", name, f"# {name}\n", name, "lib.py")


def outcome(c: Candidate, kind: str) -> CandidateResult:
    """'wrong', 'crash', 'gate', or a speedup like '1.5' for a verified candidate."""
    if kind == "gate":
        return CandidateResult(c, GateResult(False, "the candidate does not parse"))
    if kind == "wrong":
        difference = Difference(0, "total([1])", "returned 2, expected 1")
        verdict = Verdict(VerdictStatus.DIFFERENT, ("replay",), 1, 0.1, difference)
        return CandidateResult(c, GateResult(True), verdict)
    if kind == "crash":
        verdict = Verdict(VerdictStatus.FAILED, ("replay",), 0, 0.1, reason="it hung")
        return CandidateResult(c, GateResult(True), verdict)
    ratio = float(kind)
    speedup = Speedup(ratio, ratio - 0.1, ratio + 0.1, 20, 1.0, 1 / ratio, "test")
    verdict = Verdict(VerdictStatus.EQUIVALENT, ("replay",), 5, 0.1)
    return CandidateResult(c, GateResult(True), verdict, Measurement(speedup, ratio > 1.05))


@dataclass
class Scripted:
    """A RoundProposer that answers each call with the next scripted batch and logs the call."""

    batches: list[list[tuple[str, str]]]
    rounds: int = 3
    budget_after: int | None = None
    calls: list[tuple[str, str | None]] = field(default_factory=list)
    outcomes: dict[str, str] = field(default_factory=dict)

    def _next(self, kind: str, about: CandidateResult | None) -> list[Candidate]:
        self.calls.append((kind, about.candidate.rationale if about else None))
        batch = self.batches.pop(0) if self.batches else []
        for name, result in batch:
            self.outcomes[name] = result
        return [candidate(name) for name, _ in batch]

    def propose(self, context: TargetContext) -> list[Candidate]:
        return self._next("propose", None)

    def repair(self, context: TargetContext, rejected: CandidateResult) -> list[Candidate]:
        return self._next("repair", rejected)

    def refine(self, context: TargetContext, best: CandidateResult) -> list[Candidate]:
        return self._next("refine", best)

    def exhausted(self) -> str | None:
        if self.budget_after is not None and len(self.calls) >= self.budget_after:
            return "budget spent"
        return None


def drive(proposer: Scripted, context: TargetContext = CONTEXT) -> list[CandidateResult]:
    assert isinstance(proposer, RoundProposer)
    return run_rounds(proposer, context, lambda c: outcome(c, proposer.outcomes[c.rationale]))


def test_a_wrong_candidate_is_repaired_then_the_verified_one_refined_until_no_gain() -> None:
    proposer = Scripted(
        [
            [("a", "wrong"), ("b", "gate")],
            [("c", "1.5")],
            [("d", "2.0")],
            [("e", "1.9")],
        ],
        rounds=5,
    )
    results = drive(proposer)
    assert proposer.calls == [
        ("propose", None),
        ("repair", "a"),  # the one with a counterexample, not the gate failure
        ("refine", "c"),
        ("refine", "d"),
    ]
    assert [r.candidate.rationale for r in results] == ["a", "b", "c", "d", "e"]


def test_rounds_stop_at_the_limit() -> None:
    proposer = Scripted([[("a", "wrong")], [("b", "wrong")], [("c", "wrong")]], rounds=1)
    drive(proposer)
    assert [kind for kind, _ in proposer.calls] == ["propose", "repair"]


def test_rounds_stop_when_the_budget_is_spent() -> None:
    proposer = Scripted([[("a", "wrong")], [("b", "wrong")]], rounds=5, budget_after=1)
    assert len(drive(proposer)) == 1
    assert proposer.calls == [("propose", None)]


def test_a_verified_rule_result_is_refined_when_the_model_does_no_better() -> None:
    seed = outcome(candidate("rule"), "1.3")
    context = TargetContext(RunId("r"), REF, "lib.py", "", 0.9, verified=(seed,))
    proposer = Scripted([[("a", "1.1")], [("b", "1.2")]], rounds=3)
    drive(proposer, context)
    assert proposer.calls == [("propose", None), ("refine", "rule")]


def test_a_round_with_no_usable_answer_asks_again_once_per_round() -> None:
    proposer = Scripted([[], [("a", "1.4")]], rounds=1)
    results = drive(proposer)
    assert [kind for kind, _ in proposer.calls] == ["propose", "propose"]
    assert [r.candidate.rationale for r in results] == ["a"]


def test_a_crash_is_repaired_too() -> None:
    proposer = Scripted([[("a", "crash")], [("b", "1.2")]], rounds=1)
    drive(proposer)
    assert proposer.calls == [("propose", None), ("repair", "a")]
