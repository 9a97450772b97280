"""The targets' winners merged into one change per file, kept only where they still verify
together."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from perfloop.model import FunctionRef, TargetCapture, VerdictStatus
from perfloop.patch import FileChange, merge_candidates
from perfloop.pipeline.context import Context, candidate_limits
from perfloop.pipeline.reuse import merged_verifies
from perfloop.progress import Detail, tier_progress
from perfloop.results import TargetResult, TargetStatus
from perfloop.verification import verify_candidate


def merge_improvements(
    context: Context,
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
            changes.append(FileChange(path, original, new, improved[0].function.module))
    final = [
        replace(r, status=TargetStatus.NO_FASTER_CANDIDATE, reason=demoted[r.function], best=None)
        if r.function in demoted
        else r
        for r in results
    ]
    return changes, final


def _keep_verified_together(
    context: Context,
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


def _verifies(context: Context, result: TargetResult, merged: str, capture: TargetCapture) -> bool:
    def check() -> bool:
        candidate = replace(result.best.candidate, module_source=merged)  # type: ignore[union-attr]
        plan = context.verification.plan_of(result.function)
        if plan is None:  # every improved target has a plan; this only guards the invariant
            return False
        limits = candidate_limits(context)
        doing = f"{result.function}: verifying it together with the other changes to its file"
        context.progress(Detail(doing))
        verdict = verify_candidate(
            candidate,
            plan,
            root=context.root,
            limits=limits,
            on_tier=tier_progress(context.progress, doing),
        )
        return verdict.status is VerdictStatus.EQUIVALENT

    return merged_verifies(context, result.function, merged, check)


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
        changes.append(FileChange(path, original, merged, kept[0].function.module))
    return changes, notes
