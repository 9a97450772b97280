"""What each command hands back: one frozen result per command.

    optimize  RunResult: per target a TargetResult, the whole-workload speedup, the patch
    verify    VerifyResult: the decision on one outside candidate, with its evidence
    bench     BenchResult: the candidate's A/B against the original, beside the noise floor
    check     CheckResult: every function a change touched, judged against its base

The CLI prints these and the run folder keeps them through one renderer per format
(`perfloop.report`), the Python API returns them, and the MCP server sends their JSON
documents, so all of them say the same thing. The data the stages pass to each other
on the way (profiles, calls, candidates, verdicts, measurements) is `perfloop.model`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from perfloop.measure import NoiseFloor, WorkloadComparison
from perfloop.measure.speed import speed_word
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    LLMUsage,
    Measurement,
    Profile,
    RunId,
    Speedup,
    Verdict,
    VerdictStatus,
    VerificationStrength,
)

# --- optimize -----------------------------------------------------------------------


class TargetStatus(str, Enum):
    IMPROVED = "improved"
    NO_FASTER_CANDIDATE = "no_faster_candidate"
    UNVERIFIABLE = "unverifiable"
    ERROR = "error"
    SKIPPED = "skipped"  # not tried: the run's --budget ran out


class CacheState(str, Enum):
    """What the result cache did for a target (perfloop.pipeline.reuse)."""

    REUSED = "reused"  # verdicts and measurements from an earlier run
    REMEASURED = "remeasured"  # verdicts from an earlier run, measured again
    COMPUTED = "computed"  # computed in this run (and kept for the next)
    OFF = "off"  # the cache was not used (--no-cache, or it could not be opened)


@dataclass(frozen=True)
class CacheUse:
    """Where a target's result came from: `run_id` is the run that computed what was
    reused; `why` says why it was reused, re-measured or computed."""

    state: CacheState
    why: str
    run_id: str | None = None


@dataclass(frozen=True)
class TargetResult:
    function: FunctionRef
    share: float
    status: TargetStatus
    reason: str | None
    calls_recorded: int
    candidates: tuple[CandidateResult, ...] = ()
    best: CandidateResult | None = None
    strength: VerificationStrength | None = None  # None: the self-check did not run
    cache: CacheUse | None = None  # None: a run without the result cache (an older one)
    original_source: str | None = None  # the function as the workload ran it, for diffs
    # one line each: what went wrong with a proposer for this target (a command that
    # failed, an answer with no usable code), and how its recorded calls were judged
    # where that differs from the usual (perfloop.verification.replay.OriginalReplay)
    notes: tuple[str, ...] = ()
    whole_class: bool = False  # the target is a class (`pkg.mod:Class`), not a function

    @property
    def weakly_verified(self) -> bool:
        """Its verification's strength is below the threshold (or unknown)."""
        return self.strength is not None and self.strength.weak


class ReviewAction(str, Enum):
    """What a person did with a candidate in `optimize --interactive`."""

    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EDITED = "edited"
    HINTED = "asked for more"
    KEPT_ORIGINAL = "kept the original"


@dataclass(frozen=True)
class ReviewDecision:
    """One decision of the person reviewing a run's candidates, recorded as it is made.

    `candidate_id` and `origin` name the candidate decided on (for an edit, the one that
    was edited); `outcome_id` is the edited version's id; `outcome` what came of an edit
    or a hint, in words; `text` the hint as the person typed it.
    """

    function: FunctionRef
    action: ReviewAction
    candidate_id: str | None = None
    origin: str | None = None
    outcome_id: str | None = None
    outcome: str = ""
    text: str = ""


@dataclass(frozen=True)
class WorkloadSpeedup:
    """The whole workload, original against patched: `speedup` on CPU time (the headline),
    `wall_speedup` on wall time, `note` when the two disagree."""

    speedup: Speedup
    output_unchanged: bool | None
    wall_speedup: Speedup | None = None
    note: str | None = None


@dataclass(frozen=True)
class RunResult:
    run_id: RunId
    python: str
    workload: str
    root: str
    profile: Profile
    targets: tuple[TargetResult, ...]
    workload_speedup: WorkloadSpeedup | None
    patch: str
    applied: bool
    run_dir: str
    notes: tuple[str, ...] = field(default=())
    llm_usage: LLMUsage | None = None
    applied_without_tests: str | None = None  # why the tests could not run, if applied anyway
    decisions: tuple[ReviewDecision, ...] = ()  # a person's, with --interactive, in order

    @property
    def improved(self) -> tuple[TargetResult, ...]:
        return tuple(t for t in self.targets if t.status is TargetStatus.IMPROVED)


# --- verify, bench, check -------------------------------------------------------------


class Decision(str, Enum):
    """The answer to "does the candidate behave like the original?", with its exit code."""

    EQUIVALENT = "equivalent"  # the same on everything tried
    DIFFERENT = "different"  # a call on which it behaves differently (or it crashed, hung)
    REJECTED = "rejected"  # refused before running: signature changed, new dependency
    UNDECIDED = "undecided"  # no usable calls, the original is not reproducible, too weak

    @property
    def exit_code(self) -> int:
        return {"equivalent": 0, "different": 1, "rejected": 1, "undecided": 3}[self.value]


@dataclass(frozen=True)
class Counterexample:
    """A call on which the candidate differs, as Python a user can paste and run.

    `exact` is True when evaluating `code` rebuilds the recorded arguments exactly;
    otherwise `code` is the closest readable form (objects without a useful repr)
    and `where` says where the full inputs are kept.
    """

    code: str
    exact: bool
    description: str
    call_index: int
    where: str
    tier: str = "replay"


@dataclass(frozen=True)
class VerifyResult:
    run_id: RunId
    function: FunctionRef
    candidate: Candidate
    gate: GateResult
    verdict: Verdict | None
    decision: Decision
    reason: str
    calls_seen: int
    calls_recorded: int
    strength: VerificationStrength | None
    counterexample: Counterexample | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def exit_code(self) -> int:
        return self.decision.exit_code


@dataclass(frozen=True)
class BenchResult:
    """The A/B of a candidate against the original, with the A/A noise floor beside it.

    `steps` are the wall-clock seconds of each step the command took, in order.
    `noise_floor` is the original timed against itself the same way (None when
    nothing was timed): how far apart two identical versions look on this
    machine now. As in optimize, it raises the threshold the A/B's interval must
    clear when it is above `min_speedup`, so noise is not reported as a speedup.
    """

    run_id: RunId
    function: FunctionRef
    candidate: Candidate
    calls_recorded: int
    measurement: Measurement
    noise_floor: NoiseFloor | None
    min_speedup: float
    workload: WorkloadComparison | None = None
    notes: tuple[str, ...] = field(default=())
    steps: tuple[tuple[str, float], ...] = field(default=())  # (what, wall-clock seconds)
    # what one timed call is: a recorded call, or for a whole class one instance's history
    timed: str = "recorded calls"

    @property
    def threshold(self) -> float:
        """What the interval's lower bound had to clear: the one the A/B decided with."""
        speedup = self.measurement.speedup
        if speedup is not None and speedup.threshold is not None:
            return speedup.threshold
        return self.min_speedup

    @property
    def speed(self) -> str:
        """faster, slower, faster but below the threshold, no significant difference, or not
        measured."""
        return speed_word(self.measurement.speedup, self.threshold)

    @property
    def exit_code(self) -> int:
        """0 measured (or nothing to time: it runs the original's very instructions), 3 no
        calls to time it on, 1 timing failed (the candidate crashed or hung)."""
        if self.measurement.speedup is not None or self.measurement.untimed:
            return 0
        return 3 if self.calls_recorded == 0 else 1


class CheckStatus(str, Enum):
    BEHAVIOUR_CHANGED = "behaviour changed"
    SLOWER = "slower"
    FASTER = "faster"
    SAME_SPEED = "same behaviour, no significant speed change"
    NOT_MEASURED = "same behaviour, timing failed"
    UNVERIFIABLE = "unverifiable"
    NOT_EXERCISED = "not exercised by the workload"

    @property
    def fails(self) -> bool:
        return self in (CheckStatus.BEHAVIOUR_CHANGED, CheckStatus.SLOWER)


@dataclass(frozen=True)
class FunctionCheck:
    """One function changed between the base and the working tree, and what the check found."""

    function: FunctionRef
    path: str
    status: CheckStatus
    reason: str
    calls_seen: int = 0
    verdict: Verdict | None = None
    measurement: Measurement | None = None
    counterexample: Counterexample | None = None


@dataclass(frozen=True)
class CheckResult:
    run_id: RunId
    base: str
    workload: str
    max_slowdown: float
    min_speedup: float
    functions: tuple[FunctionCheck, ...]
    markdown: str
    markdown_path: str
    notes: tuple[str, ...] = field(default=())

    @property
    def failures(self) -> tuple[FunctionCheck, ...]:
        return tuple(f for f in self.functions if f.status.fails)

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


# what any command hands back; the renderers and the run store take each of them
CommandResult = RunResult | VerifyResult | BenchResult | CheckResult


def decision_for(gate: GateResult, verdict: Verdict | None, weak: bool) -> Decision:
    """The decision from the gate and the verdict; `weak` turns an equivalence into undecided."""
    if not gate.passed:
        if gate.reason and gate.reason.startswith("no change"):
            return Decision.EQUIVALENT
        return Decision.REJECTED
    if verdict is None or verdict.status is VerdictStatus.UNVERIFIABLE:
        return Decision.UNDECIDED
    if verdict.status is VerdictStatus.EQUIVALENT:
        return Decision.UNDECIDED if weak else Decision.EQUIVALENT
    return Decision.DIFFERENT
