"""The targets' winners merged into one change per file, kept only where they still verify
together."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence
from dataclasses import replace

from perfloop.model import FunctionRef, Verdict, VerdictStatus
from perfloop.patch import FileChange, merge_candidates
from perfloop.pipeline.context import Context, candidate_limits
from perfloop.pipeline.reuse import merged_verifies
from perfloop.progress import Detail, tier_progress
from perfloop.results import TargetResult, TargetStatus
from perfloop.verification import verify_candidate

NOT_TOGETHER = (
    "its best candidate verified alone but not together with the other changes to its file"
)


def merge_improvements(
    context: Context,
    results: list[TargetResult],
    sources: dict[FunctionRef, tuple[str, str]],
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
        kept = _keep_verified_together(context, original, improved, demoted)
        if kept:
            new = merge_candidates(original, [r.best.candidate for r in kept])  # type: ignore[union-attr]
            changes.append(FileChange(path, original, new, improved[0].function.module))
    final = [
        replace(
            r,
            status=TargetStatus.NO_FASTER_CANDIDATE,
            reason=NOT_TOGETHER,
            best=None,
            notes=(*r.notes, demoted[r.function]),
        )
        if r.function in demoted
        else r
        for r in results
    ]
    return changes, final


def _keep_verified_together(
    context: Context,
    original: str,
    improved: list[TargetResult],
    demoted: dict[FunctionRef, str],
) -> list[TargetResult]:
    """The improvements whose merged file verifies for each of them. All together first
    (the usual case: one check each). Where one fails, the file is built again from the
    highest speedup down, each next change kept only if every target kept so far, and its
    own, still verifies with it in place: the change that breaks the file is the one left
    out, with what broke, never a higher speedup for a lower one's sake."""
    ranked = sorted(improved, key=lambda r: r.best.measurement.speedup.ratio, reverse=True)  # type: ignore[union-attr]
    if len(ranked) < 2 or _first_failure(context, original, ranked) is None:
        return ranked
    kept = ranked[:1]  # it verified alone, which is all it is in this file
    for result in ranked[1:]:
        failure = _first_failure(context, original, [*kept, result])
        if failure is None:
            kept.append(result)
            continue
        failing, why = failure
        if failing is result:
            others = ", ".join(str(r.function) for r in kept)
            demoted[result.function] = f"in the file with the changes to {others}: {why}"
        else:
            demoted[result.function] = (
                f"with its change in the file, {failing.function} (faster by more) no longer "
                f"verifies: {why}"
            )
    return kept


def _first_failure(
    context: Context, original: str, together: list[TargetResult]
) -> tuple[TargetResult, str] | None:
    """The first target (from the lowest speedup up) whose best candidate does not verify
    in the file with all of `together`'s changes, and why; None if every one does."""
    merged = merge_candidates(original, [r.best.candidate for r in together])  # type: ignore[union-attr]
    for result in reversed(together):
        why = _why_not_together(context, result, merged)
        if why is not None:
            return result, why
    return None


def _why_not_together(context: Context, result: TargetResult, merged: str) -> str | None:
    """None if the target's best candidate verifies in the merged file, else why not."""

    def check() -> tuple[str | None, bool]:
        candidate = replace(result.best.candidate, module_source=merged)  # type: ignore[union-attr]
        plan = context.verification.plan_of(result.function)
        if plan is None:  # every improved target has a plan; this only guards the invariant
            return "it has no verification plan", False
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
        decided = verdict.status in (VerdictStatus.EQUIVALENT, VerdictStatus.DIFFERENT)
        return _found(verdict), decided

    return merged_verifies(context, result.function, merged, check)


def _found(verdict: Verdict) -> str | None:
    """What the check in the merged file found, in one line (None: the same behaviour)."""
    if verdict.status is VerdictStatus.EQUIVALENT:
        return None
    difference = verdict.difference
    if verdict.status is VerdictStatus.DIFFERENT and difference is not None:
        call = difference.call.strip().splitlines()[-1]  # a program's last line differed
        found = f"behaves differently ({difference.tier}) on {call}: {difference.description}"
    else:
        found = f"{verdict.status.value}: {verdict.reason}"
    return textwrap.shorten(found, 400, placeholder=" ...")


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
