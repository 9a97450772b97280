"""The worker side of the micro A/B: runs inside one sandboxed timing process.

`run_timing_task` is the entry that `perfloop.sandbox.run_in_worker` calls. It
imports the original module under its own name (served from the original
source text, so the baseline is exactly the code that was captured), loads the
candidate as a separate module object beside it, unpickles the recorded inputs
(only here, never in the main process), checks that both versions raise on the
same calls, calibrates a loop count on the original, and times ABBA blocks.

A block is `loops` passes over all recorded calls. Its inputs are prepared
before the clock starts: a fresh unpickled copy for every call, because the
function may mutate its arguments; calls whose arguments are all deeply
immutable builtins (ints, strings, tuples of them, ...) share one copy, since
nothing can change them. Each side's copies are unpickled while its own module
stands under the target module's name, so an instance of a class defined there
(`self` of a method) is an instance of that side's class: the candidate sees
what it would see with the patch applied (its `super()`, `isinstance` and new
class attributes work). The garbage collector runs before each block and is
off inside it, for both sides alike; stdout goes to /dev/null while timing.
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import math
import os
import pickle
import sys
import time
import traceback
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from perfloop.measure.stats import Side, abba_schedule
from perfloop.runtime.loader import import_hook, load_module_copy, resolve_function

Call = tuple[tuple[Any, ...], dict[str, Any]]
Function = Callable[..., object]

MAX_PREPARED_COPIES = 50_000
MAX_PREPARED_BYTES = 16 * 1024 * 1024  # of pickled inputs per block; in memory a few times more
MAX_CALLS_PER_BLOCK = 1_000_000
_MAX_CALIBRATION_GROWTH = 10
_IMMUTABLE_ATOMS = frozenset({int, float, complex, str, bytes, bool, type(None), type(Ellipsis)})


@dataclass(frozen=True)
class TimingTask:
    """Everything one timing process needs; plain data, pickled to the worker."""

    module: str
    qualname: str
    path: str
    original_source: str
    candidate_source: str
    call_args: tuple[bytes, ...]
    call_reprs: tuple[str, ...]
    pairs: int
    min_block_ns: int


@dataclass(frozen=True)
class ProcessTimings:
    """What one timing process reports: nanoseconds per block, pair by pair.

    `baseline_ns[i]` and `candidate_ns[i]` are the two blocks of pair i; both
    ran `loops` passes over `calls_per_pass` calls. `problem` is set (and the
    times are empty) when the versions behaved differently or could not load.
    """

    baseline_ns: tuple[int, ...]
    candidate_ns: tuple[int, ...]
    loops: int
    calls_per_pass: int
    problem: str | None = None


@dataclass(frozen=True)
class BlockTime:
    nanoseconds: int
    raised: int


@dataclass(frozen=True)
class Version:
    """One side of the A/B: the module object it lives in and the function to time."""

    module: types.ModuleType
    function: Function


class BehaviourMismatch(Exception):
    """The original and the candidate differ in which calls raise."""


class CandidateLoadError(Exception):
    """The candidate's module source failed to execute, or lacks the function."""


def is_deeply_immutable(value: object, depth: int = 0) -> bool:
    """True for builtin atoms and tuples/frozensets of them: values no call can change."""
    kind = type(value)
    if kind in _IMMUTABLE_ATOMS:
        return True
    if (kind is tuple or kind is frozenset) and depth < 20:
        return all(is_deeply_immutable(item, depth + 1) for item in value)  # type: ignore[attr-defined]
    return False


class RecordedInputs:
    """The recorded calls' pickled inputs, and fresh copies of them on demand."""

    def __init__(self, call_args: Sequence[bytes]) -> None:
        self.call_args = tuple(call_args)
        self.shared: list[Call | None] = []
        for data in self.call_args:
            args, kwargs = pickle.loads(data)
            immutable = is_deeply_immutable(tuple(args)) and is_deeply_immutable(
                tuple(kwargs.values())
            )
            self.shared.append((tuple(args), dict(kwargs)) if immutable else None)

    @property
    def calls_per_pass(self) -> int:
        return len(self.call_args)

    def max_loops(
        self,
        max_copies: int = MAX_PREPARED_COPIES,
        max_bytes: int = MAX_PREPARED_BYTES,
        max_calls: int = MAX_CALLS_PER_BLOCK,
    ) -> int:
        """The most passes one block may prepare without exhausting memory (at least 1)."""
        fresh = [data for data, shared in zip(self.call_args, self.shared) if shared is None]
        limits = [max_calls // max(1, self.calls_per_pass)]
        if fresh:
            limits += [max_copies // len(fresh), max_bytes // sum(len(d) for d in fresh)]
        return max(1, min(limits))

    def prepare(self, loops: int, module: types.ModuleType | None = None) -> list[Call]:
        """`loops` passes over all calls, a fresh copy of every call's mutable inputs.

        With `module`, the copies are unpickled while it stands in sys.modules
        under its name, so instances of its classes are made from its classes.
        """
        with _serving(module):
            return [
                shared if shared is not None else _unpickle_call(data)
                for _ in range(loops)
                for data, shared in zip(self.call_args, self.shared)
            ]


def _unpickle_call(data: bytes) -> Call:
    args, kwargs = pickle.loads(data)
    return tuple(args), dict(kwargs)


@contextlib.contextmanager
def _serving(module: types.ModuleType | None) -> Iterator[None]:
    """Let `module` stand in sys.modules under its name for a while."""
    if module is None:
        yield
        return
    name = module.__name__
    previous = sys.modules.get(name)
    sys.modules[name] = module
    try:
        yield
    finally:
        if previous is None:
            del sys.modules[name]
        else:
            sys.modules[name] = previous


def time_block(function: Function, calls: Sequence[Call]) -> BlockTime:
    """Time `function` over the prepared calls, GC collected before and off during.

    An exception a call raises is caught (and counted) inside the timed loop,
    the same way for both sides, so recorded calls that raise are timed too.
    """
    raised = 0
    clock = time.perf_counter_ns
    gc.collect()
    gc.disable()
    try:
        start = clock()
        for args, kwargs in calls:
            try:
                function(*args, **kwargs)
            except Exception:
                raised += 1
        stop = clock()
    finally:
        gc.enable()
    return BlockTime(stop - start, raised)


def calibrate_loops(
    version: Version, inputs: RecordedInputs, min_block_ns: int, max_loops: int
) -> int:
    """The fewest passes whose block lasts at least `min_block_ns`, capped at `max_loops`.

    If one pass already lasts that long, 1.
    """
    loops = 1
    while True:
        calls = inputs.prepare(loops, version.module)
        elapsed = time_block(version.function, calls).nanoseconds
        if elapsed >= min_block_ns or loops >= max_loops:
            return loops
        wanted = math.ceil(loops * 1.1 * min_block_ns / max(elapsed, 1))
        loops = min(max_loops, max(loops + 1, min(wanted, loops * _MAX_CALIBRATION_GROWTH)))


def check_same_exceptions(
    original: Version, candidate: Version, inputs: RecordedInputs, reprs: Sequence[str]
) -> None:
    """One untimed pass of both over every call (also a warm-up); raise on a raise mismatch."""
    original_calls = inputs.prepare(1, original.module)
    try:
        candidate_calls = inputs.prepare(1, candidate.module)
    except Exception as exc:
        raise BehaviourMismatch(
            "the recorded inputs cannot be rebuilt from the candidate module's classes "
            f"({_exception_text(exc)}); a candidate must keep the module's classes and names"
        ) from exc
    for index, (first, second) in enumerate(zip(original_calls, candidate_calls)):
        original_error = _raised(original.function, first)
        candidate_error = _raised(candidate.function, second)
        if (original_error is None) != (candidate_error is None):
            raise BehaviourMismatch(
                f"recorded call #{index} {_describe(reprs, index)}"
                f"{_outcome_text(original_error)} in the original but "
                f"{_outcome_text(candidate_error)} in the candidate; "
                "it is not the same function, so its speed is not measured"
            )


def _raised(function: Function, call: Call) -> str | None:
    args, kwargs = call
    try:
        function(*args, **kwargs)
    except Exception as exc:
        return type(exc).__name__
    return None


def _describe(reprs: Sequence[str], index: int) -> str:
    return f"({reprs[index]}) " if index < len(reprs) and reprs[index] else ""


def _outcome_text(error: str | None) -> str:
    return "returned normally" if error is None else f"raised {error}"


def time_abba_blocks(
    original: Version, candidate: Version, inputs: RecordedInputs, loops: int, pairs: int
) -> tuple[list[int], list[int]]:
    """Block times of both sides in ABBA order, one block per side per pair."""
    versions = {Side.BASELINE: original, Side.CANDIDATE: candidate}
    blocks: dict[Side, list[BlockTime]] = {Side.BASELINE: [], Side.CANDIDATE: []}
    for _pair, side in abba_schedule(pairs):
        version = versions[side]
        calls = inputs.prepare(loops, version.module)
        blocks[side].append(time_block(version.function, calls))
    check_same_raise_counts(blocks[Side.BASELINE], blocks[Side.CANDIDATE])
    return (
        [block.nanoseconds for block in blocks[Side.BASELINE]],
        [block.nanoseconds for block in blocks[Side.CANDIDATE]],
    )


def check_same_raise_counts(baseline: Sequence[BlockTime], candidate: Sequence[BlockTime]) -> None:
    """Both sides must raise equally often over the same calls, pair by pair."""
    for pair, (a, b) in enumerate(zip(baseline, candidate)):
        if a.raised != b.raised:
            raise BehaviourMismatch(
                f"in block pair {pair} the original raised {a.raised} times and the candidate "
                f"{b.raised} times over the same calls; one of them behaves differently from "
                "run to run (state, randomness or time?)"
            )


def load_versions(task: TimingTask) -> tuple[Version, Version]:
    """The original (imported under its name, from the original source) and the candidate."""
    import_hook().override(task.module, task.path, task.original_source)
    original_module = importlib.import_module(task.module)
    original = Version(original_module, resolve_function(original_module, task.qualname))
    try:
        candidate_module = load_module_copy(task.module, task.path, task.candidate_source)
        candidate = Version(candidate_module, resolve_function(candidate_module, task.qualname))
    except Exception as exc:
        raise CandidateLoadError(_exception_text(exc)) from exc
    return original, candidate


def _exception_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def run_timing_task(task: TimingTask) -> ProcessTimings:
    """The worker entry: time the original and the candidate in ABBA blocks."""
    try:
        original, candidate = load_versions(task)
    except CandidateLoadError as exc:
        return _failed(task, f"the candidate module could not be loaded: {exc}")
    except Exception as exc:
        return _failed(
            task,
            f"the original {task.module}:{task.qualname} could not be loaded: "
            f"{_exception_text(exc)}",
        )
    try:
        inputs = RecordedInputs(task.call_args)
    except Exception as exc:
        return _failed(task, f"the recorded inputs could not be unpickled: {_exception_text(exc)}")
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        try:
            check_same_exceptions(original, candidate, inputs, task.call_reprs)
            loops = calibrate_loops(original, inputs, task.min_block_ns, inputs.max_loops())
            # a warm-up of the candidate at the timed size (the original warmed up calibrating)
            time_block(candidate.function, inputs.prepare(loops, candidate.module))
            baseline, candidate_times = time_abba_blocks(
                original, candidate, inputs, loops, task.pairs
            )
        except BehaviourMismatch as exc:
            return _failed(task, str(exc))
    return ProcessTimings(tuple(baseline), tuple(candidate_times), loops, inputs.calls_per_pass)


def _failed(task: TimingTask, problem: str) -> ProcessTimings:
    return ProcessTimings((), (), 0, len(task.call_args), problem)
