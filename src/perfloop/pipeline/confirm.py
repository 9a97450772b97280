"""The whole workload, original against patched; then the patch applied (or committed)
and confirmed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from perfloop.measure import measure_workload, settings_from, workload_overrides
from perfloop.patch import (
    ApplyRefused,
    FileChange,
    apply_changes,
    check_git_clean,
    commit_to_branch,
    imported_as,
    mark_journal,
    recover_interrupted,
    revert_changes,
)
from perfloop.pipeline.context import Context, candidate_limits, recorded_limits
from perfloop.results import TargetResult, WorkloadSpeedup
from perfloop.verification.applied import reverify_applied
from perfloop.workload import run_workload


def _overrides(context: Context, changes: Iterable[FileChange]) -> dict[str, tuple[str, str]]:
    """The patch's files by the names the workload imports them under."""
    return workload_overrides(
        context.root, [(imported_as(change), change.path, change.new) for change in changes]
    )


def compare_workloads(
    context: Context, changes: list[FileChange]
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
    context: Context,
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
    context: Context,
    changes: list[FileChange],
    expected_stdout: str | None,
    improved: Sequence[TargetResult],
) -> str | None:
    """Why the patched files on disk are not acceptable, or None."""
    settings = context.settings
    assert settings.workload is not None
    limits = recorded_limits(context)
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
        candidate_limits(context),
    )
