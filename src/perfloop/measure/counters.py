"""Instructions per pass: a deterministic second opinion beside the time ratio.

Time on a shared machine is noisy; the number of CPU instructions a pass over
the recorded calls executes is not (to a few parts per million). Where the
machine can count them, perfloop does, for faster candidates: with `perf stat`
(hardware counters; often unavailable in containers and VMs) or else with
valgrind's callgrind (a simulated CPU: exact, about 50 times slower, so only a
few passes are counted).

A counter sees a whole process, so the count is differential: three sandboxed
worker processes do the same setup (load both versions, prepare inputs, one
untimed pass of each) and then run `passes` passes of nothing, of the
original, or of the candidate; instructions per pass = (side - nothing) /
passes. Hash randomisation is fixed (PYTHONHASHSEED=0) so the three setups
execute the same instructions. Counters are no timing: a candidate that
replaces many cheap instructions with few expensive ones (or the reverse) is
faster or slower than its count says, so the time ratio stays the decision.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import math
import platform
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.measure.timing import (
    Call,
    RecordedInputs,
    TimingTask,
    Version,
    fresh_loader,
    load_versions,
)
from perfloop.model import InstructionCounts, Limits
from perfloop.sandbox.runner import run_in_worker

COUNTING_ENTRY = "perfloop.measure.counters:run_counting_task"
TARGET_NATIVE_SECONDS = 0.005  # of passes per counted side (x50 under callgrind)
MAX_PASSES = 20
COUNTING_LIMITS = Limits(wall_seconds=300, cpu_seconds=300, memory_mb=8192)
SIDES = ("none", "baseline", "candidate")


@dataclass(frozen=True)
class CountingTask:
    """One counting process: the timing task's versions and inputs, and which side to run."""

    timing: TimingTask
    side: str
    passes: int


@dataclass(frozen=True)
class Counted:
    """What a counting process reports back (the counter reads the count from outside)."""

    side: str
    passes: int


def run_counting_task(task: CountingTask) -> Counted:
    """The worker entry: identical setup on every side, then `passes` passes of one side.

    The garbage collector is off from the end of the setup, so a collection
    cannot fall into one side's passes and not another's.
    """
    timing = task.timing
    original, candidate = load_versions(timing)
    inputs = RecordedInputs(timing.call_args)
    fresh = {
        "baseline": fresh_loader(timing, timing.original_source),
        "candidate": fresh_loader(timing, timing.candidate_source),
    }
    warm = {"baseline": original, "candidate": candidate}
    prepared: dict[str, list[tuple[Version, list[Call]]]] = {}
    for side in ("baseline", "candidate"):
        versions = [fresh[side]() if timing.cold else warm[side] for _ in range(task.passes)]
        prepared[side] = [(v, inputs.prepare(1, v.module)) for v in versions]
        if not timing.cold:  # one untimed pass of each, in every run alike
            run_pass(warm[side], inputs.prepare(1, warm[side].module))
    gc.collect()
    gc.disable()
    if task.side != "none":
        for version, calls in prepared[task.side]:
            run_pass(version, calls)
    return Counted(task.side, task.passes)


def run_pass(version: Version, calls: list[Call]) -> None:
    for args, kwargs in calls:
        with contextlib.suppress(Exception):
            version.function(*args, **kwargs)


@functools.lru_cache(maxsize=1)
def available_counter() -> tuple[str | None, str]:
    """("perf stat" | "callgrind" | None, why the better ones are not used)."""
    perf_problem = _perf_problem()
    if perf_problem is None:
        return "perf stat", ""
    if shutil.which("valgrind") is not None:
        return "callgrind", f"perf stat cannot count instructions here ({perf_problem})"
    return None, (
        f"perf stat cannot count instructions here ({perf_problem}) and valgrind is not "
        "installed; install valgrind (apt-get install valgrind) for exact counts of short runs"
    )


def _perf_problem() -> str | None:
    if shutil.which("perf") is None:
        return "perf is not installed"
    try:
        done = subprocess.run(
            ["perf", "stat", "-x,", "-e", "instructions:u", "true"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"perf failed: {exc}"
    if parse_perf_count(done.stderr) is None:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return f"'perf stat -e instructions:u true' gave {last!r}"
    return None


def parse_perf_count(text: str) -> int | None:
    """The instructions count from `perf stat -x,` output, None if not counted."""
    for line in text.splitlines():
        fields = line.split(",")
        if len(fields) > 2 and fields[2].startswith("instructions"):
            return int(fields[0]) if fields[0].isdigit() else None
    return None


_CALLGRIND_TOTAL = re.compile(r"^(?:summary|totals):\s*(\d+)", re.MULTILINE)


def parse_callgrind_total(text: str) -> int | None:
    """The instruction total (Ir) of a callgrind output file."""
    found = _CALLGRIND_TOTAL.search(text)
    return int(found.group(1)) if found else None


def count_instructions(
    timing: TimingTask, *, root: Path, pass_seconds: float | None = None
) -> InstructionCounts:
    """Instructions per pass of each side; `unavailable` says why when no counter works.

    `pass_seconds` (one pass's native time) sets how many passes are counted.
    Never raises.
    """
    tool, why_not = available_counter()
    if tool is None:
        return InstructionCounts(None, None, None, "", why_not)
    passes = passes_to_count(pass_seconds, cold=timing.cold)
    started = time.perf_counter()
    totals: dict[str, int] = {}
    with tempfile.TemporaryDirectory(prefix="perfloop-counters-") as tmp:
        for side in SIDES:
            out = Path(tmp) / f"{side}.out"
            task = CountingTask(replace(timing, probe=False), side, passes)
            outcome = run_in_worker(
                COUNTING_ENTRY,
                task,
                root=root,
                limits=COUNTING_LIMITS,
                wrapper=_wrapper(tool, out),
                returns=Counted,
                here=True,  # counted here, alone; its wrapper writes `out` here
            )
            if not outcome.ok:
                return InstructionCounts(
                    None, None, tool, "", f"the {side} counting run failed: {outcome.message}"
                )
            text = out.read_text(errors="replace") if out.exists() else ""
            total = parse_perf_count(text) if tool == "perf stat" else parse_callgrind_total(text)
            if total is None:
                return InstructionCounts(
                    None, None, tool, "", f"no instruction count in the {tool} output of {side}"
                )
            totals[side] = total
    baseline = (totals["baseline"] - totals["none"]) / passes
    candidate = (totals["candidate"] - totals["none"]) / passes
    if baseline <= 0 or candidate <= 0:
        return InstructionCounts(
            None, None, tool, "", "the counted passes did not stand out from the setup"
        )
    return InstructionCounts(
        baseline=baseline,
        candidate=candidate,
        tool=tool,
        method=(
            f"user-space instructions by {tool}{f' ({why_not})' if why_not else ''}: three "
            "sandboxed processes (no address randomisation) with identical setup run "
            f"{passes} pass(es) of nothing, the "
            "original, the candidate; per pass = (side - nothing) / passes; PYTHONHASHSEED=0 "
            f"({time.perf_counter() - started:.0f} s)"
        ),
    )


def passes_to_count(pass_seconds: float | None, *, cold: bool) -> int:
    """Enough passes to stand out from the setup, few enough to stay short under callgrind."""
    if cold:
        return 3  # every cold pass loads a module copy in the setup
    if not pass_seconds or pass_seconds <= 0:
        return 5
    return max(1, min(MAX_PASSES, math.ceil(TARGET_NATIVE_SECONDS / pass_seconds)))


def _wrapper(tool: str, out: Path) -> list[str]:
    fixed_hash = ["env", "PYTHONHASHSEED=0"]
    if shutil.which("setarch"):  # the same addresses in every run (no ASLR): ids hash alike
        fixed_hash = ["setarch", platform.machine(), "-R", *fixed_hash]
    if tool == "perf stat":
        return [*fixed_hash, "perf", "stat", "-x,", "-e", "instructions:u", "-o", str(out), "--"]
    return [
        *fixed_hash,
        "valgrind",
        "--tool=callgrind",
        f"--callgrind-out-file={out}",
        "--dump-line=no",
        "--compress-strings=no",
        "-q",
    ]
