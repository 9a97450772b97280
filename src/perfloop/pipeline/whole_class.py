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

Not yet: the LLM proposers are not asked about whole classes (a note says so), and a
class's result is not kept in the result cache.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace

from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    Profile,
    TargetCapture,
    verified,
)
from perfloop.outside.whole_class import class_source
from perfloop.pipeline.candidates import (
    evaluate_candidate,
    evaluate_candidates,
    greedy_combinations,
    offered_candidates,
    select_best,
)
from perfloop.pipeline.context import Context, candidate_limits
from perfloop.progress import Detail
from perfloop.propose import combine_rules
from perfloop.qualnames import find_class
from perfloop.results import CacheState, CacheUse, TargetResult, TargetStatus
from perfloop.verification import TargetPlan

NOT_CACHED = CacheUse(
    CacheState.OFF, "a whole class as the target is not kept in the result cache yet"
)
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
) -> tuple[str, ...]:
    """The methods the class body defines that the profile gives time to, hottest first;
    if it gives none of them time, the ones the workload called on the instances followed."""
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
        return tuple(hot)
    called = {step.method for history in capture.histories for step in history.steps}
    return tuple(m for m in dict.fromkeys(defined) if m in called)


def class_target_result(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    methods: tuple[str, ...],
) -> TargetResult:
    """`optimize_class_target`'s result, marked as not from the result cache."""
    return replace(
        optimize_class_target(context, ref, share, source, capture, methods), cache=NOT_CACHED
    )


def optimize_class_target(
    context: Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    methods: tuple[str, ...],
) -> TargetResult:
    """Propose, gate, verify and measure whole-class candidates built from rewrites of
    `methods`; pick the best (see the module docstring)."""
    recorded = len(capture.histories)
    if not capture.histories:
        why = capture.problem or (
            f"the workload made no instance of {ref.qualname} that a method was called on"
        )
        return TargetResult(ref, share, TargetStatus.UNVERIFIABLE, why, 0)
    path, module_source = source
    limits = candidate_limits(context)
    indexing = " (running the project's tests once)" if context.verification.indexes_tests() else ""
    context.progress(Detail(f"{ref}: preparing its verification{indexing}"))
    plan = context.verification.plan(ref, path, module_source, capture, limits, whole_class=True)
    steps: dict[str, tuple[_Step, ...]] = {}  # candidate_id -> the method rewrites in it
    proposed = []
    for method in methods:
        method_ref = FunctionRef(ref.module, f"{ref.qualname}.{method}")
        for candidate in offered_candidates(context, method_ref, path, module_source, ref):
            step = _Step(method, candidate.origin, candidate.rationale)
            whole = _class_candidate(ref, candidate.module_source, path, (step,))
            steps[whole.candidate_id] = (step,)
            proposed.append(whole)
    seen: set[str] = set()

    def self_check() -> object:
        return None if context.budget.spent() else context.verification.strength(plan, limits)

    tried = evaluate_candidates(
        context, proposed, module_source, capture, limits, seen, plan, beside=self_check
    )
    tried += _combined(context, ref, path, module_source, capture, tried, steps, seen, plan)
    notes = []
    if context.round_proposers:
        notes.append(
            "the LLM and --proposer-cmd were not asked: they are not given a whole class as "
            "the target yet (name one of its methods to give it to them); the candidates "
            "are the rules' rewrites of its hot methods"
        )
    if not methods:
        notes.append(f"no method of {ref.qualname} took time in the profile or was called")
    strength = None
    if any(r.gate.passed for r in tried):
        if not context.verification.knows_strength(ref):
            context.progress(Detail(f"{ref}: checking how strong its verification is (mutants)"))
        strength = context.verification.strength(plan, limits)
    best = select_best(ref, share, recorded, tried, tuple(notes))
    return replace(
        best, strength=strength, original_source=class_source(module_source, ref.qualname)
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
