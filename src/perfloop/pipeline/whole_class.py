"""One whole class as the target of `perfloop optimize` (`--function pkg.mod:Class`).

Candidates come from the rules, applied to each of the class's hot methods (those the
profile gives time to, hottest first; else those the workload called on the instances
followed). Each rewrite of one method is a candidate for the whole class, judged as a class
submitted to `perfloop verify pkg.mod:Class` is: the interaction tier on the recorded
instance histories and sequences generated from them, the project's tests, the workload's
output (the per-call tiers do not apply), and the self-check's mutants of the class's
methods give its strength. Verified ones are timed as `perfloop bench pkg.mod:Class` times
a class (each timed call one recorded history, constructor and method calls), and then
combined across methods, greedily as the rules of one function are
(`perfloop.pipeline.candidates.greedy_combinations`): from the best measured one, each
other one's rules are applied on top, and an addition stays only if the whole class
still verifies and measures better. The patch, the report and `--apply` take the best as
they take a function's.

Then the proposers that work in rounds (an LLM, `--proposer-cmd`) are asked, as for a
function (`perfloop.pipeline.candidates.round_candidates`), with the whole class as the
target: the prompt gives the class's source, its hot methods with their shares and the
shapes of the recorded histories, and the answer is a whole new class
(`perfloop.llm.parse.parse_class_response`), judged and timed as the rules' classes are;
a rejected one goes back with what the interaction tier found, a verified one with its
speedup. The result is kept in the result cache as a function's
(`perfloop.pipeline.reuse.class_target_result`), and `--interactive` reviews it
(`perfloop.pipeline.review`: an edit is a whole class, a hint asks for one).
"""

from __future__ import annotations

import ast
from collections.abc import Sequence
from dataclasses import dataclass, replace

from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    ObjectHistory,
    Profile,
    TargetCapture,
    TargetContext,
    verified,
)
from perfloop.outside.whole_class import class_source
from perfloop.pipeline.candidates import (
    announce_self_check,
    evaluate_candidate,
    evaluate_candidates,
    greedy_combinations,
    offered_candidates,
    round_candidates,
    select_best,
    target_context,
)
from perfloop.pipeline.context import Context, candidate_limits
from perfloop.progress import Detail, Progress
from perfloop.propose import combine_rules
from perfloop.qualnames import find_class
from perfloop.results import TargetResult, TargetStatus
from perfloop.verification import TargetPlan

Methods = tuple[tuple[str, float], ...]  # a class's hot methods and their shares
_RULE_ORIGINS = ("rule:", "rules:")


@dataclass(frozen=True)
class _Step:
    """One method's rewrite inside a class candidate: the method and the rules applied."""

    method: str
    origin: str  # "rule:<id>" or "rules:<id>+<id>"
    rationale: str

    @property
    def rule_ids(self) -> list[str]:
        return self.origin.split(":", 1)[1].split("+")


def class_share(profile: Profile, ref: FunctionRef) -> float:
    """The class's share of the workload's time: its methods' own shares together."""
    prefix = f"{ref.qualname}."
    return sum(
        f.share
        for f in profile.functions
        if f.function.module == ref.module and f.function.qualname.startswith(prefix)
    )


def hot_methods(
    profile: Profile, ref: FunctionRef, module_source: str, capture: TargetCapture
) -> Methods:
    """The methods the class body defines that the profile gives time to, hottest first,
    with their own shares; if it gives none of them time, the ones the workload called on
    the instances followed (share 0)."""
    try:
        found = find_class(ast.parse(module_source), ref.qualname)
    except SyntaxError:
        return ()
    if found is None:
        return ()
    defined = [n.name for n in found.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]
    shares = {
        f.function.qualname.rpartition(".")[2]: f.share
        for f in profile.functions
        if f.function.module == ref.module
        and f.function.qualname.rpartition(".")[0] == ref.qualname
        and f.share > 0
    }
    hot = sorted((m for m in dict.fromkeys(defined) if m in shares), key=lambda m: -shares[m])
    if hot:
        return tuple((m, shares[m]) for m in hot)
    called = {step.method for history in capture.histories for step in history.steps}
    return tuple((m, 0.0) for m in dict.fromkeys(defined) if m in called)


def history_shape(history: ObjectHistory) -> str:
    """One recorded instance for a prompt: its constructor, then how many calls of which
    method, each with its first call: `Tally('t0'), then 9 method calls: .feed(b'...') x4,
    .ratio()`."""
    first: dict[str, str] = {}
    counts: dict[str, int] = {}
    for step in history.steps:
        first.setdefault(step.method, step.call_repr)
        counts[step.method] = counts.get(step.method, 0) + 1
    calls = ", ".join(
        f"{_short(first[m])}" + (f" x{counts[m]}" if counts[m] > 1 else "") for m in first
    )
    many = "call" if len(history.steps) == 1 else "calls"
    return f"{_short(history.constructor_repr)}, then {len(history.steps)} method {many}: {calls}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 4] + "...)"


def class_context(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    methods: Methods,
    tried: Sequence[CandidateResult],
    request: str = "",
) -> TargetContext:
    """What a round proposer (an LLM, a command) is told about a whole class: as about a
    function (`target_context`), with the class's hot methods and its recorded histories'
    shapes instead of a function's types, calls and hot lines."""
    about = target_context(context, ref, share, source, capture, None, tried, request)
    return replace(
        about,
        whole_class=True,
        hot_methods=tuple(m for m in methods if m[1] > 0),
        sample_calls=tuple(history_shape(h) for h in capture.histories[:3]),
        parameter_types=(),
        return_types=(),
    )


def optimize_class_target(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    methods: Methods,
) -> TargetResult:
    """Propose, gate, verify and measure whole-class candidates built from rewrites of
    `methods` and from the round proposers; pick the best (see the module docstring)."""
    recorded = len(capture.histories)
    if not capture.histories:
        why = capture.problem or (
            f"the workload made no instance of {ref.qualname} that a method was called on"
        )
        return TargetResult(ref, share, TargetStatus.UNVERIFIABLE, why, 0, whole_class=True)
    path, module_source = source
    limits = candidate_limits(context)
    indexing = " (running the project's tests once)" if context.verification.indexes_tests() else ""
    context.progress(Detail(f"{ref}: preparing its verification{indexing}"))
    plan = context.verification.plan(ref, path, module_source, capture, limits, whole_class=True)
    steps: dict[str, tuple[_Step, ...]] = {}  # candidate_id -> the method rewrites in it
    proposed = []
    for method, _share in methods:
        method_ref = FunctionRef(ref.module, f"{ref.qualname}.{method}")
        for candidate in offered_candidates(context, method_ref, path, module_source, ref):
            step = _Step(method, candidate.origin, candidate.rationale)
            whole = _class_candidate(ref, candidate.module_source, path, (step,))
            steps[whole.candidate_id] = (step,)
            proposed.append(whole)
    seen: set[str] = set()

    def self_check(progress: Progress) -> object:
        if context.budget.spent():
            return None
        announce_self_check(context, ref, progress)
        return context.verification.strength(plan, limits)

    tried = evaluate_candidates(
        context, proposed, module_source, capture, limits, seen, plan, beside=self_check
    )
    tried += _combined(context, ref, path, module_source, capture, tried, steps, seen, plan)
    tried += round_candidates(
        context,
        ref,
        tried,
        lambda done: class_context(context, ref, share, source, capture, methods, done),
        lambda c: evaluate_candidate(context, c, module_source, capture, limits, seen, plan),
    )
    notes = list(context.store.proposer_problems(context.run_id, ref))
    if not methods:
        notes.append(f"no method of {ref.qualname} took time in the profile or was called")
    strength = None
    if any(r.gate.passed for r in tried):
        announce_self_check(context, ref, context.progress)
        strength = context.verification.strength(plan, limits)
    best = select_best(ref, share, recorded, tried, tuple(notes))
    return replace(
        best,
        strength=strength,
        original_source=class_source(module_source, ref.qualname),
        whole_class=True,
    )


def _class_candidate(
    ref: FunctionRef, module_source: str, path: str, parts: tuple[_Step, ...]
) -> Candidate:
    """The class in `module_source` as a candidate for the whole class: its origin and
    rationale say which method got which rules."""
    return Candidate(
        function=ref,
        origin="class:" + "+".join(f"{p.method}/{p.origin}" for p in parts),
        rationale="; ".join(f"{ref.qualname}.{p.method}: {p.rationale.rstrip('.')}" for p in parts),
        module_source=module_source,
        function_source=class_source(module_source, ref.qualname),
        path=path,
    )


def _with_steps(
    ref: FunctionRef, path: str, module_source: str, steps: tuple[_Step, ...]
) -> str | None:
    """`module_source` with each step's rules applied to its method; None if one no
    longer fires."""
    source = module_source
    for step in steps:
        method_ref = FunctionRef(ref.module, f"{ref.qualname}.{step.method}")
        made = combine_rules(method_ref, path, source, step.rule_ids)
        if made is None:
            return None
        source = made.module_source
    return source


def _combined(
    context: Context,
    ref: FunctionRef,
    path: str,
    module_source: str,
    capture: TargetCapture,
    tried: list[CandidateResult],
    steps: dict[str, tuple[_Step, ...]],
    seen: set[str],
    plan: TargetPlan,
) -> list[CandidateResult]:
    """The verified rewrites of the class's methods combined, greedily as a function's rules
    are: each other one's rules applied on top of the best class so far."""
    singles = [
        r
        for r in tried
        if verified(r)
        and r.candidate.candidate_id in steps
        and all(s.origin.startswith(_RULE_ORIGINS) for s in steps[r.candidate.candidate_id])
        and not (r.measurement and r.measurement.learns)
    ]
    limits = candidate_limits(context)

    def combine(best: Candidate, single: Candidate) -> Candidate | None:
        adding = steps[single.candidate_id]
        source = _with_steps(ref, path, best.module_source, adding)
        if source is None:
            return None
        parts = (*steps[best.candidate_id], *adding)
        candidate = _class_candidate(ref, source, path, parts)
        steps[candidate.candidate_id] = parts
        return candidate

    def evaluate(candidate: Candidate) -> CandidateResult:
        return evaluate_candidate(context, candidate, module_source, capture, limits, seen, plan)

    return greedy_combinations(singles, combine, evaluate, more=lambda: not context.budget.spent())
