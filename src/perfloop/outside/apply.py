"""Write a verified outside candidate into the project, with the safety checks of `--apply`.

The candidate is verified first (all tiers, as `perfloop verify`); only an
equivalent one is written. The write is atomic and refused if the file changed
since perfloop read it; then the workload runs once from disk and the patch is
undone if it fails or prints something different from before.
"""

from __future__ import annotations

from dataclasses import dataclass

from perfloop.config import Settings
from perfloop.model import FunctionRef
from perfloop.outside.calls import require_workload
from perfloop.outside.candidate import CandidateSpec, read_target
from perfloop.outside.verify import verify_outside
from perfloop.patch import ApplyRefused, FileChange, apply_changes, revert_changes, unified_diff
from perfloop.project import Project
from perfloop.results import Decision, VerifyResult
from perfloop.verification import VerifySettings
from perfloop.workload import WorkloadError, run_workload


@dataclass(frozen=True)
class ApplyResult:
    applied: bool
    reason: str
    verification: VerifyResult
    diff: str
    backup: str | None = None


def apply_outside(
    settings: Settings,
    target: str,
    spec: CandidateSpec,
    run: str | None = None,
    engine: VerifySettings | None = None,
) -> ApplyResult:
    """Verify, then write atomically and confirm with one workload run; undo if it misbehaves."""
    workload = require_workload(settings, "to confirm the patch once it is written")
    project = Project(settings.root.resolve())
    before = read_target(project, FunctionRef.parse(target))
    verification = verify_outside(settings, target, spec, run, engine=engine)
    candidate = verification.candidate
    change = FileChange(
        before.path, before.source, candidate.module_source, candidate.function.module
    )
    diff = unified_diff([change])
    if verification.decision is not Decision.EQUIVALENT:
        return ApplyResult(
            False,
            f"not applied: {verification.decision.value}: {verification.reason}",
            verification,
            diff,
        )
    expected = _stable_output(workload, settings)
    backup = project.root / ".perfloop" / "runs" / verification.run_id / "backup"
    try:
        apply_changes(project.root, [change], backup)
    except ApplyRefused as exc:
        return ApplyResult(False, str(exc), verification, diff)
    after = run_workload(
        workload,
        project.root,
        timeout=settings.workload_timeout,
        candidate_code=True,
        writes=settings.workload_writes,
    )
    if not after.succeeded or (expected is not None and after.stdout != expected):
        revert_changes(project.root, [change])
        why = after.failure_message() if not after.succeeded else "its output changed"
        return ApplyResult(
            False, f"applied and then undone: after applying, {why}", verification, diff
        )
    return ApplyResult(
        True,
        f"applied to {before.path}; the original is in {backup}",
        verification,
        diff,
        str(backup),
    )


def _stable_output(workload: str, settings: Settings) -> str | None:
    """The workload's output if two runs agree on it, else None (then it is not compared)."""
    outputs = []
    for _ in range(2):
        run = run_workload(
            workload,
            settings.root.resolve(),
            timeout=settings.workload_timeout,
            candidate_code=True,  # the same environment as the run after applying
            writes=settings.workload_writes,
        )
        if not run.succeeded:
            raise WorkloadError(run.failure_message())
        outputs.append(run.stdout)
    return outputs[0] if outputs[0] == outputs[1] else None
