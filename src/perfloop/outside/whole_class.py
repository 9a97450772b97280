"""A whole class as the target of `perfloop verify` (and `bench`): `pkg.mod:Class`.

The candidate is the whole new class: it may change several methods together, add
`__slots__`, keep its state in other private attributes. It is spliced into the current
module in place of the original class (`perfloop.patch.splice_class`), so the rest of
the file is what the workload ran. What "the same" means is what callers observe: the
results and exceptions of the methods they call, and the public attributes and
properties of the instances; private attributes (a leading underscore) may differ, and
the verdict says which ones were treated as private.

Calls of one method from an instance as the workload had it cannot judge such a
candidate (the candidate's instance holds other attributes), so the evidence is the
histories of a few instances the workload made (constructor and method calls in
order, perfloop.runtime.histories), replayed on the original and the candidate class
by the interaction tier, then sequences generated from them; the workload's output with
the class in place (rollout) and the project's tests that run its methods follow. The
per-call tiers are listed as skipped, with the reason. The self-check's mutants are of the
class's methods and go through the same tiers (`perfloop.verification.strength`).
"""

from __future__ import annotations

import ast
import pickle
from collections.abc import Callable

from perfloop.config import Settings
from perfloop.gate import gate_candidate
from perfloop.model import (
    CallRecord,
    Candidate,
    FunctionRef,
    GateResult,
    RunId,
    TargetCapture,
    Verdict,
    VerdictStatus,
)
from perfloop.outside.calls import limits_for
from perfloop.outside.candidate import CandidateError, CandidateSpec, Target, candidate_text
from perfloop.outside.counterexample import counterexample_for
from perfloop.outside.judge import Judgement
from perfloop.patch import SpliceError, splice_class
from perfloop.project import Project
from perfloop.verification import RunVerification, verify_candidate


def read_class_target(project: Project, ref: FunctionRef) -> Target:
    path = project.module_path(ref.module)
    return Target(ref, project.relative(path), path.read_text(encoding="utf-8"))


def build_class_candidate(project: Project, target: Target, spec: CandidateSpec) -> Candidate:
    """The target's module with the new class in place of the original."""
    origin, text = candidate_text(project, target, spec)
    return splice_class_candidate(target, text, origin)


def splice_class_candidate(target: Target, text: str, origin: str) -> Candidate:
    """The whole new class in `text` put into the target's module in place of the
    original (`splice_class`); CandidateError if impossible."""
    name = target.function.qualname
    try:
        module_source = splice_class(target.source, name, text)
    except SpliceError as exc:
        raise CandidateError(
            f"cannot use the candidate for {target.function}: {exc}. Give the whole new class "
            f"`{name}` (any indentation), optionally after the import lines, helpers and "
            "constants it needs"
        ) from exc
    return Candidate(
        function=target.function,
        origin=origin,
        rationale=f"whole class submitted from outside ({origin.removeprefix('outside:')})",
        module_source=module_source,
        function_source=class_source(module_source, name),
        path=target.path,
    )


def class_source(module_source: str, name: str) -> str:
    """The top-level class `name`'s source, decorators included ('' if there is none)."""
    tree = ast.parse(module_source)
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    if not found:
        return ""
    node = found[-1]
    lines = module_source.splitlines(keepends=True)
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return "".join(lines[first - 1 : node.end_lineno])


def gate_class(candidate: Candidate, target: Target, project: Project) -> GateResult:
    """The gate for a whole class: its public methods keep their signatures."""
    return gate_candidate(
        candidate, target.source, set(), project.top_level_modules(), whole_class=True
    )


def judge_class(
    candidate: Candidate,
    original_source: str,
    capture: TargetCapture,
    *,
    verification: RunVerification,
    settings: Settings,
    run_id: RunId,
    on_tier: Callable[[str], None] | None = None,
) -> Judgement:
    """The verdict on a whole-class candidate, from its instances' recorded histories."""
    root = verification.root
    function = candidate.function
    if not capture.histories:
        reason = capture.problem or (
            f"the workload made no instance of {function.qualname} that a method was called on"
        )
        verdict = Verdict(VerdictStatus.UNVERIFIABLE, (), 0, 0.0, reason=reason)
        return Judgement(verdict, None, None, weak=True)
    limits = limits_for(settings)
    plan = verification.plan(
        function, candidate.path, original_source, capture, limits, whole_class=True
    )
    verdict = verify_candidate(candidate, plan, root=root, limits=limits, on_tier=on_tier)
    strength = None
    if verdict.status is VerdictStatus.EQUIVALENT:  # mutants of its methods, as for a function
        strength = verification.strength(plan, limits)
    counterexample = counterexample_for(
        verdict,
        (),
        function,
        root / candidate.path,
        original_source,
        root=root,
        run_id=run_id,
        policy=verification.settings.policy,
    )
    return Judgement(verdict, counterexample, strength, strength is not None and strength.weak)


def history_notes(capture: TargetCapture, verdict: Verdict | None) -> tuple[str, ...]:
    """What the verdict on a whole class rests on, and what it treated as private."""
    steps = sum(len(h.steps) for h in capture.histories)
    made = (  # not known for calls loaded from an earlier run
        f"of the {capture.instances_seen} instances the workload made"
        if capture.instances_seen >= len(capture.histories)
        else "instances the workload made"
    )
    notes = [
        f"whole class {capture.function.qualname}: judged on the histories of "
        f"{len(capture.histories)} {made} ({steps} method calls), and sequences generated "
        "from them"
    ]
    for run in verdict.runs if verdict is not None else ():
        if run.tier == "interaction" and run.note and "treated as private" in run.note:
            notes.append(run.note[run.note.index("attributes treated as private") :])
    return tuple(notes)


def history_records(capture: TargetCapture) -> tuple[CallRecord, ...]:
    """A whole class's histories as the calls its A/B times: one record per history, whose
    inputs pickle `((constructor, steps), {})` with the recorded pickles inside as bytes
    (the main process never unpickles what the workload recorded; the timing worker does,
    see `perfloop.measure.timing.history_calls`)."""
    records = []
    for index, history in enumerate(capture.histories):
        steps = tuple((step.method, step.args) for step in history.steps)
        inputs = pickle.dumps(((history.constructor, steps), {}), protocol=4)
        shown = f"{history.constructor_repr} and {len(steps)} method calls"
        records.append(CallRecord(index, inputs, b"", "", shown))
    return tuple(records)


def history_timing_notes(capture: TargetCapture) -> tuple[str, ...]:
    """What the A/B of a whole class times."""
    steps = sum(len(h.steps) for h in capture.histories)
    return (
        f"whole class {capture.function.qualname}: each timed call replays one of "
        f"{len(capture.histories)} recorded instance histories (the constructor, then its "
        f"{steps} method calls in all, in order) on the original class and on the candidate "
        "class put in its place",
    )
