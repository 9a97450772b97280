"""Profile the workload and choose the targets: the hottest functions perfloop can take."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from perfloop.model import FunctionRef, Limits, Profile
from perfloop.pipeline.context import Context
from perfloop.profile import profile_workload
from perfloop.project import Project, TargetError
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


def read_source(project: Project, ref: FunctionRef) -> tuple[str, str]:
    path = project.module_path(ref.module)
    return project.relative(path), path.read_text(encoding="utf-8")
