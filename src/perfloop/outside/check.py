"""`perfloop check --base REF`: did a pull request change behaviour or speed of what it touched?

For every function that differs between REF and the working tree, the REF
version is the original and the working-tree version the candidate. The
workload runs once with the REF versions of all changed functions in place
(the rest of the code as in the working tree), recording their calls; a function
it never calls is "not exercised". Each exercised function is then judged on its
recorded calls with the working-tree version spliced in, and, if it behaves the
same, timed against the REF version on the same calls.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.atomic import write_atomic
from perfloop.capture import CaptureSettings, capture_calls
from perfloop.config import ConfigError, Settings
from perfloop.gate import new_cache_refusal
from perfloop.measure import judged_on_workload, measure_candidate
from perfloop.measure.speed import BELOW_THRESHOLD, speed_word
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    RunId,
    Speedup,
    TargetCapture,
    VerdictStatus,
)
from perfloop.outside.calls import (
    Progress,
    compare_on_workload,
    measure_settings,
    quiet,
    recorded_run,
    require_workload,
)
from perfloop.outside.changes import ChangedModule, changed_modules
from perfloop.outside.git import check_ref
from perfloop.outside.judge import judge, new_verification, verify_settings
from perfloop.patch import SpliceError, splice_function
from perfloop.qualnames import function_source
from perfloop.report.json import render as render_json
from perfloop.report.markdown import check_markdown
from perfloop.report.summary import speed_text
from perfloop.report.verification import strength_text
from perfloop.results import CheckResult, CheckStatus, FunctionCheck
from perfloop.store.runs import RunStore
from perfloop.verification import RunVerification, VerifySettings
from perfloop.workload import WorkloadError


@dataclass(frozen=True)
class _Base:
    """A changed module with the REF versions of its changed functions spliced back in."""

    changed: ChangedModule
    source: str


def check_outside(
    settings: Settings,
    base: str,
    max_slowdown: float | None = None,
    markdown_path: Path | None = None,
    progress: Progress = quiet,
    engine: VerifySettings | None = None,
) -> CheckResult:
    """Check every changed, exercised function against its REF version; write the summary.

    `max_slowdown` defaults to the setting of that name (`[tool.perfloop]`, 1.05)."""
    if max_slowdown is None:
        max_slowdown = settings.max_slowdown
    root = settings.root.resolve()
    workload = require_workload(settings, "to exercise the changed functions")
    if max_slowdown < 1.0:
        raise ConfigError(f"--max-slowdown must be at least 1.0 (1.05 = 5%), not {max_slowdown}")
    check_ref(root, base)
    progress(f"Finding the functions changed since {base}")
    modules, notes = changed_modules(root, base)
    bases, splice_notes = _base_versions(modules)
    notes += splice_notes
    notes += [
        f"new in the working tree, nothing to compare with: {m.module}:{q}"
        for m in modules
        for q in m.added
    ]
    targets = [ref for b in bases for ref in b.changed.refs()]
    verification = new_verification(root, settings, engine or verify_settings(settings))
    with recorded_run(root, workload) as (store, run_id):
        captures: dict[FunctionRef, TargetCapture] = {}
        if targets:
            progress(f"Recording calls of {len(targets)} changed functions (at {base})")
            captures = _calls_at_base(settings, base, bases, targets)
        context = _Context(settings, max_slowdown, verification, store, run_id)
        checks = []
        for b in bases:
            for ref in b.changed.refs():
                store.save_capture(run_id, captures[ref])
                progress(f"Checking {ref}")
                checks.append(_check_function(context, b, ref, captures[ref]))
        run_dir = root / ".perfloop" / "runs" / run_id
        result = CheckResult(
            run_id=run_id,
            base=base,
            workload=workload,
            max_slowdown=max_slowdown,
            min_speedup=settings.min_speedup,
            functions=tuple(checks),
            markdown="",
            markdown_path=str(markdown_path or run_dir / "check.md"),
            notes=(*notes, *verification.tests_notes()),
        )
        result = _with_markdown(result, run_dir, markdown_path)
        store.finish_run(result, render_json(result))
    return result


def _calls_at_base(
    settings: Settings, base: str, bases: list[_Base], targets: list[FunctionRef]
) -> dict[FunctionRef, TargetCapture]:
    """Run the workload once with the base versions in place, recording every changed function."""
    root = settings.root.resolve()
    workload = require_workload(settings)
    overrides = {b.changed.module: (str(root / b.changed.path), b.source) for b in bases}
    try:
        return capture_calls(
            workload, root, targets, CaptureSettings.of(settings), overrides=overrides
        )
    except WorkloadError as exc:
        raise WorkloadError(
            f"with the {base} versions of the changed functions in place, {exc}"
        ) from exc


def _base_versions(modules: list[ChangedModule]) -> tuple[list[_Base], list[str]]:
    bases, notes = [], []
    for changed in modules:
        if not changed.changed:
            continue
        source = changed.current_source
        try:
            for qualname in changed.changed:
                source = splice_function(source, qualname, changed.base_source, whole_module=True)
        except SpliceError as exc:
            notes.append(f"{changed.path} was skipped: cannot put its base versions back ({exc})")
            continue
        bases.append(_Base(changed, source))
    return bases, notes


@dataclass(frozen=True)
class _Context:
    """What checking each function needs; built once per check."""

    settings: Settings
    max_slowdown: float
    verification: RunVerification
    store: RunStore
    run_id: RunId


def _check_function(
    context: _Context, base: _Base, ref: FunctionRef, capture: TargetCapture
) -> FunctionCheck:
    """Judge the working-tree version against the base version; time them if they agree."""
    settings, verification = context.settings, context.verification
    path = base.changed.path
    if capture.calls_seen == 0:
        return FunctionCheck(
            ref, path, CheckStatus.NOT_EXERCISED, capture.problem or "never called", 0
        )
    new_source = splice_function(base.source, ref.qualname, base.changed.current_source)
    candidate = Candidate(
        function=ref,
        origin="working-tree",
        rationale="the working tree's version of a function changed since the base",
        module_source=new_source,
        function_source=function_source(new_source, ref.qualname),
        path=path,
    )
    refused = new_cache_refusal(candidate, base.source, capture)
    if refused is not None:  # the tiers compare the undecorated body, which says nothing here
        return FunctionCheck(ref, path, CheckStatus.UNVERIFIABLE, refused, capture.calls_seen)
    root = verification.root
    judgement = judge(
        candidate,
        base.source,
        capture,
        verification=verification,
        settings=settings,
        run_id=context.run_id,
    )
    verdict = judgement.verdict
    measurement = None
    if verdict.status is VerdictStatus.UNVERIFIABLE:
        status, reason = CheckStatus.UNVERIFIABLE, verdict.reason or "unverifiable"
    elif verdict.status is not VerdictStatus.EQUIVALENT:
        status = CheckStatus.BEHAVIOUR_CHANGED
        reason = (
            verdict.difference.description
            if verdict.difference
            else f"the new version failed where the base version did not: {verdict.reason}"
        )
    else:
        measurement = measure_candidate(
            candidate, base.source, capture.records, root=root, settings=measure_settings(settings)
        )
        if measurement.learns and measurement.speedup is not None:  # a cache: as optimize
            measurement = judged_on_workload(
                measurement, compare_on_workload(settings, candidate, cache=True)
            )
        if measurement.untimed:  # the change is in code the recorded calls never run
            status, reason = CheckStatus.SAME_SPEED, measurement.untimed
        else:
            status, reason = _speed_status(
                measurement.speedup, measurement.error, settings, context.max_slowdown
            )
        if judgement.weak:
            reason += f"; weakly verified ({strength_text(judgement.strength, verdict)})"
    context.store.save_candidate_result(
        context.run_id, CandidateResult(candidate, GateResult(True), verdict, measurement)
    )
    return FunctionCheck(
        ref,
        path,
        status,
        reason,
        capture.calls_seen,
        verdict,
        measurement,
        judgement.counterexample,
    )


def _speed_status(
    speedup: Speedup | None, error: str | None, settings: Settings, max_slowdown: float
) -> tuple[CheckStatus, str]:
    if speedup is None:
        return CheckStatus.NOT_MEASURED, error or "timing failed"
    word = speed_word(speedup, settings.min_speedup, max_slowdown)
    if word == "faster":
        return CheckStatus.FASTER, f"{speedup.ratio:.2f}x as fast as the base version"
    if word == "slower":
        return CheckStatus.SLOWER, (
            f"the base version is {1 / speedup.ratio:.2f}x as fast; even the interval's best "
            f"case ({1 / speedup.ci_high:.2f}x) is beyond the {max_slowdown:g} tolerance"
        )
    if speedup.ci_high < 1.0:
        return CheckStatus.SAME_SPEED, (
            f"slower ({1 / speedup.ratio:.2f}x), but within the {max_slowdown:g} tolerance"
        )
    if word == BELOW_THRESHOLD:
        return CheckStatus.SAME_SPEED, speed_text(speedup, settings.min_speedup, max_slowdown)
    return CheckStatus.SAME_SPEED, "no speed change beyond the noise"


def _with_markdown(result: CheckResult, run_dir: Path, extra: Path | None) -> CheckResult:
    text = check_markdown(result)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_atomic(run_dir / "check.md", text)
    if extra is not None:
        extra.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(extra, text)
    return replace(result, markdown=text)
