"""After an apply: the patched modules, read back from disk, import and still verify.

The candidates were verified with their sources served by the import hook; this
checks what actually landed in the files: each changed module imports in a
fresh sandboxed worker (no stale bytecode: the worker has its own cache), and
each improved function verifies again, with the file's whole new text as the
candidate, through every tier of its plan.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.model import FunctionRef, Limits, VerdictStatus
from perfloop.patch import FileChange, imported_as
from perfloop.results import TargetResult
from perfloop.sandbox.runner import run_in_worker
from perfloop.verification import TargetPlan, verify_candidate


@dataclass(frozen=True)
class ImportTask:
    modules: tuple[str, ...]


def import_modules(task: ImportTask) -> None:
    """Worker side: import each module from disk."""
    for module in task.modules:
        importlib.import_module(module)


def reverify_applied(
    root: Path,
    changes: Sequence[FileChange],
    improved: Sequence[TargetResult],
    plan_of: Callable[[FunctionRef], TargetPlan | None],
    limits: Limits,
) -> str | None:
    """Why the files on disk fail the check (a sentence), or None when they pass."""
    modules = tuple(imported_as(c) for c in changes)
    outcome = run_in_worker(
        "perfloop.verification.applied:import_modules",
        ImportTask(modules),
        root=root,
        limits=limits,
        returns=None,
    )
    if not outcome.ok:
        last = " / ".join(outcome.message.strip().splitlines()[-3:])
        return f"the patched modules ({', '.join(modules)}) do not import: {last}"
    changed = {c.path for c in changes}
    for result in improved:
        best = result.best
        if best is None or best.candidate.path not in changed:
            continue
        plan = plan_of(result.function)
        if plan is None:
            return f"{result.function} has no verification plan to check it again"
        on_disk = (root / best.candidate.path).read_text(encoding="utf-8")
        candidate = replace(best.candidate, module_source=on_disk)
        verdict = verify_candidate(candidate, plan, root=root, limits=limits)
        if verdict.status is not VerdictStatus.EQUIVALENT:
            why = verdict.difference.description if verdict.difference else verdict.reason
            return f"{result.function} no longer verifies in the patched file ({why})"
    return None
