"""A person in the loop (`optimize --interactive`), after verification and measurement.

For each target the person sees the verified candidates (the reviewer shows them) and
accepts one, rejects some, edits one (the edit goes through the same gate,
verification and measurement as any candidate before it can be accepted; a failing
edit comes back with its counterexample), asks the LLM proposer for more with a hint,
or keeps the original. Every decision is written to the run store the moment it is
made; a target's finished review is a checkpoint of the run, so Ctrl-C loses no
reviewed target and `perfloop resume RUN_ID` asks only about the rest. Nothing is
written to the project here: the accepted candidates become the targets' best, and
the run applies them afterwards as `--apply` does.
"""

from __future__ import annotations

import ast
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from functools import partial
from typing import Protocol

from perfloop.gate import normalised_hash
from perfloop.model import CandidateResult, FunctionRef, LineProfile, TargetCapture
from perfloop.outside.candidate import CandidateError, Target, splice_candidate
from perfloop.outside.counterexample import counterexample_for
from perfloop.outside.whole_class import splice_class_candidate
from perfloop.pipeline.candidates import evaluate_candidate, target_context, verified
from perfloop.pipeline.context import Context, candidate_limits
from perfloop.pipeline.whole_class import Methods, class_context
from perfloop.propose.rounds import run_rounds
from perfloop.report.summary import decision_text
from perfloop.results import (
    Counterexample,
    ReviewAction,
    ReviewDecision,
    TargetResult,
    TargetStatus,
)
from perfloop.verification import TargetPlan

NO_LLM = (
    "no LLM proposer is configured for this run, so there is no one to send a hint to; "
    "start the run with --llm (e.g. --llm local, or --llm openai:MODEL) to ask for more"
)


@dataclass(frozen=True)
class Request:
    """What the person asked for: an action, the listed candidate's number (1-based) for
    accept, reject and edit, and the hint's text for asking for more."""

    action: ReviewAction
    number: int | None = None
    text: str = ""


@dataclass(frozen=True)
class TargetView:
    """One target as the person sees it: `listed` are its verified candidates not yet
    rejected, then its edits that failed (to edit again or reject)."""

    target: TargetResult
    number: int
    total: int
    listed: tuple[CandidateResult, ...]
    threshold: float
    llm: bool  # a proposer that takes hints is configured
    module_source: str  # the target's module as the workload ran it, to diff against


class Reviewer(Protocol):
    """The person's side: a terminal (perfloop.cli.interactive) or a test's stand-in.

    `choose` and `edit` may raise KeyboardInterrupt or EOFError: the run stops, keeping
    every decision made so far and writing nothing to the project."""

    def choose(self, view: TargetView) -> Request: ...

    def edit(self, result: CandidateResult) -> str | None:
        """The edited function's source, or None when the person left it unchanged."""
        ...

    def show(self, result: CandidateResult, counterexample: Counterexample | None) -> None:
        """What came of an edit or of a hinted proposal."""
        ...

    def tell(self, message: str) -> None: ...


@dataclass(frozen=True)
class _Target:
    """What reviewing one target needs besides the Context."""

    result: TargetResult
    source: tuple[str, str]  # its file, relative to the root, and that file's source
    capture: TargetCapture
    lines: LineProfile | None
    number: int
    total: int
    methods: Methods = ()  # a whole class's hot methods and their shares


def review_targets(
    context: Context,
    results: Sequence[TargetResult],
    sources: dict[FunctionRef, tuple[str, str]],
    captures: dict[FunctionRef, TargetCapture],
    lines: dict[FunctionRef, LineProfile],
    reviewer: Reviewer,
    methods: Mapping[FunctionRef, Methods] | None = None,
) -> list[TargetResult]:
    """Each reviewable target as the person left it: the accepted candidate as its best."""
    reviewable = [
        r for r in results if r.status in (TargetStatus.IMPROVED, TargetStatus.NO_FASTER_CANDIDATE)
    ]
    reviewed = []
    for result in results:
        if result not in reviewable:
            reviewed.append(result)
            continue
        ref = result.function
        target = _Target(
            result,
            sources[ref],
            captures[ref],
            lines.get(ref),
            len(reviewed) + 1,
            len(results),
            (methods or {}).get(ref, ()),
        )
        # the stage under an edit's or a hint's verification, not the last target computed
        context.progress(f"Reviewing target {target.number} of {target.total}: {ref}")
        done = context.checkpoints.step(
            f"review:{ref}", partial(_review_target, context, target, reviewer)
        )
        context.store.save_target_result(context.run_id, done)
        reviewed.append(done)
    return reviewed


def _review_target(context: Context, target: _Target, reviewer: Reviewer) -> TargetResult:
    tried = [*target.result.candidates, *added_in_review(context.checkpoints.done, target.result)]
    earlier = [
        d for d in context.store.decisions(context.run_id) if d.function == target.result.function
    ]
    rejected = {d.candidate_id for d in earlier if d.action is ReviewAction.REJECTED}
    if earlier:  # the run stopped inside this target's review: what was decided holds
        reviewer.tell(
            f"{target.result.function}: decided before the run stopped, kept: "
            + "; ".join(decision_text(d) for d in earlier)
        )
    final = next((d for d in earlier if d.action in _FINAL), None)
    if final is not None and final.action is ReviewAction.KEPT_ORIGINAL:
        return _kept_original(target.result, tried)  # stopped before its checkpoint
    if final is not None:
        ids = {r.candidate.candidate_id: r for r in tried}
        if final.candidate_id in ids:
            return _accepted(context, target, ids[final.candidate_id], tried)
    while True:
        listed = tuple(r for r in _listed(tried) if r.candidate.candidate_id not in rejected)
        view = TargetView(
            replace(target.result, candidates=tuple(tried)),
            target.number,
            target.total,
            listed,
            context.settings.min_speedup,
            bool(context.round_proposers),
            target.source[1],
        )
        request = reviewer.choose(view)
        if request.action is ReviewAction.KEPT_ORIGINAL:
            _record(context, target, ReviewAction.KEPT_ORIGINAL)
            return _kept_original(target.result, tried)
        if request.action is ReviewAction.HINTED:
            tried += _ask_for_more(context, target, reviewer, tried, request.text)
            continue
        if request.number is None or not 1 <= request.number <= len(listed):
            reviewer.tell(
                f"there is no candidate {request.number}; the numbers are 1 to {len(listed)}"
            )
            continue
        chosen = listed[request.number - 1]
        if request.action is ReviewAction.ACCEPTED:
            problem = _why_not_acceptable(chosen)
            if problem is not None:
                reviewer.tell(problem)
                continue
            _record(context, target, ReviewAction.ACCEPTED, chosen)
            return _accepted(context, target, chosen, tried)
        if request.action is ReviewAction.REJECTED:
            rejected.add(chosen.candidate.candidate_id)
            _record(context, target, ReviewAction.REJECTED, chosen)
        elif request.action is ReviewAction.EDITED:
            edited = _edit(context, target, reviewer, chosen, tried)
            tried += [edited] if edited is not None else []


_FINAL = (ReviewAction.ACCEPTED, ReviewAction.KEPT_ORIGINAL)


def added_in_review(done: Mapping[str, object], target: TargetResult) -> list[CandidateResult]:
    """The candidates a review added to `target` (a person's edits, a hint's proposals),
    verified and measured, from the run's completed steps `done`: everything
    evaluate_candidate checkpointed for the function that the target stage did not try."""
    known = {r.candidate.candidate_id for r in target.candidates}
    prefix = f"candidate:{target.function}:"
    return [
        value
        for step, value in done.items()
        if step.startswith(prefix)
        and isinstance(value, CandidateResult)
        and value.candidate.candidate_id not in known
    ]


def _listed(tried: Sequence[CandidateResult]) -> list[CandidateResult]:
    """The verified candidates, fastest first, then the person's edits that did not verify."""

    def ratio(result: CandidateResult) -> float:
        speedup = result.measurement.speedup if result.measurement else None
        return speedup.ratio if speedup else 0.0

    good = sorted((r for r in tried if verified(r)), key=ratio, reverse=True)
    failed_edits = [r for r in tried if r.candidate.origin.startswith("edit:") and not verified(r)]
    return [*good, *failed_edits]


def _why_not_acceptable(result: CandidateResult) -> str | None:
    if not verified(result):
        return (
            "this edit did not pass verification, so it cannot be accepted: edit it again "
            "or reject it"
        )
    if result.measurement is None or not result.measurement.improved:
        return (
            "this candidate behaves the same but was not measured faster beyond the threshold "
            "(see its speedup), and perfloop applies only faster versions: accept another, "
            "edit it, or keep the original"
        )
    return None


def _accepted(
    context: Context, target: _Target, chosen: CandidateResult, tried: list[CandidateResult]
) -> TargetResult:
    strength = target.result.strength
    plan = context.verification.plan_of(target.result.function)
    if strength is None and plan is not None:  # no candidate had passed the gate before
        strength = context.verification.strength(plan, candidate_limits(context))
    return replace(
        target.result,
        status=TargetStatus.IMPROVED,
        reason=None,
        candidates=tuple(tried),
        best=chosen,
        strength=strength,
    )


def _kept_original(result: TargetResult, tried: list[CandidateResult]) -> TargetResult:
    if result.status is TargetStatus.IMPROVED:
        return replace(
            result,
            status=TargetStatus.NO_FASTER_CANDIDATE,
            reason="kept as it was: the person reviewing accepted none of its candidates",
            candidates=tuple(tried),
            best=None,
        )
    return replace(result, candidates=tuple(tried))


def _edit(
    context: Context,
    target: _Target,
    reviewer: Reviewer,
    base: CandidateResult,
    tried: Sequence[CandidateResult],
) -> CandidateResult | None:
    """The person's version of `base`, gated, verified and measured like any candidate."""
    text = reviewer.edit(base)
    if text is None:
        reviewer.tell("the candidate was left unchanged; nothing new to verify")
        return None
    ref, (path, module_source) = target.result.function, target.source
    origin = "edit:" + base.candidate.origin.removeprefix("edit:")
    splice = splice_class_candidate if target.result.whole_class else splice_candidate
    try:
        candidate = splice(Target(ref, path, module_source), text, origin)
    except CandidateError as exc:
        reviewer.tell(f"{exc}; edit it again")
        _record(context, target, ReviewAction.EDITED, base, outcome=f"not usable: {exc}")
        return None
    candidate = replace(candidate, rationale=f"edited by a person from {base.candidate.origin}")
    seen = {_fingerprint(r.candidate.module_source) for r in tried}
    limits = candidate_limits(context)
    plan = _class_plan(context, target.result, target.source, target.capture)
    result = evaluate_candidate(
        context, candidate, module_source, target.capture, limits, seen, plan
    )
    counterexample = None
    if result.verdict is not None and result.verdict.difference is not None:
        counterexample = counterexample_for(
            result.verdict,
            () if target.result.whole_class else target.capture.records,
            ref,
            context.root / path,
            module_source,
            root=context.root,
            run_id=context.run_id,
            policy=context.policy,
        )
    reviewer.show(result, counterexample)
    outcome = candidate_outcome(result, context.settings.min_speedup)
    _record(context, target, ReviewAction.EDITED, base, candidate.candidate_id, outcome)
    return result


def _ask_for_more(
    context: Context,
    target: _Target,
    reviewer: Reviewer,
    tried: Sequence[CandidateResult],
    hint: str,
) -> list[CandidateResult]:
    """The LLM proposer's rounds again, with the person's hint in every prompt."""
    if not context.round_proposers:
        reviewer.tell(NO_LLM)
        _record(context, target, ReviewAction.HINTED, text=hint, outcome="no LLM configured")
        return []
    new = propose_with_hint(
        context,
        target.result,
        target.source,
        target.capture,
        target.lines,
        tried,
        hint,
        target.methods,
    )
    for found in new:
        reviewer.show(found, None)
    outcome = hint_outcome(new)
    reviewer.tell(outcome)
    _record(context, target, ReviewAction.HINTED, text=hint, outcome=outcome)
    return new


def propose_with_hint(
    context: Context,
    target: TargetResult,
    source: tuple[str, str],
    capture: TargetCapture,
    lines: LineProfile | None,
    tried: Sequence[CandidateResult],
    hint: str,
    methods: Methods = (),
) -> list[CandidateResult]:
    """The round proposers' (an LLM's) rounds again for `target`, with `hint` in every
    prompt; each new candidate gated, verified and measured like any other (and kept as a
    step of the run, so a resumed or later review finds it: added_in_review). A whole
    class is asked about as optimize asks (`class_context`, with its hot `methods`)."""
    ref, (_, module_source) = target.function, source
    if target.whole_class:
        about = class_context(context, ref, target.share, source, capture, methods, tried, hint)
    else:
        about = target_context(context, ref, target.share, source, capture, lines, tried, hint)
    seen = {_fingerprint(r.candidate.module_source) for r in tried}
    limits = candidate_limits(context)
    plan = _class_plan(context, target, source, capture)

    def evaluate(candidate):  # type: ignore[no-untyped-def]
        return evaluate_candidate(context, candidate, module_source, capture, limits, seen, plan)

    return [
        r for proposer in context.round_proposers for r in run_rounds(proposer, about, evaluate)
    ]


def _class_plan(
    context: Context, target: TargetResult, source: tuple[str, str], capture: TargetCapture
) -> TargetPlan | None:
    """A whole class's verification plan (the one optimize prepared, or prepared now for a
    result from the cache); None for a function, whose plan evaluate_candidate finds."""
    if not target.whole_class:
        return None
    path, module_source = source
    limits = candidate_limits(context)
    return context.verification.plan(
        target.function, path, module_source, capture, limits, whole_class=True
    )


def hint_outcome(new: Sequence[CandidateResult]) -> str:
    """`2 new candidates, 1 verified`: what came of a hint, for the person and the store."""
    good = sum(1 for r in new if verified(r))
    return f"{len(new)} new candidate{'s' if len(new) != 1 else ''}, {good} verified"


def candidate_outcome(result: CandidateResult, threshold: float) -> str:
    """What came of an edit, in a few words, for the store and the report."""
    if not result.gate.passed:
        return f"refused before running: {result.gate.reason}"
    verdict = result.verdict
    if verdict is None or not verified(result):
        if verdict is not None and verdict.difference is not None:
            difference = verdict.difference
            return f"behaved differently ({difference.tier}): {difference.description}"
        return f"not verified: {verdict.reason if verdict else 'not checked'}"
    speedup = result.measurement.speedup if result.measurement else None
    if speedup is None:
        return "verified; not measured"
    faster = "faster" if result.measurement and result.measurement.improved else "not faster"
    return f"verified, {faster}: {speedup.ratio:.2f}x [{speedup.ci_low:.2f}, {speedup.ci_high:.2f}]"


def _record(
    context: Context,
    target: _Target,
    action: ReviewAction,
    about: CandidateResult | None = None,
    outcome_id: str | None = None,
    outcome: str = "",
    text: str = "",
) -> None:
    candidate = about.candidate if about is not None else None
    context.store.save_decision(
        context.run_id,
        ReviewDecision(
            target.result.function,
            action,
            candidate.candidate_id if candidate else None,
            candidate.origin if candidate else None,
            outcome_id,
            outcome,
            text,
        ),
    )


def _fingerprint(module_source: str) -> str:
    try:
        return normalised_hash(ast.parse(module_source))
    except (SyntaxError, ValueError):
        return module_source
