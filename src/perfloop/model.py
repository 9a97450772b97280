"""The plain, frozen dataclasses that the stages hand on to each other.

Every stage takes some of these in and gives some out; no stage reaches into
another. What crosses a process boundary (to a sandboxed worker and back) is
one of these too, so they hold only plain data: user objects travel as pickled
bytes that the main process never unpickles.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import NewType

RunId = NewType("RunId", str)


class InvalidReference(ValueError):
    """A function reference is not of the form module:qualname."""


_REF_PATTERN = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


@dataclass(frozen=True, order=True)
class FunctionRef:
    """A function in the user's project: `package.module:Class.method`."""

    module: str
    qualname: str

    def __str__(self) -> str:
        return f"{self.module}:{self.qualname}"

    @classmethod
    def parse(cls, text: str) -> FunctionRef:
        """Parse `module:qualname`, or raise InvalidReference with an example of the form."""
        if not _REF_PATTERN.match(text):
            made_at_run_time = _made_by_a_call(text)
            if made_at_run_time:
                raise InvalidReference(made_at_run_time)
            raise InvalidReference(
                f"{text!r} is not a function reference; write it as module:qualname, "
                "e.g. shoplib.text:tokenize or shoplib.graph:Graph.shortest_path"
            )
        module, qualname = text.split(":")
        return cls(module, qualname)

    @property
    def name(self) -> str:
        return self.qualname.rsplit(".", 1)[-1]


_LOCAL_PATTERN = re.compile(
    r"^(?P<module>[A-Za-z_][\w.]*):(?P<outer>[A-Za-z_][\w.]*?)\.<locals>\.(?P<inner>[A-Za-z_][\w.<>]*)$"
)


def _made_by_a_call(text: str) -> str | None:
    """The error for a `<locals>` qualname (a function or class made inside a function), or None.

    Python names what a factory makes `factory.<locals>.Class.method` (html5lib's tree
    builders, `getETreeBuilder.<locals>.Element._setAttributes`); a user copies that name
    from a traceback or `__qualname__`. Such code exists only once the factory has run, so
    nothing in the imported module names it: perfloop cannot record, replace or time it.
    """
    match = _LOCAL_PATTERN.match(text)
    if match is None:
        return None
    module, outer, inner = match["module"], match["outer"], match["inner"]
    made = inner.split(".", 1)[0]
    return (
        f"{text!r} is made by a call to {module}:{outer} (a <locals> name), so the imported "
        f"module has no name for it that perfloop could record, replace and time it by; "
        f"perfloop takes functions and methods that exist once their module is imported. "
        f"To optimize it, move {made} to module level (the function can still use it)"
    )


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandboxed worker process."""

    wall_seconds: float = 60.0
    cpu_seconds: int = 120
    memory_mb: int = 2048


# --- profile -----------------------------------------------------------------


@dataclass(frozen=True)
class HotFunction:
    """One function of the user's project and where the workload's time went in it.

    `self_seconds` is the function's own time plus the time of library code
    (builtins, stdlib, site-packages) that it calls directly: that is the time a
    rewrite of this function's body can change. `share` is it over the total.
    """

    function: FunctionRef
    path: str
    lineno: int
    calls: int
    self_seconds: float
    cumulative_seconds: float
    share: float
    not_targetable: str | None = None
    # calls made while another call of it was running (directly or through other
    # functions): cProfile's count of calls less its primitive ones
    recursive_calls: int = 0
    # a generator or coroutine: the profiler counts every resumption of one as a call, so
    # `calls` is resumptions, not calls (html5lib's `serialize`: 10 calls, 109,080 counted)
    resumes: bool = False

    @property
    def calls_text(self) -> str:
        """`calls` as a report shows it: resumptions are named so."""
        return f"{self.calls} resumptions" if self.resumes else str(self.calls)


@dataclass(frozen=True)
class ImportedModules:
    """How a workload run imported code: what Python names each file by, and from where.

    A module's name is the one Python imported it under, not its path under the project
    root (`src/` layouts, `package_dir` folders, editable installs, namespace packages).
    `path` is the import path (sys.path, absolute) of the run's first Python process;
    `modules` pairs each imported module's name with its file.
    """

    path: tuple[str, ...] = ()
    modules: tuple[tuple[str, str], ...] = ()

    def names_by_file(self) -> dict[str, str]:
        """{absolute file: the name the workload imported it under} (first name wins)."""
        names: dict[str, str] = {}
        for name, path in self.modules:
            names.setdefault(path, name)
        return names


@dataclass(frozen=True)
class Profile:
    total_seconds: float
    wall_seconds: float
    functions: tuple[HotFunction, ...]
    workload_stdout: str
    imports: ImportedModules = ImportedModules()


# --- capture -----------------------------------------------------------------


@dataclass(frozen=True)
class CallRecord:
    """One call of a target as it happened in the workload.

    `args` pickles `(args, kwargs)` before the call; `outcome` pickles
    `("return", value, args_after)` or `("raise", "module.ExcType", message, args_after)`.
    """

    index: int
    args: bytes
    outcome: bytes
    stdout: str
    call_repr: str


@dataclass(frozen=True)
class HistoryStep:
    """One outermost method call on a followed instance: `args` pickles `(args, kwargs)`
    (without the instance) as they were before the call."""

    method: str
    args: bytes
    call_repr: str  # `.feed(b'...')`


@dataclass(frozen=True)
class ObjectHistory:
    """What happened to one instance of a class whose methods are targets, in the workload:
    its constructor's arguments (pickled `(args, kwargs)`) and its method calls in order
    (see perfloop.runtime.histories)."""

    cls: str  # the class's qualname in the target's module
    number: int  # the how-manieth instance of the class the workload made
    constructor: bytes
    constructor_repr: str
    steps: tuple[HistoryStep, ...]


@dataclass(frozen=True)
class ObservedType:
    """The runtime types a parameter's values had in the recorded calls; for a method,
    also each instance attribute its code names, as `self.name`, before the calls."""

    parameter: str
    types: tuple[str, ...]


@dataclass(frozen=True)
class TargetCapture:
    function: FunctionRef
    calls_seen: int
    records: tuple[CallRecord, ...]
    parameter_types: tuple[ObservedType, ...] = ()
    return_types: tuple[str, ...] = ()
    calls_not_recorded: int = 0
    problem: str | None = None
    probe: ProbeCounts | None = None
    """Python 3.12+: what the target's counting event did (None: every call was wrapped)."""
    histories: tuple[ObjectHistory, ...] = ()
    """For a method: a few instances of its class, followed through the workload."""
    instances_seen: int = 0  # of the method's class, made while the workload ran
    repeats: int = 0  # calls not kept because an identical call was (not kept in the store)
    # with calls kept: why others that capture tried to keep were not (the most frequent
    # reason: "the capture byte budget was used up (capture-mb raises it)"); not stored
    not_kept: str | None = None

    @property
    def usable(self) -> bool:
        return bool(self.records) and self.problem is None


@dataclass(frozen=True)
class ProbeCounts:
    """A capture probe's work (see perfloop.runtime.probes): `events` the counting event
    delivered (calls counted between recorded calls), `switches` from the recording
    wrapper to the event. The workload's other code raised no event."""

    events: int
    switches: int


@dataclass(frozen=True)
class LineTiming:
    """One line of a target: how often it ran and the time spent on it (callees included)."""

    lineno: int
    hits: int
    seconds: float
    share: float
    text: str


@dataclass(frozen=True)
class LineProfile:
    """Where the time goes inside one target, line by line, in file line numbers."""

    function: FunctionRef
    total_seconds: float
    lines: tuple[LineTiming, ...]

    def hottest(self, count: int = 5, min_share: float = 0.05) -> tuple[LineTiming, ...]:
        ranked = sorted(self.lines, key=lambda line: line.seconds, reverse=True)
        return tuple(line for line in ranked[:count] if line.share >= min_share)


# --- propose and gate --------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A proposed new version of one function, as the whole new module source."""

    function: FunctionRef
    origin: str
    rationale: str
    module_source: str
    function_source: str
    path: str

    @property
    def candidate_id(self) -> str:
        import hashlib

        return hashlib.sha256(self.module_source.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class GateResult:
    passed: bool
    reason: str | None = None


# --- verify ------------------------------------------------------------------


class VerdictStatus(str, Enum):
    EQUIVALENT = "equivalent"
    DIFFERENT = "different"
    FAILED = "failed"
    UNVERIFIABLE = "unverifiable"


@dataclass(frozen=True)
class Difference:
    """The first observed difference between the original and a candidate.

    `call` is the input as a call (`tokenize([''])`); for a fuzzed or symbolic
    counterexample it is copy-pasteable (`shoplib.text:tokenize([''])`) when
    `pasteable` (False: an argument has no exact Python form, `call` shows its
    repr), and `call_index` counts the inputs that tier tried before it.
    """

    call_index: int
    call: str
    description: str
    tier: str = "replay"
    pasteable: bool = True


@dataclass(frozen=True)
class TierRun:
    """One verification tier on one candidate: what it tried and what it found."""

    tier: str  # "replay", "fuzz", "tests", "symbolic"
    outcome: str  # "same", "different", "failed", "unverifiable", "skipped"
    inputs: int  # calls replayed, examples fuzzed, tests run, paths explored
    seconds: float
    note: str | None = None  # why it was skipped, what it could not judge


@dataclass(frozen=True)
class Verdict:
    status: VerdictStatus
    tiers: tuple[str, ...]
    calls_checked: int
    seconds: float
    difference: Difference | None = None
    reason: str | None = None
    runs: tuple[TierRun, ...] = ()  # every tier considered, in order, skipped ones too


@dataclass(frozen=True)
class VerificationStrength:
    """How much a "verified" means for one target: the mutation score of its verification.

    Mutants of the original (a comparison swapped, a constant off by one, a
    statement dropped...) go through the same tiers as candidates; `killed` of
    `generated` were told apart from the original. Mutants whose normalised AST
    equals the original's, or another mutant's, are not counted (`excluded`).
    Some surviving mutants may still be equivalent to the original, so the
    score is a lower bound of the verification's true strength.
    """

    killed: int
    generated: int
    excluded: int
    threshold: float
    seconds: float
    killed_by: tuple[tuple[str, int], ...] = ()  # (tier, mutants it killed first)
    survivors: tuple[str, ...] = ()  # a few surviving mutants, described
    note: str | None = None

    @property
    def score(self) -> float | None:
        return self.killed / self.generated if self.generated else None

    @property
    def weak(self) -> bool:
        score = self.score
        return score is None or score < self.threshold


# --- measure -----------------------------------------------------------------


@dataclass(frozen=True)
class Speedup:
    """Baseline time over candidate time, with a confidence interval and its method.

    `p_value` is a rank test's (Wilcoxon signed-rank on the paired log ratios);
    `noise_floor` the largest ratio an A/A run (the original against itself)
    reached within its interval, `threshold` the threshold the decision used
    (`--min-speedup`, raised to the noise floor on a noisy machine), and
    `min_detectable` the smallest true speedup that clears it in 80% of
    measurements of this size. None where not measured.
    """

    ratio: float
    ci_low: float
    ci_high: float
    pairs: int
    baseline_seconds: float
    candidate_seconds: float
    method: str
    p_value: float | None = None
    noise_floor: float | None = None
    threshold: float | None = None
    min_detectable: float | None = None
    processes: int | None = None

    def clears(self, threshold: float) -> bool:
        return self.ci_low >= threshold


@dataclass(frozen=True)
class MemoryPeaks:
    """The largest allocation peak of one call (tracemalloc), per version, in bytes."""

    baseline_bytes: int
    candidate_bytes: int
    calls: int

    @property
    def ratio(self) -> float:
        """Baseline peak over candidate peak: > 1 means the candidate needs less."""
        return max(1, self.baseline_bytes) / max(1, self.candidate_bytes)


@dataclass(frozen=True)
class InstructionCounts:
    """CPU instructions per pass over the recorded calls, counted (not timed) per version.

    `tool` is "perf stat" or "callgrind"; when no counter works, `unavailable`
    says why and the counts are None.
    """

    baseline: float | None
    candidate: float | None
    tool: str | None
    method: str
    unavailable: str | None = None

    @property
    def ratio(self) -> float | None:
        if not self.baseline or not self.candidate:
            return None
        return self.baseline / self.candidate


@dataclass(frozen=True)
class Measurement:
    """A candidate against the original. `faster`: the time interval clears the threshold.

    `better` is the decision on the run's objective (None: the objective is time,
    and `faster` is the decision); `notes` say what a reader must know to trust
    the figures (a cache detected, counters unavailable).
    """

    speedup: Speedup | None
    faster: bool
    error: str | None = None
    memory: MemoryPeaks | None = None
    instructions: InstructionCounts | None = None
    better: bool | None = None
    objective: str = "time"
    notes: tuple[str, ...] = ()
    learns: bool = False
    """The candidate got far faster on calls it had already seen (measure.micro.CACHE_FACTOR):
    it keeps answers between calls (a cache), so replayed calls cannot show what it is
    worth and the whole workload judges it."""
    untimed: str | None = None
    """Why a verified candidate was not timed, though nothing failed: on the recorded calls
    it runs the very instructions the original runs (`perfloop.measure.executed`)."""

    def missing_speedup(self) -> str:
        """Why there is no speedup figure, for a reader: why it was not timed, or what failed."""
        return self.untimed or f"timing failed: {self.error or 'no reason given'}"

    @property
    def improved(self) -> bool:
        """The decision on the objective: faster for time, less memory (not slower) for memory."""
        return self.faster if self.better is None else self.better

    @property
    def gain(self) -> float:
        """How much better on the objective: the time ratio, or the memory-peak ratio."""
        if self.objective == "memory" and self.memory is not None:
            return self.memory.ratio
        return self.speedup.ratio if self.speedup is not None else 0.0


# --- select and report -------------------------------------------------------


@dataclass(frozen=True)
class CandidateResult:
    candidate: Candidate
    gate: GateResult
    verdict: Verdict | None = None
    measurement: Measurement | None = None


def verified(result: CandidateResult) -> bool:
    """The candidate behaved like the original under every tier that judged it."""
    return bool(result.verdict and result.verdict.status is VerdictStatus.EQUIVALENT)


@dataclass(frozen=True)
class TargetContext:
    """What a proposer that works in rounds (an LLM) may know about one target.

    Built by the search after profiling and capture; `verified` are the candidates
    already verified for this target (e.g. by rules), which can seed the proposer;
    `request` is a person's free-text hint, sent with every prompt for this target.
    `tried` every candidate judged before the proposer's turn, with its outcome.
    For a whole class as the target (`function` names the class), `hot_methods` are its
    methods the profile gives time to with their shares, hottest first, and `sample_calls`
    the shapes of its instances' recorded histories; the answer is a whole new class.
    """

    run_id: RunId
    function: FunctionRef
    path: str
    module_source: str
    share: float
    parameter_types: tuple[ObservedType, ...] = ()
    return_types: tuple[str, ...] = ()
    sample_calls: tuple[str, ...] = ()
    line_profile: LineProfile | None = None
    verified: tuple[CandidateResult, ...] = ()
    request: str = ""  # what a person reviewing the candidates asked for (--interactive)
    tried: tuple[CandidateResult, ...] = ()  # every candidate judged so far (the rules')
    whole_class: bool = False  # the target is a class: the answer is a whole new class
    hot_methods: tuple[tuple[str, float], ...] = ()  # a class's: (method, share)


# --- LLM calls ---------------------------------------------------------------


@dataclass(frozen=True)
class LLMCall:
    """One request to a model and what came back, as recorded in the run store.

    `cached` calls were answered from the store (no tokens spent, no cost);
    `error` says why the call failed (no answer); `problem` why an answer gave no
    candidate (unusable output).
    """

    function: FunctionRef
    purpose: str
    model: str
    prompt: str
    response: str
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cache_key: str
    ttft: float | None = None
    cost: float | None = None
    cached: bool = False
    finish_reason: str | None = None
    error: str | None = None
    problem: str | None = None
    candidate_id: str | None = None


@dataclass(frozen=True)
class LLMUsage:
    """What the LLM calls of one run cost, cached answers counted apart."""

    calls: int
    cached_calls: int
    prompt_tokens: int
    completion_tokens: int
    seconds: float
    cost: float | None
    failed_calls: int = 0
    first_error: str | None = None
    command_runs: int = 0  # of the calls, runs of a proposer command (`cmd:<name>`)

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens
