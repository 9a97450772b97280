"""The whole workload as a check: run it with a candidate in place and compare its output.

Per-call tiers judge the calls they try; a rewrite that differs on a call they never
tried (one of 90,000, a rounding at a unit boundary) passes them. The workload's own
output sees every call. The original's output is taken once per run, from two runs
made exactly the way a candidate's run is made (sandboxed, the module served from a
file), so what differs can only be the candidate; if the two runs disagree the output
varies by itself (timings, randomness, dict order) and cannot judge.
"""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

from perfloop.measure.whole_workload import override_spec
from perfloop.verification.plan import Rollout
from perfloop.workload import WorkloadRun, run_workload

_SHOWN = 120  # characters of a differing line shown in the description


@dataclass(frozen=True)
class Reference:
    """The original workload's output, or why there is none to compare with."""

    stdout: str | None
    seconds: float  # the slower of the two original runs
    problem: str | None = None


def run_with_source(
    rollout: Rollout, root: Path, module: str, path: Path, source: str, timeout: float
) -> WorkloadRun:
    """One sandboxed run of the workload with `module` served from `source`."""
    with tempfile.TemporaryDirectory(prefix="perfloop-rollout-") as tmp:
        spec = override_spec({module: (str(path), source)}, Path(tmp))
        return run_workload(
            rollout.command,
            root,
            spec=spec,
            timeout=timeout,
            candidate_code=True,
            writes=rollout.writes,
        )


class WorkloadReference:
    """The original's output for one run of perfloop, taken on first use and kept.

    Every target's plan shares it: the original workload prints the same whatever
    function is being rewritten. Two runs, with the target's own module served from
    its file, as a candidate's run would be.
    """

    def __init__(self, rollout: Rollout, root: Path) -> None:
        self.rollout = rollout
        self.root = root
        self._reference: Reference | None = None
        self._lock = threading.Lock()

    def get(self, module: str, path: Path, source: str) -> Reference:
        with self._lock:
            if self._reference is None:
                self._reference = self._take(module, path, source)
            return self._reference

    def _take(self, module: str, path: Path, source: str) -> Reference:
        runs: list[WorkloadRun] = []
        for _ in range(2):
            run = run_with_source(
                self.rollout, self.root, module, path, source, self.rollout.timeout
            )
            if not run.succeeded:
                problem = f"the original workload failed when run this way: {run.failure_message()}"
                return Reference(None, run.seconds, problem)
            runs.append(run)
        seconds = max(run.seconds for run in runs)
        if runs[0].stdout != runs[1].stdout:
            return Reference(
                None,
                seconds,
                "the original workload printed different output in two runs (timings, "
                "randomness, set or dict order?), so its output cannot judge a candidate; "
                "make the workload print only deterministic results",
            )
        return Reference(runs[0].stdout, seconds)


def first_difference(expected: str, got: str) -> str:
    """Where the candidate's output first departs from the original's, in one line."""
    expected_lines, got_lines = expected.splitlines(), got.splitlines()
    for number, (want, have) in enumerate(zip(expected_lines, got_lines), start=1):
        if want != have:
            return (
                f"the workload printed {_shown(have)} where the original printed "
                f"{_shown(want)} (line {number} of its output)"
            )
    if len(got_lines) < len(expected_lines):
        missing = expected_lines[len(got_lines)]
        return (
            f"the workload's output stopped after {len(got_lines)} lines; the original went on "
            f"with {_shown(missing)}"
        )
    if len(got_lines) > len(expected_lines):
        extra = got_lines[len(expected_lines)]
        return f"the workload printed more than the original, from {_shown(extra)} on"
    return "the workload's output differs from the original's in its line endings or spaces"


def _shown(line: str) -> str:
    return repr(line if len(line) <= _SHOWN else line[:_SHOWN] + "...")
