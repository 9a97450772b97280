"""The one place that knows the order of the stages.

profile → targets → capture → (per target: propose → gate → verify → measure
→ select) → merge → whole-workload A/B → patch (+ apply) → report. Each step
is a call into its stage; this module only decides what to hand on.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from perfloop.applycheck import reverify_applied
from perfloop.capture import CaptureSettings, capture_calls
from perfloop.config import ConfigError, Settings
from perfloop.gate import gate_candidate
from perfloop.measure import NoiseFloors, measure_candidate, measure_workload, settings_from
from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    Limits,
    LineProfile,
    Profile,
    RunId,
    TargetCapture,
    TargetContext,
    Verdict,
    VerdictStatus,
)
from perfloop.patch import (
    ApplyRefused,
    FileChange,
    apply_changes,
    check_git_clean,
    commit_to_branch,
    mark_journal,
    merge_candidates,
    recover_interrupted,
    revert_changes,
    unified_diff,
)
from perfloop.profile import line_profile, profile_workload, why_not_targetable
from perfloop.project import Project, TargetError
from perfloop.propose import combine_rules, in_combination_order, propose_rule_candidates
from perfloop.propose.rounds import RoundProposer, run_rounds
from perfloop.report import write_run_files
from perfloop.report.json import render as render_json
from perfloop.results import RunResult, TargetResult, TargetStatus, WorkloadSpeedup
from perfloop.resume import (
    SETTINGS_STEP,
    SOURCES_STEP,
    Checkpoints,
    RunInterrupted,
    interrupted_message,
    load_resumable,
)
from perfloop.runlock import project_lock
from perfloop.sandbox.runner import (
    ChildUsage,
    configure_workers,
    isolation_gaps,
    plan_workers,
    use_import_path,
    worker_isolation,
    workload_limits,
)
from perfloop.store import RunStore
from perfloop.verification import (
    FuzzSettings,
    RunVerification,
    TargetPlan,
    VerifySettings,
    verify_candidate,
)
from perfloop.verification.compare import ComparePolicy
from perfloop.verification.project_tests import apply_gate
from perfloop.verification.replay import replay
from perfloop.verification.tiers import TIER_ORDER
from perfloop.workload import WorkloadError, run_workload

Progress = Callable[[str], None]
# a proposer gets (function, its file relative to the root, the file's source) and
# returns candidates; rules are the default, an LLM or an outside agent are others
Proposer = Callable[[FunctionRef, str, str], Sequence[Candidate]]
DEFAULT_PROPOSERS: tuple[Proposer, ...] = (propose_rule_candidates,)
# a RoundProposer (an LLM) gets a TargetContext and feedback rounds after the plain ones
AnyProposer = Proposer | RoundProposer


def _quiet(message: str) -> None:
    pass


@dataclass(frozen=True)
class _Context:
    """What every per-target step needs; built once per run."""

    settings: Settings
    project: Project
    run_id: RunId
    store: RunStore
    policy: ComparePolicy
    progress: Progress
    proposers: tuple[AnyProposer, ...]
    verification: RunVerification  # caches the test index, plans and strengths of the run
    checkpoints: Checkpoints  # the completed steps (a resumed run reuses them)
    starting_notes: tuple[str, ...] = ()
    noise_floors: NoiseFloors = field(default_factory=NoiseFloors)  # one A/A per target

    @property
    def round_proposers(self) -> list[RoundProposer]:
        return [p for p in self.proposers if isinstance(p, RoundProposer)]

    @property
    def root(self) -> Path:
        return self.project.root


def new_run_id() -> RunId:
    return RunId(time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2))


def optimize(
    settings: Settings,
    progress: Progress = _quiet,
    proposers: Sequence[AnyProposer] = DEFAULT_PROPOSERS,
) -> RunResult:
    """Run the whole pipeline on the workload in `settings`; see the module docstring."""
    if not settings.workload:
        raise ConfigError(
            "no workload: pass --workload 'python bench.py' or set workload in [tool.perfloop]"
        )
    root = settings.root.resolve()
    if not root.is_dir():
        raise ConfigError(f"--root {settings.root} is not a directory")
    project = Project(root)
    explicit = [FunctionRef.parse(text) for text in settings.functions]
    for ref in explicit:
        problem = why_not_targetable(project.check_function(ref), ref.qualname)
        if problem is not None:
            raise TargetError(
                f"{ref} is {problem}: perfloop cannot rewrite it. Name another function, or "
                "leave out --function to let perfloop pick the hottest ones it can rewrite"
            )
    run_id = new_run_id()
    with project_lock(root, run_id):
        recovered = recover_interrupted(root)
        store = RunStore(root / ".perfloop" / "perfloop.db")
        python = ".".join(map(str, sys.version_info[:3]))
        store.start_run(run_id, python, settings.workload, root)
        checkpoints = Checkpoints(store, run_id)
        checkpoints.step(SETTINGS_STEP, lambda: settings)
        return _execute(settings, project, explicit, checkpoints, progress, proposers, recovered)


def resume(
    run_id: RunId,
    root: Path,
    progress: Progress = _quiet,
    proposers: Callable[[Settings], Sequence[AnyProposer]] = lambda _: DEFAULT_PROPOSERS,
) -> RunResult:
    """Continue a stopped run from its last completed step (see perfloop.resume)."""
    root = root.resolve()
    with project_lock(root, run_id, "resume"):
        recovered = recover_interrupted(root)
        store = RunStore(root / ".perfloop" / "perfloop.db")
        try:
            resumable = load_resumable(store, run_id, root)
        except BaseException:
            store.close()
            raise
        store.set_run_status(run_id, "running")
        settings = resumable.settings
        project = Project(root)
        explicit = [FunctionRef.parse(text) for text in settings.functions]
        chosen = proposers(settings)
        checkpoints = resumable.checkpoints
        return _execute(settings, project, explicit, checkpoints, progress, chosen, recovered)


def _execute(
    settings: Settings,
    project: Project,
    explicit: list[FunctionRef],
    checkpoints: Checkpoints,
    progress: Progress,
    proposers: Sequence[AnyProposer],
    recovered: list[str],
) -> RunResult:
    root, store, run_id = project.root, checkpoints.store, checkpoints.run_id
    run_dir = root / ".perfloop" / "runs" / run_id
    python = ".".join(map(str, sys.version_info[:3]))
    workers = plan_workers(settings.workers, settings.memory_mb)
    configure_workers(workers.count)
    settings = replace(settings, memory_mb=workers.memory_mb)
    gaps = isolation_gaps(worker_isolation(root))
    if gaps:
        recovered = [
            *recovered,
            f"candidate code runs with part of the sandbox missing on this machine "
            f"({'; '.join(gaps)}); the tripwire still stops what it sees. `perfloop doctor` "
            "shows each layer (see Safety in the README)",
        ]
    policy = ComparePolicy(
        float_rel_tolerance=settings.float_tolerance,
        exception_messages=settings.exception_messages,
    )
    verification = RunVerification(root, verify_settings(settings, policy), _index_limits(settings))
    context = _Context(
        settings,
        project,
        run_id,
        store,
        policy,
        progress,
        tuple(proposers),
        verification,
        checkpoints,
        (*recovered, *([workers.note] if workers.note else [])),
    )
    try:
        result = _run_stages(context, explicit, run_dir, python)
    except KeyboardInterrupt as exc:
        message = interrupted_message(run_id, root, checkpoints)
        store.set_run_status(run_id, "interrupted", message)
        store.close()
        raise RunInterrupted(message) from exc
    except BaseException as exc:
        store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
        store.close()
        raise
    store.close()
    return result


def _run_stages(
    context: _Context, explicit: list[FunctionRef], run_dir: Path, python: str
) -> RunResult:
    settings, root = context.settings, context.root
    assert settings.workload is not None
    checkpoints = context.checkpoints
    profile = checkpoints.step("profile", partial(_profile, context))
    context = _with_imports(context, profile)
    workload_limits = _workload_limits(context)
    targets = explicit or choose_targets(profile, settings.top, settings.min_share)
    sources = checkpoints.step(
        SOURCES_STEP, lambda: {ref: _read_source(context.project, ref) for ref in targets}
    )

    # recording pickles every call's arguments, which can cost far more than the run
    # itself (a call that carries a whole object graph): only the user's timeout bounds it
    timeout = settings.workload_timeout
    capture_limits = replace(
        workload_limits,
        wall_seconds=timeout,
        cpu_seconds=max(workload_limits.cpu_seconds, int(timeout) + 5),
    )

    def capture() -> dict[FunctionRef, TargetCapture]:
        context.progress(f"Capturing calls of {len(targets)} functions")
        try:
            return capture_calls(
                settings.workload,  # type: ignore[arg-type]
                root,
                targets,
                CaptureSettings.of(settings, capture_limits),
            )
        except WorkloadError as exc:  # it ran fine while profiled: the recorder is the cause
            raise WorkloadError(_capture_failure(str(exc), capture_limits)) from exc

    captures = checkpoints.captures(capture)
    lines: dict[FunctionRef, LineProfile] = {}
    if context.round_proposers:  # only a proposer that reads prompts needs the hot lines
        context.progress("Timing the lines of the targets")
        paths = {ref: root / path for ref, (path, _) in sources.items()}
        lines = checkpoints.step(
            "lines",
            lambda: line_profile(
                settings.workload, root, targets, paths, timeout=settings.workload_timeout
            ),
        )
    shares = {f.function: f.share for f in profile.functions}
    results = []
    for ref in targets:
        context.progress(f"Optimizing {ref}")
        result = checkpoints.step(
            f"target:{ref}",
            partial(
                optimize_target,
                context,
                ref,
                shares.get(ref, 0.0),
                sources[ref],
                captures[ref],
                lines.get(ref),
            ),
        )
        context.store.save_target_result(context.run_id, result)
        results.append(result)
        if result.best is not None:  # a reused target's plan, for merging and re-verifying
            path, module_source = sources[ref]
            context.verification.plan(ref, path, module_source, captures[ref], _limits(context))

    changes, results = merge_improvements(context, results, sources, captures)
    workload_speedup, notes = None, list(context.starting_notes)
    if changes:
        context.progress("Timing the whole workload, original against patched")
        workload_speedup, note = checkpoints.step(
            "workload", partial(compare_workloads, context, changes)
        )
        notes.extend(note)
    tests_problem = context.verification.tests_problem()
    notes.extend(context.verification.tests_notes())
    if tests_problem is not None and not (changes and (settings.apply or settings.branch)):
        notes.append(f"the project's tests did not judge the candidates: {tests_problem}")
    applied, to_apply, gate = False, [], apply_gate(None, False)
    if changes and (settings.apply or settings.branch):
        to_apply, held_back = strongly_verified_changes(results, sources, settings.accept_weak)
        notes.extend(held_back)
        gate = apply_gate(tests_problem, settings.apply_without_tests)
        to_apply = [] if gate.refused else to_apply
        notes.extend([gate.note] if gate.note else [])
    if to_apply:
        context.progress("Applying the patch")
        output_is_stable = (
            workload_speedup is not None and workload_speedup.output_unchanged is not None
        )
        expected = profile.workload_stdout if output_is_stable else None
        improved = [r for r in results if r.best is not None]
        applied, note = checkpoints.step(
            "apply", partial(apply_and_confirm, context, to_apply, run_dir, expected, improved)
        )
        notes.extend(note)
    result = RunResult(
        run_id=context.run_id,
        python=python,
        workload=settings.workload,
        root=str(root),
        profile=profile,
        targets=tuple(results),
        workload_speedup=workload_speedup,
        patch=unified_diff(changes),
        applied=applied,
        run_dir=str(run_dir),
        notes=tuple(notes),
        llm_usage=context.store.llm_usage(context.run_id),
        applied_without_tests=gate.untested if applied else None,
    )
    write_run_files(result, run_dir)
    context.store.finish_run(result, render_json(result))
    return result


def _profile(context: _Context) -> Profile:
    """Profile the workload, and note what it needed: later runs of the user's code get
    limits from it (see perfloop.sandbox.runner.workload_limits)."""
    context.progress("Profiling the workload")
    settings = context.settings
    assert settings.workload is not None
    before = ChildUsage.now()
    profile = profile_workload(settings.workload, context.root, timeout=settings.workload_timeout)
    after = ChildUsage.now()
    context.store.save_profile(context.run_id, profile)
    context.checkpoints.step(
        "workload-limits",
        lambda: workload_limits(
            before, after, profile.wall_seconds, settings.workload_timeout, settings.memory_mb
        ),
    )
    return profile


def _with_imports(context: _Context, profile: Profile) -> _Context:
    """Name and find modules as the profiled workload imported them; workers too (also
    when a resumed run takes the profile from its checkpoint)."""
    use_import_path(context.root, profile.imports)
    project = context.project.with_imports(profile.imports)
    notes = context.starting_notes
    elsewhere = [path for path in project.search_path if path != context.root]
    if elsewhere:
        folders = ", ".join(_shown(path, context.root) for path in elsewhere)
        notes = (*notes, f"workers import your modules from {folders} as the workload did")
    return replace(context, project=project, starting_notes=notes)


def _shown(path: Path, root: Path) -> str:
    return str(path.relative_to(root)) if path.is_relative_to(root) else str(path)


def _workload_limits(context: _Context) -> Limits:
    limits = context.checkpoints.done.get("workload-limits")
    if isinstance(limits, Limits):
        return limits
    settings = context.settings  # a run profiled before limits were recorded
    return Limits(settings.workload_timeout, int(settings.workload_timeout) + 5, 1 << 20)


def _capture_failure(message: str, limits: Limits) -> str:
    if "RecursionError" in message:
        return (
            "the workload ran when profiled but hit Python's recursion limit while perfloop "
            "recorded the targets' calls (the recorder adds two frames to every call of a "
            "target): raise the limit in the workload (sys.setrecursionlimit) or leave the "
            f"deeply recursive function out with --function. {message}"
        )
    return (
        "the workload ran when profiled but failed while perfloop recorded calls, under "
        f"limits derived from the profiled run ({limits.memory_mb} MB of address space per "
        f"process; {limits.cpu_seconds} CPU seconds and {limits.wall_seconds:g} s from "
        f"--workload-timeout): {message}"
    )


def choose_targets(profile: Profile, top: int, min_share: float) -> list[FunctionRef]:
    """The `top` targetable functions by own time that take at least `min_share` of it."""
    chosen = [
        f.function for f in profile.functions if f.not_targetable is None and f.share >= min_share
    ]
    if not chosen:
        hot = [f for f in profile.functions if f.share >= min_share][:3]
        if hot:  # time is spent in the project, in functions perfloop cannot take yet
            named = "; ".join(
                f"{f.function.module}:{f.function.qualname} ({f.share:.0%}): {f.not_targetable}"
                for f in hot
            )
            raise TargetError(
                "no function perfloop can optimize takes a measurable share of the workload's "
                f"time (at least {min_share:.0%}); the hottest ones are not targetable: "
                f"{named}. Name other targets with --function module:qualname"
            )
        raise TargetError(
            "no function of the project takes a measurable share of the workload's time "
            f"(at least {min_share:.0%}); check that --root is the project and the workload "
            "exercises its code, or name targets with --function module:qualname"
        )
    return chosen[:top]


def _read_source(project: Project, ref: FunctionRef) -> tuple[str, str]:
    path = project.module_path(ref.module)
    return project.relative(path), path.read_text(encoding="utf-8")


def verify_settings(settings: Settings, policy: ComparePolicy) -> VerifySettings:
    """The verification tiers' settings from the run's settings."""
    tiers = TIER_ORDER if settings.project_tests else tuple(t for t in TIER_ORDER if t != "tests")
    return VerifySettings(
        policy=policy,
        tiers=tiers,
        fuzz=FuzzSettings(settings.fuzz_examples, settings.fuzz_seconds),
        symbolic_seconds=settings.symbolic_seconds,
        candidate_seconds=settings.candidate_timeout,
        mutants=settings.mutants,
        min_strength=settings.min_strength,
        tests_runner=settings.tests_runner,
    )


def _index_limits(settings: Settings) -> Limits:
    """Running the project's tests once may take as long as the workload."""
    wall = settings.workload_timeout
    return Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=settings.memory_mb)


def _limits(context: _Context, seconds: float | None = None) -> Limits:
    wall = context.settings.candidate_timeout
    if seconds is not None:  # a candidate gets ten times what the original needed
        wall = min(wall, max(5.0, 10 * seconds))
    return Limits(
        wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=context.settings.memory_mb
    )


def optimize_target(
    context: _Context,
    ref: FunctionRef,
    share: float,
    source: tuple[str, str],
    capture: TargetCapture,
    lines: LineProfile | None = None,
) -> TargetResult:
    """Propose, gate, verify and measure candidates for one function; pick the best."""
    recorded = len(capture.records)
    if not capture.usable:
        return TargetResult(ref, share, TargetStatus.UNVERIFIABLE, capture.problem, recorded)
    path, module_source = source
    baseline = replay(
        ref.module,
        ref.qualname,
        context.root / path,
        None,
        capture.records,
        root=context.root,
        limits=_limits(context),
        policy=context.policy,
    )
    if baseline.status is not VerdictStatus.EQUIVALENT:
        why = baseline.difference.description if baseline.difference else baseline.reason
        return TargetResult(
            ref, share, TargetStatus.UNVERIFIABLE, _baseline_problem(baseline, why), recorded
        )
    limits = _limits(context, baseline.seconds)
    context.progress(f"Preparing the verification of {ref}")
    plan = context.verification.plan(ref, path, module_source, capture, limits)
    if plan.problem is not None:
        return TargetResult(ref, share, TargetStatus.UNVERIFIABLE, plan.problem, recorded)
    seen: set[str] = set()
    tried = [
        evaluate_candidate(context, candidate, module_source, capture, limits, seen)
        for proposer in context.proposers
        if not isinstance(proposer, RoundProposer)
        for candidate in proposer(ref, path, module_source)
        if _rule_allowed(context.settings, candidate)
    ]
    tried += combine_verified_rules(  # then the verified rules together
        ref,
        path,
        module_source,
        tried,
        lambda c: evaluate_candidate(context, c, module_source, capture, limits, seen),
    )
    for round_proposer in context.round_proposers:  # they compete in the same pool
        target = TargetContext(
            context.run_id,
            ref,
            path,
            module_source,
            share,
            capture.parameter_types,
            capture.return_types,
            tuple(record.call_repr for record in capture.records[:3]),
            lines,
            verified=tuple(
                r for r in tried if r.verdict and r.verdict.status is VerdictStatus.EQUIVALENT
            ),
        )
        tried += run_rounds(
            round_proposer,
            target,
            lambda c: evaluate_candidate(context, c, module_source, capture, limits, seen),
        )
    strength = None
    if any(r.gate.passed for r in tried):  # how much "verified" means for this target
        context.progress(f"Checking how strong the verification of {ref} is (mutants)")
        strength = context.verification.strength(plan, limits)
    return replace(select_best(ref, share, recorded, tried), strength=strength)


def _rule_allowed(settings: Settings, candidate: Candidate) -> bool:
    """`--rules` limits the rule proposals to those ids; other proposers are not affected."""
    if not settings.rules or not candidate.origin.startswith("rule:"):
        return True
    return candidate.origin.removeprefix("rule:") in settings.rules


def combine_verified_rules(
    ref: FunctionRef,
    path: str,
    module_source: str,
    tried: Sequence[CandidateResult],
    evaluate: Callable[[Candidate], CandidateResult],
) -> list[CandidateResult]:
    """Combinations of the single rules that verified, searched greedily: start from the
    best measured one and try adding each other one, best first; an addition stays only
    if the combination verifies and measures better than the best so far. k verified
    rules cost at most k - 1 more candidates (not 2^k); rules apply in registry order."""

    def gain(result: CandidateResult) -> float:
        return result.measurement.gain if result.measurement else 0.0

    def verified(result: CandidateResult) -> bool:
        return bool(result.verdict and result.verdict.status is VerdictStatus.EQUIVALENT)

    singles = [r for r in tried if r.candidate.origin.startswith("rule:") and verified(r)]
    singles.sort(key=gain, reverse=True)
    if len(singles) < 2:
        return []
    best, chosen = singles[0], [singles[0].candidate.origin.removeprefix("rule:")]
    combinations = []
    for single in singles[1:]:
        rule_ids = in_combination_order([*chosen, single.candidate.origin.removeprefix("rule:")])
        combined = combine_rules(ref, path, module_source, rule_ids)
        if combined is None:  # one of them no longer applies after the others
            continue
        result = evaluate(combined)
        combinations.append(result)
        if verified(result) and gain(result) > gain(best):
            best, chosen = result, rule_ids
    return combinations


def _baseline_problem(baseline: Verdict, why: str | None) -> str:
    """Why the original's own replay rules out judging rewrites, in the user's terms."""
    if "RecursionError" in (why or ""):
        return (
            f"replaying the original hits Python's recursion limit in perfloop's worker ({why}); "
            "the workload raised the limit itself, so replay cannot judge a rewrite"
        )
    if baseline.status is VerdictStatus.FAILED:
        if why and why.startswith("Traceback"):  # the error, not perfloop's frames
            why = why.strip().splitlines()[-1].rpartition("RecordedCallDoesNotLoad: ")[2]
        return (
            f"replaying the original in a sandboxed worker failed ({why}); perfloop runs "
            "candidates the same way, so it cannot judge a rewrite of this function"
        )
    return (
        f"replaying the original does not reproduce its recorded calls ({why}); it depends "
        "on state besides its arguments, so replay cannot judge a rewrite"
    )


def evaluate_candidate(
    context: _Context,
    candidate: Candidate,
    module_source: str,
    capture: TargetCapture,
    limits: Limits,
    seen: set[str],
    plan: TargetPlan | None = None,
) -> CandidateResult:
    """Gate, then verify, then measure; stop at the first stage that says no."""
    gate = gate_candidate(candidate, module_source, seen, context.project.top_level_modules())
    result = CandidateResult(candidate, gate)

    def verify_and_measure(plan: TargetPlan | None) -> CandidateResult:
        plan = plan or context.verification.plan(
            candidate.function, candidate.path, module_source, capture, limits
        )
        verdict = verify_candidate(candidate, plan, root=context.root, limits=limits)
        checked = replace(result, verdict=verdict)
        if verdict.status is VerdictStatus.EQUIVALENT:
            settings = settings_from(context.settings, limits)
            records, root = capture.records, context.root
            noise = context.noise_floors.get(
                candidate, module_source, records, root=root, settings=settings
            )
            measurement = measure_candidate(
                candidate, module_source, records, root=root, settings=settings, noise=noise
            )
            checked = replace(checked, measurement=measurement)
        return checked

    if gate.passed:  # a resumed run reuses the verdict and measurement of a finished one
        step = f"candidate:{candidate.function}:{candidate.candidate_id}"
        result = context.checkpoints.step(step, partial(verify_and_measure, plan))
    context.store.save_candidate_result(context.run_id, result)
    return result


def select_best(
    ref: FunctionRef, share: float, recorded: int, tried: Sequence[CandidateResult]
) -> TargetResult:
    faster = [
        r for r in tried if r.measurement and r.measurement.speedup and r.measurement.improved
    ]
    if faster:
        best = max(faster, key=lambda r: r.measurement.gain)  # type: ignore[union-attr]
        return TargetResult(ref, share, TargetStatus.IMPROVED, None, recorded, tuple(tried), best)
    return TargetResult(
        ref,
        share,
        TargetStatus.NO_FASTER_CANDIDATE,
        _why_nothing_faster(tried),
        recorded,
        tuple(tried),
    )


def _why_nothing_faster(tried: Sequence[CandidateResult]) -> str:
    if not tried:
        return "no rule applies to this function"
    statuses = [r.verdict.status if r.verdict else None for r in tried]
    verified = statuses.count(VerdictStatus.EQUIVALENT)
    if not verified and statuses.count(VerdictStatus.FAILED) == len(tried):
        # perfloop's failure, not the candidates' (pycparser 2.22: recorded calls that
        # the fuzz tier could not load were reported as behaving differently)
        last = tried[-1].verdict
        reason = (last.reason if last and last.reason else "no reason given").strip()
        which = "the candidate" if len(tried) == 1 else f"the {len(tried)} candidates"
        return f"checking {which} failed: {reason.splitlines()[-1]}"
    if not verified:
        if len(tried) == 1:
            return "the one candidate did not behave the same on the recorded calls"
        return f"none of {len(tried)} candidates behaved the same on the recorded calls"
    counted = "1 candidate" if verified == 1 else f"{verified} candidates"
    return f"{counted} verified, none faster beyond the threshold"


def merge_improvements(
    context: _Context,
    results: list[TargetResult],
    sources: dict[FunctionRef, tuple[str, str]],
    captures: dict[FunctionRef, TargetCapture],
) -> tuple[list[FileChange], list[TargetResult]]:
    """One new source per file; a file with several improvements is re-verified as a whole."""
    by_path: dict[str, list[TargetResult]] = {}
    for result in results:
        if result.best is not None:
            by_path.setdefault(result.best.candidate.path, []).append(result)
    changes: list[FileChange] = []
    demoted: dict[FunctionRef, str] = {}
    for path, improved in by_path.items():
        original = sources[improved[0].function][1]
        kept = _keep_verified_together(context, original, improved, captures, demoted)
        if kept:
            new = merge_candidates(original, [r.best.candidate for r in kept])  # type: ignore[union-attr]
            changes.append(FileChange(path, original, new))
    final = [
        replace(r, status=TargetStatus.NO_FASTER_CANDIDATE, reason=demoted[r.function], best=None)
        if r.function in demoted
        else r
        for r in results
    ]
    return changes, final


def _keep_verified_together(
    context: _Context,
    original: str,
    improved: list[TargetResult],
    captures: dict[FunctionRef, TargetCapture],
    demoted: dict[FunctionRef, str],
) -> list[TargetResult]:
    """Drop improvements, lowest speedup first, until the merged file verifies for every target."""
    kept = sorted(improved, key=lambda r: r.best.measurement.speedup.ratio, reverse=True)  # type: ignore[union-attr]
    while len(kept) > 1:
        merged = merge_candidates(original, [r.best.candidate for r in kept])  # type: ignore[union-attr]
        failing = [r for r in kept if not _verifies(context, r, merged, captures[r.function])]
        if not failing:
            break
        dropped = kept.pop()
        demoted[dropped.function] = (
            "its best candidate verified alone but not together with the other changes to its file"
        )
    return kept


def _verifies(context: _Context, result: TargetResult, merged: str, capture: TargetCapture) -> bool:
    candidate = replace(result.best.candidate, module_source=merged)  # type: ignore[union-attr]
    plan = context.verification.plan_of(result.function)
    if plan is None:  # every improved target has a plan; this only guards the invariant
        return False
    verdict = verify_candidate(candidate, plan, root=context.root, limits=_limits(context))
    return verdict.status is VerdictStatus.EQUIVALENT


def strongly_verified_changes(
    results: Sequence[TargetResult],
    sources: dict[FunctionRef, tuple[str, str]],
    accept_weak: bool,
) -> tuple[list[FileChange], list[str]]:
    """The changes `--apply` may write: weakly verified targets only with `--accept-weak`."""
    improved = [r for r in results if r.best is not None]
    weak = [r for r in improved if r.weakly_verified]
    notes = []
    if weak and not accept_weak:
        for result in weak:
            score = result.strength.score if result.strength else None
            shown = "unknown" if score is None else f"{score:.0%}"
            threshold = result.strength.threshold if result.strength else 0.0
            notes.append(
                f"{result.function} was not applied: it is weakly verified (verification "
                f"strength {shown}, below {threshold:.0%}); review its change in patch.diff "
                "and pass --accept-weak to apply it"
            )
        improved = [r for r in improved if not r.weakly_verified]
    by_path: dict[str, list[TargetResult]] = {}
    for result in improved:
        by_path.setdefault(result.best.candidate.path, []).append(result)  # type: ignore[union-attr]
    changes = []
    for path, kept in by_path.items():
        original = sources[kept[0].function][1]
        merged = merge_candidates(original, [r.best.candidate for r in kept])  # type: ignore[union-attr]
        changes.append(FileChange(path, original, merged))
    return changes, notes


def _overrides(context: _Context, changes: Iterable[FileChange]) -> dict[str, tuple[str, str]]:
    overrides = {}
    for change in changes:
        path = context.root / change.path
        module = ".".join(Path(change.path).with_suffix("").parts).removesuffix(".__init__")
        overrides[module] = (str(path), change.new)
    return overrides


def compare_workloads(
    context: _Context, changes: list[FileChange]
) -> tuple[WorkloadSpeedup | None, list[str]]:
    settings = context.settings
    assert settings.workload is not None
    comparison = measure_workload(
        settings.workload,
        context.root,
        _overrides(context, changes),
        settings=settings_from(settings),
        runs=settings.workload_runs,
        timeout=settings.workload_timeout,
        writes=settings.workload_writes,
    )
    context.store.save_workload_measurement(
        context.run_id,
        comparison.speedup,
        bool(comparison.speedup and comparison.speedup.clears(settings.min_speedup)),
        comparison.error,
    )
    notes = []
    if comparison.error:
        notes.append(f"whole-workload timing failed: {comparison.error}")
    if comparison.output_unchanged is False:
        notes.append("the workload printed something different with the patch in place")
    if comparison.output_unchanged is None and comparison.error is None:
        notes.append("the workload's own output varies from run to run, so it was not compared")
    if comparison.speedup is None:
        return None, notes
    if comparison.clock_note:
        notes.append(comparison.clock_note)
    speedup, wall = comparison.speedup, comparison.wall_speedup
    return WorkloadSpeedup(speedup, comparison.output_unchanged, wall, comparison.clock_note), notes


def apply_and_confirm(
    context: _Context,
    changes: list[FileChange],
    run_dir: Path,
    expected_stdout: str | None,
    improved: Sequence[TargetResult] = (),
) -> tuple[bool, list[str]]:
    """Apply atomically, run the workload from disk once and re-verify the patched modules
    as a whole, and undo it all if the workload fails, its output changed
    (`expected_stdout` None: the output varies run to run; not compared) or a module
    no longer imports or verifies. With --branch, commit to a new branch instead."""
    settings = context.settings
    if settings.branch:
        try:
            commit = commit_to_branch(
                context.root, changes, settings.branch, f"perfloop run {context.run_id}"
            )
        except ApplyRefused as exc:
            return False, [str(exc)]
        return False, [
            f"patch committed to the new branch {settings.branch} ({commit[:12]}); the working "
            f"tree was not changed. Review it with: git diff HEAD {settings.branch}"
        ]
    backup = run_dir / "backup"
    try:
        check_git_clean(context.root, changes, settings.force)
        apply_changes(context.root, changes, backup)
    except ApplyRefused as exc:
        return False, [str(exc)]
    except BaseException:  # Ctrl-C between two renames: the journal puts the originals back
        recover_interrupted(context.root)
        raise
    try:
        problem = _check_applied(context, changes, expected_stdout, improved)
    except BaseException:  # Ctrl-C while checking: put the originals back first
        revert_changes(context.root, changes)
        mark_journal(backup, "reverted")
        raise
    if problem is not None:
        revert_changes(context.root, changes)
        mark_journal(backup, "reverted")
        return False, [f"the patch was applied and then undone: after applying, {problem}"]
    mark_journal(backup, "confirmed")
    return True, [f"patch applied to {len(changes)} files; originals kept in {backup}"]


def _check_applied(
    context: _Context,
    changes: list[FileChange],
    expected_stdout: str | None,
    improved: Sequence[TargetResult],
) -> str | None:
    """Why the patched files on disk are not acceptable, or None."""
    settings = context.settings
    assert settings.workload is not None
    limits = _workload_limits(context)
    check = run_workload(
        settings.workload,
        context.root,
        timeout=settings.workload_timeout,
        limits=limits,
        candidate_code=True,
        writes=settings.workload_writes,
    )
    if not check.succeeded:
        return check.failure_message()
    if expected_stdout is not None and check.stdout != expected_stdout:
        return "its output changed"
    context.progress("Verifying the patched modules as they are on disk")
    return reverify_applied(
        context.root,
        changes,
        improved,
        context.verification.plan_of,
        _limits(context),
    )
