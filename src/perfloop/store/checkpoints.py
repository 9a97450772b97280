"""Crash-safe runs: steps recorded as they complete, and continuing a stopped run.

Each step of a run (profile, the chosen targets' sources, capture, each target,
each candidate's verdict and measurement, the whole-workload A/B, the apply) is
written to the run store when it completes, in its own transaction. A run
stopped at any point (Ctrl-C, SIGKILL, power loss) is continued by
`perfloop resume RUN_ID`, which reuses every completed step and redoes only
the one that was under way. An apply that was under way is undone first (see
perfloop.patch's journal), so the apply step starts again from the originals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from perfloop.config import ConfigError, Settings
from perfloop.model import FunctionRef, RunId, TargetCapture
from perfloop.sandbox.decode import Refused
from perfloop.store.runs import RunStore

T = TypeVar("T")
SETTINGS_STEP = "settings"
SOURCES_STEP = "sources"


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run; the message says what was finished and how to resume."""


@dataclass(frozen=True)
class Checkpoints:
    """The completed steps of one run; `step` reuses one or computes and records it."""

    store: RunStore
    run_id: RunId
    done: dict[str, object] = field(default_factory=dict)

    def step(self, name: str, compute: Callable[[], T]) -> T:
        if name in self.done:
            return self.done[name]  # type: ignore[return-value]
        value = compute()
        self.store.save_step(self.run_id, name, value)
        self.done[name] = value
        return value

    def captures(
        self, compute: Callable[[], dict[FunctionRef, TargetCapture]]
    ) -> dict[FunctionRef, TargetCapture]:
        """The recorded calls: from the store if captured, else captured and stored at once."""
        if "capture" in self.done:
            return self.store.load_captures(self.run_id)
        captures = compute()
        self.store.save_captures(self.run_id, captures)
        self.done["capture"] = sorted(captures)
        return captures

    def summary(self) -> str:
        """What was finished, in words, for the Ctrl-C message."""
        names = [n for n in self.done if n not in {SETTINGS_STEP, SOURCES_STEP}]
        targets = [n.removeprefix("target:") for n in names if n.startswith("target:")]
        candidates = sum(1 for n in names if n.startswith("candidate:"))
        parts = [n for n in ("profile", "capture") if n in names]
        if targets:
            parts.append(f"{len(targets)} target(s) ({', '.join(targets)})")
        if candidates:
            parts.append(f"{candidates} candidate(s) verified and measured")
        parts += [n for n in ("workload", "apply") if n in names]
        return ", ".join(parts) or "nothing yet"


def interrupted_message(run_id: RunId, root: Path, checkpoints: Checkpoints) -> str:
    return (
        f"perfloop: run {run_id} interrupted. Finished: {checkpoints.summary()}. The project's "
        f"files were not changed. Continue with: perfloop resume {run_id} --root {root}"
    )


@dataclass(frozen=True)
class Resumable:
    settings: Settings
    checkpoints: Checkpoints


def load_resumable(store: RunStore, run_id: RunId, root: Path) -> Resumable:
    """The settings and completed steps of a stopped run; ConfigError if it cannot go on."""
    info = store.run_info(run_id)
    if info is None:
        raise ConfigError(
            f"no run {run_id!r} in {store.path}; `ls {root / '.perfloop' / 'runs'}` lists runs"
        )
    if info.status == "completed":
        raise ConfigError(
            f"run {run_id} already completed; its results are in "
            f"{root / '.perfloop' / 'runs' / run_id}"
        )
    try:
        done = store.steps(run_id)
    except Refused as exc:
        raise ConfigError(
            f"cannot resume run {run_id}: {exc}. Another version of perfloop, or something "
            f"else, wrote it to {store.path}; start a new run."
        ) from None
    stored = done.get(SETTINGS_STEP)
    if not isinstance(stored, Settings):
        raise ConfigError(
            f"run {run_id} stopped before it recorded its settings; start a new run instead"
        )
    changed = _changed_sources(root, done.get(SOURCES_STEP))
    if changed:
        raise ConfigError(
            f"cannot resume run {run_id}: {', '.join(changed)} changed since the run read it, "
            "so its recorded calls and verdicts no longer describe the code. Start a new run."
        )
    settings = replace(stored, root=root)
    return Resumable(settings, Checkpoints(store, run_id, done))


def _changed_sources(root: Path, sources: object) -> list[str]:
    if not isinstance(sources, dict):
        return []
    changed = []
    for _ref, (path, text) in sorted(sources.items(), key=lambda item: str(item[0])):
        try:
            current = (root / path).read_text(encoding="utf-8")
        except OSError:
            current = None
        if current != text and path not in changed:
            changed.append(path)
    return changed
