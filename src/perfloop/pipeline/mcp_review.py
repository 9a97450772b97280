"""`optimize --interactive` for agents (the MCP tools `optimize`, `review`, `decide`).

An agent cannot sit at a prompt while a run waits, so the review happens after the run:
`review` shows a finished optimize run's targets with their verified candidates (diff,
speedup with its interval, the tiers' evidence), and `decide` takes one decision at a
time on that run: reject a candidate, keep the original, submit an edit (verified and
timed on the run's recorded calls, as `verify` and `bench` do), or accept a candidate
or a verified edit, which is then written with `apply`'s checks (verified again, atomic,
confirmed with the workload, undone if the workload fails or its output changes). Every
decision goes into the run store beside the person's (`review_decisions`), where
`perfloop show RUN_ID` lists them. An agent can also ask perfloop's LLM proposer for
more with a free-text hint (`m HINT` at the terminal), when the server or the run has a
model configured: the new candidates are verified and measured on the run's recorded
calls and then offered by `review` and accepted like the others.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from perfloop.config import ConfigError, Settings
from perfloop.llm.proposer import proposers_for
from perfloop.model import Candidate, CandidateResult, FunctionRef, Profile, RunId, VerdictStatus
from perfloop.outside.apply import apply_outside
from perfloop.outside.bench import bench_outside
from perfloop.outside.candidate import CandidateSpec, read_target
from perfloop.outside.verify import verify_outside
from perfloop.patch import FileChange, unified_diff
from perfloop.pipeline.review import (
    added_in_review,
    candidate_outcome,
    hint_outcome,
    propose_with_hint,
)
from perfloop.pipeline.run import run_context
from perfloop.pipeline.targets import with_imports
from perfloop.project import Project
from perfloop.propose.rounds import RoundProposer
from perfloop.report.json import bench_document, verify_document
from perfloop.report.summary import decision_text
from perfloop.report.verification import tiers_text
from perfloop.results import (
    Decision,
    ReviewAction,
    ReviewDecision,
    RunResult,
    TargetResult,
)
from perfloop.store.checkpoints import SETTINGS_STEP, SOURCES_STEP, Checkpoints
from perfloop.store.runs import RunStore

Document = dict[str, Any]
ACTIONS = ("accept", "reject", "edit", "keep", "hint")


def _store(settings: Settings) -> RunStore:
    return RunStore(settings.root.resolve() / ".perfloop" / "perfloop.db")


def load_run(settings: Settings, run_id: str) -> RunResult:
    """The finished optimize run `run_id`; ConfigError that says what to do otherwise."""
    store = _store(settings)
    try:
        result = store.load_result(RunId(run_id))
    finally:
        store.close()
    if not isinstance(result, RunResult):
        raise ConfigError(
            f"no finished optimize run {run_id!r} in this project: call the `optimize` tool "
            "first and pass the run_id it returns (`perfloop runs` lists the runs)"
        )
    return result


def review_document(
    result: RunResult, decisions: list[ReviewDecision], done: Mapping[str, object] | None = None
) -> Document:
    """Each target's verified candidates, with what an agent needs to decide; with the
    run's completed steps `done`, also those its review added (edits, hints)."""
    root = Project(Path(result.root))
    targets = [_with_review(target, done or {}) for target in result.targets]
    return {
        "run_id": result.run_id,
        "targets": [_target(root, target) for target in targets],
        "decisions": [
            {"function": str(d.function), "action": d.action.value, "text": decision_text(d)}
            for d in decisions
        ],
    }


def run_review(settings: Settings, run_id: str) -> Document:
    result = load_run(settings, run_id)
    store = _store(settings)
    try:
        return review_document(result, store.decisions(RunId(run_id)), store.steps(RunId(run_id)))
    finally:
        store.close()


def _with_review(target: TargetResult, done: Mapping[str, object]) -> TargetResult:
    return replace(target, candidates=(*target.candidates, *added_in_review(done, target)))


def _target(project: Project, target: TargetResult) -> Document:
    listed = [c for c in target.candidates if _verified(c)]
    return {
        "function": str(target.function),
        "share": target.share,
        "status": target.status.value,
        "reason": target.reason,
        "strength": target.strength.score if target.strength else None,
        "weakly_verified": target.weakly_verified,
        "candidates": [_candidate(project, target, c) for c in listed],
    }


def _candidate(project: Project, target: TargetResult, result: CandidateResult) -> Document:
    candidate = result.candidate
    speedup = result.measurement.speedup if result.measurement else None
    original = _original_module(project, candidate.path)
    return {
        "candidate_id": candidate.candidate_id,
        "origin": candidate.origin,
        "verified": _verified(result),
        # why it is not offered (refused, different, not verified), as the store says it
        "problem": None if _verified(result) else candidate_outcome(result, 1.0),
        "faster": bool(result.measurement and result.measurement.improved),
        "speedup": speedup.ratio if speedup else None,
        "ci": [speedup.ci_low, speedup.ci_high] if speedup else None,
        "evidence": tiers_text(result.verdict) if result.verdict else None,
        "function_source": candidate.function_source,
        "diff": unified_diff([FileChange(candidate.path, original, candidate.module_source)])
        if original is not None
        else None,
    }


def _original_module(project: Project, path: str) -> str | None:
    try:
        return (project.root / path).read_text(encoding="utf-8")
    except OSError:
        return None


def _verified(result: CandidateResult) -> bool:
    return bool(result.verdict and result.verdict.status is VerdictStatus.EQUIVALENT)


def decide(
    settings: Settings,
    run_id: str,
    target: str,
    action: str,
    candidate_id: str | None = None,
    candidate_source: str | None = None,
    text: str | None = None,
    llm: Mapping[str, Any] | None = None,
) -> Document:
    """One decision on run `run_id`'s target, recorded; what came of it as a document.
    `llm`: settings (--llm and the like) that override the run's for a hint."""
    if action not in ACTIONS:
        raise ConfigError(f"action must be one of {', '.join(ACTIONS)}, not {action!r}")
    result = load_run(settings, run_id)
    function = FunctionRef.parse(target)
    found = next((t for t in result.targets if t.function == function), None)
    if found is None:
        names = ", ".join(str(t.function) for t in result.targets)
        raise ConfigError(f"run {run_id} has no target {target}; its targets: {names}")
    store = _store(settings)
    try:
        done = store.steps(RunId(run_id))
    finally:
        store.close()
    found = _with_review(found, done)
    if action == "hint":
        return _hint(settings, run_id, found, done, text or "", llm or {})
    chosen = _chosen(found, candidate_id) if candidate_id is not None else None
    if action == "keep":
        return _recorded(settings, run_id, ReviewDecision(function, ReviewAction.KEPT_ORIGINAL))
    if action == "reject":
        if chosen is None:
            raise ConfigError("reject needs the candidate_id of one of the target's candidates")
        decision = ReviewDecision(
            function, ReviewAction.REJECTED, chosen.candidate_id, chosen.origin
        )
        return _recorded(settings, run_id, decision)
    if action == "edit":
        return _edit(settings, run_id, function, chosen, candidate_source)
    return _accept(settings, run_id, function, found, chosen, candidate_source)


NO_LLM = (
    "no LLM proposer is configured for this run or this server, so there is no model to send "
    "a hint to: start the server with one (perfloop mcp --llm openai:MODEL --llm-base-url URL, "
    "or --llm local), or set llm in [tool.perfloop]; or write the version you have in mind "
    "and submit it with action edit"
)


def _hint(
    settings: Settings,
    run_id: str,
    target: TargetResult,
    done: Mapping[str, object],
    text: str,
    llm: Mapping[str, Any],
) -> Document:
    """The LLM proposer's rounds again on `target` with the agent's hint in its prompt."""
    if not text.strip():
        raise ConfigError(
            "hint needs text: what you would like the model to try, e.g. "
            "'use a set for the lookups'"
        )
    ran = done.get(SETTINGS_STEP)
    if not isinstance(ran, Settings):
        raise ConfigError(f"run {run_id} has no recorded settings; start a new optimize run")
    root = settings.root.resolve()
    given = {name: value for name, value in llm.items() if value is not None}
    run_settings = replace(ran, root=root, **given)
    proposers = proposers_for(run_settings)  # ConfigError for a model that cannot be used
    if not any(isinstance(p, RoundProposer) for p in proposers):
        raise ConfigError(NO_LLM)
    function = target.function
    store = _store(settings)
    try:
        capture = store.load_capture(RunId(run_id), str(function))
        sources = done.get(SOURCES_STEP)
        profile = done.get("profile")
        if capture is None or not isinstance(sources, dict) or not isinstance(profile, Profile):
            raise ConfigError(
                f"run {run_id} no longer has the recorded calls of {function}; start a new "
                "optimize run"
            )
        checkpoints = Checkpoints(store, RunId(run_id), dict(done))
        context = run_context(run_settings, Project(root), checkpoints, proposers=proposers)
        context = with_imports(context, profile)
        lines = done.get("lines")
        try:
            new = propose_with_hint(
                context,
                target,
                sources[function],
                capture,
                lines.get(function) if isinstance(lines, dict) else None,
                target.candidates,
                text.strip(),
            )
        finally:
            if context.cache is not None:
                context.cache.close()
        outcome = hint_outcome(new)
        decision = ReviewDecision(function, ReviewAction.HINTED, text=text.strip(), outcome=outcome)
        store.save_decision(RunId(run_id), decision)
    finally:
        store.close()
    project = Project(root)
    return {
        "outcome": outcome,
        "candidates": [_candidate(project, target, r) for r in new],
        "decision": decision_text(decision),
    }


def _chosen(target: TargetResult, candidate_id: str) -> Candidate:
    for result in target.candidates:
        if result.candidate.candidate_id == candidate_id:
            return result.candidate
    ids = ", ".join(c.candidate.candidate_id for c in target.candidates if _verified(c))
    raise ConfigError(f"{target.function} has no candidate {candidate_id}; verified ones: {ids}")


def _edit(
    settings: Settings,
    run_id: str,
    function: FunctionRef,
    base: Candidate | None,
    source: str | None,
) -> Document:
    if not source:
        raise ConfigError("edit needs candidate_source: the new source of the function")
    spec = CandidateSpec(text=source, label="mcp-edit")
    verified = verify_outside(settings, str(function), spec, run_id)
    answer: Document = {"verify": verify_document(verified)}
    outcome = f"{verified.decision.value}: {verified.reason}"
    if verified.decision is Decision.EQUIVALENT:
        bench = bench_outside(settings, str(function), spec, run_id)
        answer["measure"] = bench_document(bench)
        speedup = bench.measurement.speedup
        if speedup is not None:
            outcome += f"; {speedup.ratio:.2f}x [{speedup.ci_low:.2f}, {speedup.ci_high:.2f}]"
    decision = ReviewDecision(
        function,
        ReviewAction.EDITED,
        base.candidate_id if base else None,
        base.origin if base else "mcp",
        verified.candidate.candidate_id,
        outcome,
    )
    return {**answer, **_recorded(settings, run_id, decision)}


def _accept(
    settings: Settings,
    run_id: str,
    function: FunctionRef,
    target: TargetResult,
    chosen: Candidate | None,
    source: str | None,
) -> Document:
    if chosen is None and not source:
        raise ConfigError(
            "accept needs the candidate_id of a verified, faster candidate, or the "
            "candidate_source of an edit that `decide` with action edit verified"
        )
    if chosen is not None:
        result = next(r for r in target.candidates if r.candidate is chosen)
        if not (_verified(result) and result.measurement and result.measurement.improved):
            raise ConfigError(
                f"candidate {chosen.candidate_id} was not verified and measured faster in run "
                f"{run_id}; accept a faster one, or submit an edit"
            )
        source = chosen.function_source
    assert source is not None
    read_target(Project(settings.root.resolve()), function)  # a missing function: a clear error
    spec = CandidateSpec(text=source, label="mcp-accepted")
    applied = apply_outside(settings, str(function), spec, run_id)
    decision = ReviewDecision(
        function,
        ReviewAction.ACCEPTED,
        applied.verification.candidate.candidate_id,
        chosen.origin if chosen is not None else "edit:mcp",
        outcome=("applied" if applied.applied else "not applied: ") + applied.reason,
    )
    return {
        "applied": applied.applied,
        "reason": applied.reason,
        "diff": applied.diff,
        "backup": applied.backup,
        **_recorded(settings, run_id, decision),
    }


def _recorded(settings: Settings, run_id: str, decision: ReviewDecision) -> Document:
    store = _store(settings)
    try:
        store.save_decision(RunId(run_id), decision)
    finally:
        store.close()
    return {"decision": decision_text(decision)}
