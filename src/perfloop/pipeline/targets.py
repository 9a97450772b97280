"""Profile the workload and choose the targets: the hottest functions perfloop can take."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NoReturn

from perfloop.model import FunctionRef, Limits, Profile
from perfloop.pipeline.candidates import NO_RULE_APPLIES, rule_allowed
from perfloop.pipeline.context import Context
from perfloop.profile import profile_workload
from perfloop.project import Project, TargetError
from perfloop.propose import propose_rule_candidates
from perfloop.results import TargetResult, TargetStatus
from perfloop.sandbox.runner import ChildUsage, use_import_path, workload_limits


def profile_stage(context: Context) -> Profile:
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


def with_imports(context: Context, profile: Profile) -> Context:
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


def capture_failure(message: str, limits: Limits) -> str:
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


# Passed-over functions listed as targets of their own; more are counted in a note.
PASSED_OVER_SHOWN = 5


@dataclass(frozen=True)
class TargetChoice:
    """The functions to try, and the hotter ones passed over because no proposer had
    anything for them (each already a finished result: nothing was recorded for it)."""

    targets: list[FunctionRef]
    passed_over: list[TargetResult] = field(default_factory=list)
    passed_over_more: int = 0  # passed over beyond the ones listed

    @property
    def note(self) -> str | None:
        if not self.passed_over:
            return None
        count = len(self.passed_over) + self.passed_over_more
        which = "function" if count == 1 else "functions"
        return (
            f"{count} hot {which} that no rule applies to did not take a target place: "
            "perfloop looked further down the profile for functions with candidates (an "
            "LLM, --llm, or your own command, --proposer-cmd, proposes for every hot function)"
        )


def choose_targets(
    profile: Profile,
    top: int,
    min_share: float,
    why_nothing: Callable[[FunctionRef], str | None] | None = None,
) -> TargetChoice:
    """The `top` hottest targetable functions (by own time, at least `min_share` of it).

    With `why_nothing` (rules are the only proposers), a function it gives a reason for
    (no rule applies) does not take a place: perfloop looks further down the profile,
    so the places go to functions that have candidates.
    """
    hot = [f for f in profile.functions if f.not_targetable is None and f.share >= min_share]
    if not hot:
        _no_targets(profile, min_share)
    chosen: list[FunctionRef] = []
    passed: list[TargetResult] = []
    more = 0
    for function in hot:
        if len(chosen) == top:
            break
        why = why_nothing(function.function) if why_nothing is not None else None
        if why is None:
            chosen.append(function.function)
        elif len(passed) < PASSED_OVER_SHOWN:
            status = TargetStatus.NO_FASTER_CANDIDATE
            passed.append(TargetResult(function.function, function.share, status, why, 0))
        else:
            more += 1
    return TargetChoice(chosen, passed, more)


def _no_targets(profile: Profile, min_share: float) -> NoReturn:
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


def nothing_to_propose(context: Context) -> Callable[[FunctionRef], str | None] | None:
    """When rules are the only proposers, a function's reason for not taking a target
    place (no rule applies to it); None when another proposer (an LLM, an outside
    command) could propose for any function."""
    if any(p is not propose_rule_candidates for p in context.proposers):
        return None

    def why_nothing(ref: FunctionRef) -> str | None:
        try:
            path, module_source = read_source(context.project, ref)
        except (OSError, UnicodeDecodeError, TargetError):
            return None  # the target's own stage says what is wrong with it
        candidates = propose_rule_candidates(ref, path, module_source)
        if any(rule_allowed(context.settings, c) for c in candidates):
            return None
        return NO_RULE_APPLIES

    return why_nothing


def read_source(project: Project, ref: FunctionRef) -> tuple[str, str]:
    path = project.module_path(ref.module)
    return project.relative(path), path.read_text(encoding="utf-8")
