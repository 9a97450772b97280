"""`--budget MINUTES`: the run's time, spent target by target and candidate by candidate.

The run checks the budget before each target and before each candidate's verification,
so it ends at most one candidate's work after the budget runs out. The stages after
the targets (timing the whole workload, applying and confirming) are kept a reserve,
estimated from the profiled workload's time, so a run that found something can still
measure it and write it. What was left out is said in the run's notes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from perfloop.model import FunctionRef


@dataclass
class Budget:
    """The run's time limit in seconds (None: no limit) and what it left out."""

    seconds: float | None
    clock: Callable[[], float] = time.monotonic
    started: float = field(default=0.0)
    reserve: float = 0.0  # seconds kept for the stages after the targets
    skipped_targets: list[FunctionRef] = field(default_factory=list)
    skipped_candidates: dict[FunctionRef, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.started = self.clock()

    @classmethod
    def of_minutes(cls, minutes: float | None) -> Budget:
        return cls(None if minutes is None else minutes * 60)

    def keep_for_the_end(self, workload_seconds: float, workload_runs: int) -> None:
        """Reserve the whole-workload A/B (`workload_runs` pairs) plus applying and
        confirming the patch (about two runs more)."""
        self.reserve = workload_seconds * (2 * workload_runs + 2)

    def spent(self) -> bool:
        if self.seconds is None:
            return False
        return self.clock() - self.started + self.reserve >= self.seconds

    def skip_target(self, ref: FunctionRef) -> None:
        self.skipped_targets.append(ref)

    def skip_candidate(self, ref: FunctionRef) -> None:
        self.skipped_candidates[ref] = self.skipped_candidates.get(ref, 0) + 1

    def note(self) -> str | None:
        """What the budget left out, or None when it left out nothing."""
        if self.seconds is None or not (self.skipped_targets or self.skipped_candidates):
            return None
        parts = []
        if self.skipped_targets:
            names = ", ".join(str(ref) for ref in self.skipped_targets)
            count = len(self.skipped_targets)
            parts.append(f"{count} target{'s' if count != 1 else ''} not tried ({names})")
        for ref, count in self.skipped_candidates.items():
            parts.append(f"{count} candidate{'s' if count != 1 else ''} of {ref} not tried")
        return (
            f"the --budget of {_minutes(self.seconds)} ran out "
            f"(keeping {self.reserve:.0f} s for timing the whole workload and applying): "
            f"{'; '.join(parts)}. Give a larger --budget, or fewer targets with --top"
        )


def _minutes(seconds: float) -> str:
    minutes = seconds / 60
    return f"{minutes:g} min" if minutes >= 1 else f"{seconds:g} s"
