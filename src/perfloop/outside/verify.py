"""`perfloop verify`: does a rewrite from outside behave exactly like the original?"""

from __future__ import annotations

from perfloop.config import Settings
from perfloop.gate import added_cache, gate_candidate, gate_on_calls
from perfloop.model import (
    CandidateResult,
    FunctionRef,
    Verdict,
    VerdictStatus,
    VerificationStrength,
)
from perfloop.outside.calls import Progress, describe_source, get_calls, quiet, recorded_run
from perfloop.outside.candidate import CandidateSpec, build_candidate, read_target
from perfloop.outside.judge import judge, new_verification, verify_settings
from perfloop.outside.whole_class import (
    build_class_candidate,
    gate_class,
    history_notes,
    judge_class,
    read_class_target,
)
from perfloop.progress import tier_progress
from perfloop.project import Project
from perfloop.report.json import render as render_json
from perfloop.report.verification import strength_text
from perfloop.results import Decision, VerifyResult, decision_for
from perfloop.verification import VerifySettings


def verify_outside(
    settings: Settings,
    target: str,
    spec: CandidateSpec,
    run: str | None = None,
    progress: Progress = quiet,
    engine: VerifySettings | None = None,
) -> VerifyResult:
    """Gate, then judge the candidate on the workload's calls (or run `run`'s); recorded as a run.

    `engine` chooses the verification tiers and budgets (default: all, as configured).
    """
    project = Project(settings.root.resolve())
    ref = FunctionRef.parse(target)
    whole_class = project.defines_class(ref)
    if whole_class:
        found = read_class_target(project, ref)
        candidate, notes = build_class_candidate(project, found, spec), ()
        gate = gate_class(candidate, found, project)
    else:
        found = read_target(project, ref)
        candidate, notes = build_candidate(project, found, spec)
        gate = gate_candidate(candidate, found.source, set(), project.top_level_modules())
    verification = new_verification(project.root, settings, engine or verify_settings(settings))
    with recorded_run(project.root, describe_source(settings, run)) as (store, run_id):
        progress(f"Recording calls of {found.function}" if run is None else "Loading calls")
        capture = get_calls(settings, store, found.function, run)
        store.save_capture(run_id, capture)
        if not whole_class:  # a cache's soundness needs the recorded calls' types
            gate = gate_on_calls(gate, candidate, found.source, capture)
            cache = added_cache(candidate, found.source)
            if gate.passed and cache is not None:
                notes = (*notes, _CACHE_NOTE.format(cache=cache))
        verdict = counterexample = strength = None
        weak = False
        if gate.passed:
            recorded = (
                f"{len(capture.histories)} recorded instance histories"
                if whole_class
                else f"{len(capture.records)} recorded calls"
            )
            doing = f"Verifying on {recorded} and beyond"
            # indexing a large suite takes minutes (networkx 3.6.1's: 8 of verify's 9.6)
            indexing = ": running the project's tests once" if verification.indexes_tests() else ""
            progress(f"{doing}{indexing}")
            judgement = (judge_class if whole_class else judge)(
                candidate,
                found.source,
                capture,
                verification=verification,
                settings=settings,
                run_id=run_id,
                on_tier=tier_progress(progress, doing),
            )
            verdict, counterexample = judgement.verdict, judgement.counterexample
            strength, weak = judgement.strength, judgement.weak
        if whole_class:
            notes = history_notes(capture, verdict)
        decision = decision_for(gate, verdict, weak)
        result = VerifyResult(
            run_id=run_id,
            function=found.function,
            candidate=candidate,
            gate=gate,
            verdict=verdict,
            decision=decision,
            reason=_reason(decision, gate.reason, verdict, strength),
            calls_seen=capture.calls_seen,
            calls_recorded=capture.calls_seen if whole_class else len(capture.records),
            strength=strength,
            counterexample=counterexample,
            notes=(*notes, *verification.tests_notes()),
        )
        store.save_candidate_result(run_id, CandidateResult(candidate, gate, verdict))
        store.finish_run(result, render_json(result))
    return result


_CACHE_NOTE = (
    "the candidate adds @{cache}: admitted because the function depends on nothing but its "
    "arguments and changes nothing (as far as its code shows), and its recorded arguments are "
    "plain values and its results immutable; the tiers compared the undecorated function, "
    "and `perfloop bench` times it through the cache, judged on the whole workload"
)


def _reason(
    decision: Decision,
    gate_reason: str | None,
    verdict: Verdict | None,
    strength: VerificationStrength | None,
) -> str:
    """One sentence a user reads first."""
    if gate_reason is not None:
        return gate_reason
    assert verdict is not None
    if decision is Decision.EQUIVALENT:
        return f"the same behaviour on everything tried ({', '.join(verdict.tiers)})"
    if decision is Decision.UNDECIDED:
        if verdict.status is VerdictStatus.EQUIVALENT:
            if strength is None or strength.score is None:
                why = strength_text(strength, verdict)
                return f"the same on everything tried, but weakly verified: {why}"
            # the strength line below gives the survivors; said once here, briefly
            return (
                f"the same on everything tried ({', '.join(verdict.tiers)}), but weakly "
                f"verified: {strength.killed} of {strength.generated} mutants of the original "
                f"told apart ({strength.score:.0%}, threshold {strength.threshold:.0%})"
            )
        return verdict.reason or "could not decide"
    if verdict.difference is not None:
        return f"behaves differently: {verdict.difference.description}"
    return f"the candidate failed where the original did not: {verdict.reason}"
