"""The order of the stages of one run (and of a resumed one); each step calls into its stage."""

from __future__ import annotations

import contextlib
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from functools import partial
from pathlib import Path

from perfloop.capture import CaptureSettings, capture_calls, capture_notes, counts_to_plan
from perfloop.config import ConfigError, Settings
from perfloop.model import FunctionRef, LineProfile, RunId, TargetCapture
from perfloop.patch import recover_interrupted, unified_diff
from perfloop.pipeline import reuse
from perfloop.pipeline.budget import Budget
from perfloop.pipeline.confirm import apply_and_confirm, compare_workloads
from perfloop.pipeline.context import (
    DEFAULT_PROPOSERS,
    AnyProposer,
    Context,
    Progress,
    candidate_limits,
    index_limits,
    quiet,
    recorded_limits,
)
from perfloop.pipeline.merge import merge_improvements, strongly_verified_changes
from perfloop.pipeline.reuse import class_target_result, target_result, workload_comparison
from perfloop.pipeline.review import Reviewer, review_targets
from perfloop.pipeline.targets import (
    TargetChoice,
    capture_failure,
    choose_targets,
    nothing_to_propose,
    profile_stage,
    read_source,
    with_imports,
)
from perfloop.pipeline.whole_class import Methods, class_share, hot_methods
from perfloop.profile import line_profile, why_not_targetable
from perfloop.project import Project, TargetError
from perfloop.report import write_run_files
from perfloop.report.json import render as render_json
from perfloop.results import RunResult, TargetResult, TargetStatus, WorkloadSpeedup
from perfloop.sandbox.runner import (
    configure_workers,
    isolation_gaps,
    plan_workers,
    worker_isolation,
)
from perfloop.store.cache import ResultCache
from perfloop.store.checkpoints import (
    SETTINGS_STEP,
    SOURCES_STEP,
    Checkpoints,
    RunInterrupted,
    interrupted_message,
    load_resumable,
)
from perfloop.store.lock import project_lock
from perfloop.store.runs import RunStore, new_run_id
from perfloop.verification import RunVerification, VerifySettings
from perfloop.verification.compare import ComparePolicy
from perfloop.verification.project_tests import apply_gate
from perfloop.workload import WorkloadError


def optimize(
    settings: Settings,
    progress: Progress = quiet,
    proposers: Sequence[AnyProposer] = DEFAULT_PROPOSERS,
    reviewer: Reviewer | None = None,
) -> RunResult:
    """Run the whole pipeline on the workload in `settings`; see the module docstring.

    With a `reviewer` (`--interactive`), a person decides which candidates to apply."""
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
        if project.defines_class(ref):  # a whole class as the target (pipeline.whole_class)
            continue
        problem = why_not_targetable(project.check_function(ref), ref.qualname)
        if problem is not None:
            raise TargetError(
                f"{ref} is {problem}: perfloop cannot rewrite it. Name another function, or "
                "leave out --function to let perfloop pick the hottest ones it can rewrite"
            )
    if settings.ray_address and settings.executor != "ray":
        raise ConfigError(
            f"--ray-address {settings.ray_address} is for --executor ray; add --executor ray "
            "to run the verification work on that cluster, or leave out --ray-address"
        )
    if settings.executor == "ray":  # before the run starts: says how to install Ray
        from perfloop.sandbox.ray_executor import require_ray

        require_ray()
    run_id = new_run_id()
    with project_lock(root, run_id):
        recovered = recover_interrupted(root)
        store = RunStore(root / ".perfloop" / "perfloop.db")
        python = ".".join(map(str, sys.version_info[:3]))
        store.start_run(run_id, python, settings.workload, root)
        checkpoints = Checkpoints(store, run_id)
        checkpoints.step(SETTINGS_STEP, lambda: settings)
        return _execute(
            settings, project, explicit, checkpoints, progress, proposers, recovered, reviewer
        )


def resume(
    run_id: RunId,
    root: Path,
    progress: Progress = quiet,
    proposers: Callable[[Settings], Sequence[AnyProposer]] = lambda _: DEFAULT_PROPOSERS,
    reviewer: Callable[[Settings], Reviewer | None] = lambda _: None,
) -> RunResult:
    """Continue a stopped run from its last completed step (see perfloop.store.checkpoints)."""
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
        return _execute(
            settings,
            project,
            explicit,
            checkpoints,
            progress,
            chosen,
            recovered,
            reviewer(settings),
        )


def _execute(
    settings: Settings,
    project: Project,
    explicit: list[FunctionRef],
    checkpoints: Checkpoints,
    progress: Progress,
    proposers: Sequence[AnyProposer],
    recovered: list[str],
    reviewer: Reviewer | None = None,
) -> RunResult:
    root, store, run_id = project.root, checkpoints.store, checkpoints.run_id
    run_dir = root / ".perfloop" / "runs" / run_id
    python = ".".join(map(str, sys.version_info[:3]))
    with contextlib.ExitStack() as stack:
        try:
            slots, notes = stack.enter_context(executor_for(settings, root))
        except BaseException as exc:  # Ray missing, or the cluster unusable: nothing ran
            store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
            store.close()
            raise
        context = run_context(
            settings, project, checkpoints, progress, proposers, [*recovered, *notes], slots
        )
        cache = context.cache
        try:
            result = run_stages(context, explicit, run_dir, python, reviewer)
        except KeyboardInterrupt as exc:
            if cache is not None:
                cache.close()
            message = interrupted_message(run_id, root, checkpoints)
            store.set_run_status(run_id, "interrupted", message)
            store.close()
            raise RunInterrupted(message) from exc
        except BaseException as exc:
            if cache is not None:
                cache.close()
            store.fail_run(run_id, f"{type(exc).__name__}: {exc}")
            store.close()
            raise
        if cache is not None:
            cache.close()
        store.close()
        return result


@contextlib.contextmanager
def executor_for(settings: Settings, root: Path) -> Iterator[tuple[int | None, list[str]]]:
    """Where the run's sandboxed verification work goes (`--executor`): yields how many
    jobs may run at once there (None: the local plan) and notes for the report."""
    if settings.executor != "ray":
        yield None, []
        return
    from perfloop.sandbox.ray_executor import ray_executor

    cpus = plan_workers(settings.workers, settings.memory_mb).count
    with ray_executor(root, cpus, settings.ray_address, settings.workers) as (executor, notes):
        where = f"the Ray cluster at {executor.address}" if executor.address else "a local Ray"
        yield (
            executor.slots,
            [
                f"verification ran as Ray tasks on {where} ({executor.nodes} node(s), "
                f"{executor.slots} task(s) at once); timings ran on this machine",
                *notes,
            ],
        )


def run_context(
    settings: Settings,
    project: Project,
    checkpoints: Checkpoints,
    progress: Progress = quiet,
    proposers: Sequence[AnyProposer] = DEFAULT_PROPOSERS,
    notes: Sequence[str] = (),
    slots: int | None = None,
) -> Context:
    """What the stages of run `checkpoints.run_id` are handed: the workers planned, the
    comparison policy, the run's verification and the result cache opened (the caller
    closes `context.cache`). A later step on a stopped or finished run (a review's hint
    from an agent) builds the same from the run's settings and checkpoints."""
    root = project.root
    workers = plan_workers(settings.workers, settings.memory_mb)
    # slots: what --executor ray offers
    configure_workers(slots or workers.count, warm=settings.warm_workers)
    settings = replace(settings, memory_mb=workers.memory_mb)
    gaps = isolation_gaps(worker_isolation(root))
    if gaps:
        notes = [
            *notes,
            f"candidate code runs with part of the sandbox missing on this machine "
            f"({'; '.join(gaps)}); the tripwire still stops what it sees. `perfloop doctor` "
            "shows each layer (see Safety in the README)",
        ]
    policy = ComparePolicy(
        float_rel_tolerance=settings.float_tolerance,
        exception_messages=settings.exception_messages,
    )
    verification = RunVerification(
        root, VerifySettings.from_settings(settings, policy), index_limits(settings)
    )
    cache, cache_note = ResultCache.open(root / ".perfloop")
    notes = [*notes, *([cache_note] if cache_note else [])]
    return Context(
        settings,
        project,
        checkpoints.run_id,
        checkpoints.store,
        policy,
        progress,
        tuple(proposers),
        verification,
        checkpoints,
        (*notes, *([workers.note] if workers.note else [])),
        budget=Budget.of_minutes(settings.budget),
        cache=cache,
    )


QUICK_TARGET_SECONDS = 5.0


def time_left_text(durations: Sequence[float], total: int) -> str:
    """` (about 3 min left for the targets)`: the mean time of the finished targets that
    took work, for each one left; empty while none has. A target that took under
    QUICK_TARGET_SECONDS (no candidate, or its result reused) says nothing about the
    others: toml 0.10.2's first target was unverifiable at once, and the next line read
    "about 10 s left" for 13 minutes of work."""
    done = len(durations)
    worked = [seconds for seconds in durations if seconds >= QUICK_TARGET_SECONDS]
    if not worked or done >= total:
        return ""
    left = sum(worked) / len(worked) * (total - done)
    amount = f"{round(left / 60)} min" if left >= 90 else f"{max(10, round(left, -1)):.0f} s"
    return f" (about {amount} left for the targets)"


def run_stages(
    context: Context,
    explicit: list[FunctionRef],
    run_dir: Path,
    python: str,
    reviewer: Reviewer | None = None,
) -> RunResult:
    settings, root = context.settings, context.root
    assert settings.workload is not None
    checkpoints = context.checkpoints
    profile = checkpoints.step(
        "profile", partial(reuse.profile, context, partial(profile_stage, context))
    )
    context = with_imports(context, profile)
    context.budget.keep_for_the_end(profile.wall_seconds, settings.workload_runs)
    workload_limits = recorded_limits(context)
    choice = (
        TargetChoice(list(explicit))
        if explicit
        else choose_targets(profile, settings.top, settings.min_share, nothing_to_propose(context))
    )
    targets = choice.targets
    classes = {ref for ref in targets if context.project.defines_class(ref)}
    sources = checkpoints.step(
        SOURCES_STEP, lambda: {ref: read_source(context.project, ref) for ref in targets}
    )

    # recording pickles every call's arguments, which can cost far more than the run
    # itself (a call that carries a whole object graph): only the user's timeout bounds it
    timeout = settings.workload_timeout
    capture_limits = replace(
        workload_limits,
        wall_seconds=timeout,
        cpu_seconds=max(workload_limits.cpu_seconds, int(timeout) + 5),
    )

    def capture_of(refs: list[FunctionRef]) -> dict[FunctionRef, TargetCapture]:
        return capture_calls(
            settings.workload,  # type: ignore[arg-type]
            root,
            refs,
            CaptureSettings.of(settings, capture_limits),
            expected_calls=counts_to_plan(profile.functions, refs),
        )

    def capture() -> dict[FunctionRef, TargetCapture]:
        functions = "1 function" if len(targets) == 1 else f"{len(targets)} functions"
        context.progress(f"Capturing calls of {functions}")
        try:
            return capture_of(list(targets))
        except WorkloadError as exc:  # it ran fine while profiled: the recorder is the cause
            failure = WorkloadError(capture_failure(str(exc), capture_limits))
            if len(targets) == 1:
                raise failure from exc
            return capture_one_by_one(failure)

    def capture_one_by_one(failure: WorkloadError) -> dict[FunctionRef, TargetCapture]:
        """Recording them together made the workload fail: each is recorded alone, and
        only the ones whose recording breaks the workload are left out (mpmath 1.3.0:
        loading back the recorded calls of `fdot`, whose `self` holds classes made at run
        time, once set attributes on those live classes and broke the run for every
        target; perfloop.runtime.pickling.check_loads)."""
        captured: dict[FunctionRef, TargetCapture] = {}
        for number, ref in enumerate(targets, 1):
            context.progress(
                f"Recording all {len(targets)} at once made the workload fail; recording "
                f"each alone ({number} of {len(targets)}: {ref})"
            )
            try:
                captured.update(capture_of([ref]))
            except WorkloadError as exc:
                last_line = str(exc).strip().splitlines()[-1].strip()
                captured[ref] = TargetCapture(
                    ref,
                    0,
                    (),
                    problem=f"recording its calls made the workload fail ({last_line}); "
                    "the other targets were recorded without it",
                )
        if not any(c.records for c in captured.values()):
            raise failure
        return captured

    reused_or_captured = partial(reuse.captures, context, targets, capture)
    captures = checkpoints.captures(reused_or_captured) if targets else {}
    lines: dict[FunctionRef, LineProfile] = {}
    functions = [ref for ref in targets if ref not in classes]  # a class is not prompted for
    if context.round_proposers and functions:  # only a proposer that reads prompts needs them
        context.progress("Timing the lines of the targets")
        paths = {ref: root / path for ref, (path, _) in sources.items()}
        lines = checkpoints.step(
            "lines",
            lambda: line_profile(
                settings.workload, root, functions, paths, timeout=settings.workload_timeout
            ),
        )
    shares = {f.function: f.share for f in profile.functions}
    shares.update({ref: class_share(profile, ref) for ref in classes})
    results = []
    class_methods: dict[FunctionRef, Methods] = {}  # a whole class's hot methods
    durations: list[float] = []  # of the targets finished
    for number, ref in enumerate(targets, start=1):
        if context.budget.spent():
            context.budget.skip_target(ref)
            skipped = TargetResult(
                ref,
                shares.get(ref, 0.0),
                TargetStatus.SKIPPED,
                "not tried: the run's --budget ran out",
                len(captures[ref].records),
                whole_class=ref in classes,
            )
            context.store.save_target_result(context.run_id, skipped)
            results.append(skipped)
            continue
        left = time_left_text(durations, len(targets))
        started = time.monotonic()
        context.progress(f"Target {number} of {len(targets)}: {ref}{left}")
        if ref in classes:  # a whole class: rewrites of its hot methods, judged together
            methods = hot_methods(profile, ref, sources[ref][1], captures[ref])
            class_methods[ref] = methods
            judge = partial(
                class_target_result, context, ref, shares[ref], sources[ref], captures[ref], methods
            )
        else:
            judge = partial(
                target_result,
                context,
                ref,
                shares.get(ref, 0.0),
                sources[ref],
                captures[ref],
                lines.get(ref),
            )
        result = checkpoints.step(f"target:{ref}", judge)
        context.store.save_target_result(context.run_id, result)
        results.append(result)
        durations.append(time.monotonic() - started)
    if reviewer is not None:  # a person picks what to apply (--interactive)
        results = review_targets(
            context, results, sources, captures, lines, reviewer, class_methods
        )
    for result in results:
        if result.best is not None:  # its plan, prepared if merging or applying needs it
            path, module_source = sources[result.function]
            context.verification.expect(
                result.function,
                path,
                module_source,
                captures[result.function],
                candidate_limits(context),
                result.whole_class,
            )

    changes, results = merge_improvements(context, results, sources)
    for passed in choice.passed_over:
        context.store.save_target_result(context.run_id, passed)
    results = sorted([*results, *choice.passed_over], key=lambda r: -r.share)
    workload_speedup, notes = None, list(context.starting_notes)
    notes.extend(capture_notes(captures))
    notes.extend([choice.note] if choice.note else [])
    notes.extend([context.budget.note()] if context.budget.note() else [])
    trusted = reuse.trusted_note(context)
    notes.extend([trusted] if trusted else [])
    if changes:

        def compare() -> tuple[WorkloadSpeedup | None, list[str]]:
            context.progress("Timing the whole workload, original against patched")
            return compare_workloads(context, changes)

        (workload_speedup, note), reused_from = checkpoints.step(
            "workload",
            partial(workload_comparison, context, changes, profile, compare),
        )
        notes.extend(note)
        if reused_from is not None:
            notes.append(
                f"the whole-workload A/B of this patch was reused from run {reused_from} "
                "(the same patch, project sources and workload output; --remeasure times it again)"
            )
    if changes and (settings.apply or settings.branch):
        context.verification.index_tests()  # the apply gate must know whether they could run
    tests_problem = context.verification.tests_problem()
    notes.extend(context.verification.tests_notes())
    applying = settings.apply or settings.branch or settings.interactive
    if tests_problem is not None and not (changes and applying):
        notes.append(f"the project's tests did not judge the candidates: {tests_problem}")
    notes.extend(n for n in context.reused_test_notes if n not in notes)
    if context.cache is not None:
        notes.extend(context.cache.notes)
    applied, to_apply, gate = False, [], apply_gate(None, False)
    if changes and applying:
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
        decisions=tuple(context.store.decisions(context.run_id)),
    )
    write_run_files(result, run_dir)
    context.store.finish_run(result, render_json(result))
    return result
