"""The worker side of the micro A/B: runs inside one sandboxed timing process.

`run_timing_task` is the entry that `perfloop.sandbox.runner.run_in_worker` calls. It
imports the original module under its own name (served from the original
source text, so the baseline is exactly the code that was captured), loads the
candidate as a separate module object beside it, unpickles the recorded inputs
(only here, never in the main process), checks that both versions raise on the
same calls, calibrates a loop count on the original, and times ABBA blocks.

A block is `loops` passes over all recorded calls, or over a random sample of them
when one pass over all takes longer than SAMPLED_PASS_NS (`choose_sample`). Its inputs are prepared
before the clock starts: a fresh unpickled copy for every call, because the
function may mutate its arguments; calls whose arguments are all deeply
immutable builtins (ints, strings, tuples of them, ...) share one copy, since
nothing can change them, and calls whose inputs neither version changed in the
untimed first pass reuse one copy per module. Each side's copies are unpickled while its own module
stands under the target module's name, so an instance of a class defined there
(`self` of a method) is an instance of that side's class: the candidate sees
what it would see with the patch applied (its `super()`, `isinstance` and new
class attributes work). The garbage collector runs before each block and is
off inside it, for both sides alike; stdout goes to /dev/null while timing.
"""

from __future__ import annotations

import collections
import contextlib
import copy
import gc
import importlib
import inspect
import itertools
import math
import os
import pickle
import random
import time
import traceback
import tracemalloc
import types
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from perfloop.measure.executed import MAX_TRACED_INSTRUCTIONS, InstructionTrace, target_codes
from perfloop.measure.stats import Side, abba_schedule
from perfloop.model import MemoryPeaks
from perfloop.runtime import pickling
from perfloop.runtime.alarm import raising_after
from perfloop.runtime.lazy import is_lazy
from perfloop.runtime.loader import (
    import_hook,
    load_class_into,
    load_function_into,
    load_module_copy,
    resolve_function,
    resolve_target,
    serving,
    swapped_in,
)
from perfloop.sandbox import tripwire

Call = tuple[tuple[Any, ...], dict[str, Any]]
Function = Callable[..., object]

MAX_PREPARED_COPIES = 50_000
MAX_PREPARED_BYTES = 16 * 1024 * 1024  # of pickled inputs per block; in memory a few times more
MAX_CALLS_PER_BLOCK = 1_000_000
_MAX_CALIBRATION_GROWTH = 10
MIN_PAIRS = 3  # per process, however long its blocks' inputs take to prepare
MAX_MEMORY_CALLS = 200  # recorded calls whose allocation peak is traced, per side
LONG_PASS_NS = 200_000_000  # a pass this long is probed once, not twice
LEARNING_FACTOR = 1.2  # first pass / later pass, candidate over original, that means "a cache"
# A pass over all recorded calls longer than this is timed on a random sample of the calls
# about this long, a new sample in each timing process: a heavy pyperformance target's
# calls took 3 s a pass, and 20 blocks of full passes per process 312 s per measurement.
SAMPLED_PASS_NS = LONG_PASS_NS
SCHEDSTAT = "/proc/thread-self/schedstat"
# a run on a shallow copy of a call's inputs may take this many times the call's own time,
# and at least this long, before it is stopped (see `_copies_shallowly`)
SHALLOW_RUN_FACTOR = 20
SHALLOW_RUN_SECONDS = 0.05
CLOCK_TASK = "wall time minus run-queue wait"
CLOCK_WALL = "wall time (perf_counter; run-queue wait unavailable)"
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
    loops: int = 0  # passes per block; 0: calibrate in this process
    probe: bool = True  # run the first-pass (cache) check and the memory peaks here
    cold: bool = False  # time cold blocks (a first pass on a fresh module copy each)
    # `qualname` is a whole class: each call pickles `((constructor, steps), {})`, one
    # recorded history of an instance as bytes (`steps`: (method, pickled call) pairs)
    whole_class: bool = False
    # this process's share of the budget: fewer pairs (down to MIN_PAIRS) when preparing
    # the blocks' inputs would take longer; 0: always `pairs`
    seconds: float = 0.0
    # each recorded call's time in the original, from the first process, when a pass over
    # all is long: this process samples the calls (`choose_sample`) before loading any
    call_ns: tuple[int, ...] = ()
    # before timing, compare the instructions both versions run on each call (set only
    # where the candidate's module differs from the original's just in the function's
    # body: `perfloop.measure.executed.only_the_body_differs`); the probing process does
    compare_instructions: bool = False


@dataclass(frozen=True)
class LearningCheck:
    """First pass over the recorded calls against a later pass, on fresh module copies.

    `*_first_over_later` is the first pass's time over the second's; `learns`
    says the candidate's is LEARNING_FACTOR times the original's or more, and
    LEARNING_FACTOR or more itself, in both of two fresh copies.
    """

    baseline_first_over_later: float
    candidate_first_over_later: float
    learns: bool


@dataclass(frozen=True)
class ProcessTimings:
    """What one timing process reports: nanoseconds per block, pair by pair.

    `baseline_ns[i]` and `candidate_ns[i]` are the two blocks of pair i on the
    measurement clock (`clock`), `wall_*` the same blocks on the wall clock;
    both ran `loops` passes over `calls_per_pass` calls. `problem` is set (and
    the times are empty) when the versions behaved differently or could not
    load. The two sides always hold equally many blocks.
    """

    baseline_ns: tuple[int, ...]
    candidate_ns: tuple[int, ...]
    loops: int
    calls_per_pass: int
    problem: str | None = None
    wall_baseline_ns: tuple[int, ...] = ()
    wall_candidate_ns: tuple[int, ...] = ()
    clock: str = CLOCK_WALL
    cold: bool = False
    learning: LearningCheck | None = None
    memory: MemoryPeaks | None = None
    kept_calls: int = 0  # calls whose inputs neither version changed: one copy reused
    settled_calls: int = 0  # calls whose inputs change once: one fresh copy per block
    shallow_calls: int = 0  # calls that rebind what their inputs hold: shallow copies
    recorded_calls: int = 0  # all recorded calls; more than calls_per_pass when sampled
    sample_share: float = 1.0  # the sample's share of a full pass's time (an estimate)
    call_ns: tuple[int, ...] = ()  # each recorded call's time, when this process sampled
    # the recorded calls on each of which both versions ran the same instructions, when
    # that is all of them (then nothing was timed: see `perfloop.measure.executed`)
    same_instructions: int = 0

    @property
    def sampled(self) -> bool:
        return self.recorded_calls > self.calls_per_pass

    def __post_init__(self) -> None:
        if len(self.baseline_ns) != len(self.candidate_ns) or len(self.wall_baseline_ns) != len(
            self.wall_candidate_ns
        ):
            raise ValueError(
                f"unequal sample counts: {len(self.baseline_ns)} baseline blocks and "
                f"{len(self.candidate_ns)} candidate blocks; every pair has one of each"
            )


@dataclass(frozen=True)
class BlockTime:
    """One timed block: `nanoseconds` on the measurement clock, `wall_ns` on the wall clock."""

    nanoseconds: int
    raised: int
    wall_ns: int = 0


@dataclass(frozen=True)
class Version:
    """One side of the A/B: the module object it lives in and the function to time."""

    module: types.ModuleType
    function: Function
    in_place: str | None = None  # compiled into the original module: swapped in to run
    installs: object = None  # what is swapped in, if not `function` (a candidate class)


def _installed(version: Version) -> contextlib.AbstractContextManager[None]:
    if version.in_place is None:
        return contextlib.nullcontext()
    installs = version.function if version.installs is None else version.installs
    return swapped_in(version.module, version.in_place, installs)  # type: ignore[arg-type]


def time_version(version: Version, calls: Sequence[Call], pulled: Sequence[bool] = ()) -> BlockTime:
    """`time_block` of the version's function, an in-place candidate swapped in."""
    with _installed(version):
        return time_block(version.function, calls, pulled)


class BehaviourMismatch(Exception):
    """The original and the candidate differ in which calls raise."""


class ShallowRunOverran(Exception):
    """Raised inside a trial run on a shallow copy that ran over its time limit."""


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
    """The recorded calls' pickled inputs, and fresh copies of them on demand.

    A call whose inputs are all deeply immutable builtins shares one copy everywhere. A
    call whose inputs neither version changed (`keep`, after `check_same_exceptions` ran
    both on a copy and compared the copy before and after) reuses one copy per module
    from then on: real inputs can be object graphs that take 100 times the call's own
    time to unpickle (pyparsing 3.1.4's `ParseResults`: 17 s of every timing process).

    A call whose first run changes its inputs and whose second run leaves them as the
    first left them, in both versions (`settle`), gets a fresh copy in the first pass
    of each block and runs on that same, settled copy in the block's later passes, as
    in a workload an object's first call is followed by calls on its settled state.
    pyparsing 3.1.4's `Regex.parseImpl`: 4 of 67 recorded calls are an element's first
    (it compiles its pattern then, 26-49 us against 3-11 us later), and their copies,
    the whole grammar at 5.5 ms each, were unpickled for every one of a block's 35
    passes: 7.7 s of an 8.7 s timing process timed 40 ms.

    A call that changes its inputs on every run, but only by rebinding what its
    arguments hold (`shallow`: a run on a shallow copy of the inputs, `copy.copy` of
    each argument, leaves the copy it was made from pickling as before, and answers
    and ends as a run on a fresh copy does; see `_copies_shallowly`), runs on a new
    shallow copy of one pristine copy per module in every pass. A parser's rule that
    moves `state.pos` and `state.pending` (markdown-it-py 3.0.0's inline `text`) needs
    a fresh state for every run, and unpickling 200 states of ~8 KB per pass left 3
    pairs of blocks in a 9 s timing process.
    """

    def __init__(self, call_args: Sequence[bytes]) -> None:
        self.call_args = tuple(call_args)
        self.shared: list[Call | None] = []
        for data in self.call_args:
            args, kwargs = pickle.loads(data)
            immutable = is_deeply_immutable(tuple(args)) and is_deeply_immutable(
                tuple(kwargs.values())
            )
            self.shared.append((tuple(args), dict(kwargs)) if immutable else None)
        self.kept: set[int] = set()
        self.settled: set[int] = set()
        self.shallow: set[int] = set()
        # calls whose result is lazy (a generator, a zip): pulled when timed, its work
        self.pulled: list[bool] = [False] * len(self.call_args)
        self._kept_copies: weakref.WeakKeyDictionary[types.ModuleType, dict[int, Call]] = (
            weakref.WeakKeyDictionary()
        )
        self._kept_without_module: dict[int, Call] = {}
        # per module, each shallow call's pristine copy and its fingerprint when made
        self._pristine: weakref.WeakKeyDictionary[
            types.ModuleType, dict[int, tuple[Call, bytes | None]]
        ] = weakref.WeakKeyDictionary()
        self._pristine_without_module: dict[int, tuple[Call, bytes | None]] = {}
        # each call's time in the original, from the untimed pass of check_same_exceptions
        self.call_ns: list[int] = [0] * len(self.call_args)

    def narrowed(self, indices: Sequence[int]) -> RecordedInputs:
        """These inputs with only the calls at `indices`, what is known of each kept."""
        narrow = copy.copy(self)
        narrow.call_args = tuple(self.call_args[i] for i in indices)
        narrow.shared = [self.shared[i] for i in indices]
        narrow.kept = {new for new, old in enumerate(indices) if old in self.kept}
        narrow.settled = {new for new, old in enumerate(indices) if old in self.settled}
        narrow.shallow = {new for new, old in enumerate(indices) if old in self.shallow}
        narrow.pulled = [self.pulled[i] for i in indices]
        narrow.call_ns = [self.call_ns[i] for i in indices]
        narrow._kept_copies = weakref.WeakKeyDictionary(
            {
                module: {new: copies[old] for new, old in enumerate(indices) if old in copies}
                for module, copies in self._kept_copies.items()
            }
        )
        narrow._kept_without_module = {}
        narrow._pristine = weakref.WeakKeyDictionary(
            {
                module: {new: copies[old] for new, old in enumerate(indices) if old in copies}
                for module, copies in self._pristine.items()
            }
        )
        narrow._pristine_without_module = {}
        return narrow

    @property
    def calls_per_pass(self) -> int:
        return len(self.call_args)

    def pulls(self, loops: int) -> list[bool]:
        """Which of `prepare(loops)`'s calls have their lazy result pulled."""
        return self.pulled * loops if any(self.pulled) else []

    def keep(self, index: int, copies: Sequence[tuple[types.ModuleType, Call]] = ()) -> None:
        """Call `index`'s inputs are left unchanged by both versions: reuse one copy,
        from now on those in `copies` (a module, and a copy of the inputs made from its
        classes that a call left as it was) rather than unpickle new ones."""
        if self.shared[index] is None:
            self.kept.add(index)
            for module, call in copies:
                self._kept_copies.setdefault(module, {})[index] = call

    def settle(self, index: int) -> None:
        """Call `index` changes its inputs once, then leaves them: after a block's first
        pass, it runs on the copy that pass settled."""
        if self.shared[index] is None and index not in self.kept:
            self.settled.add(index)

    def copy_shallowly(self, index: int) -> None:
        """Call `index` changes its inputs on every run, only by rebinding what its
        arguments hold: each pass runs it on a shallow copy of one pristine copy."""
        if self.shared[index] is None and index not in self.kept | self.settled:
            self.shallow.add(index)

    def changed_pristine(self) -> list[int]:
        """The shallow calls whose pristine copy, in some module, no longer pickles as it
        did when made: a run on a shallow copy reached into it after all."""
        changed = set()
        tables = [(None, self._pristine_without_module), *self._pristine.items()]
        for module, table in tables:
            for index, (call, fingerprint) in table.items():
                if _fingerprint_in(call, module) != fingerprint:
                    changed.add(index)
        return sorted(changed)

    def max_loops(
        self,
        max_copies: int = MAX_PREPARED_COPIES,
        max_bytes: int = MAX_PREPARED_BYTES,
        max_calls: int = MAX_CALLS_PER_BLOCK,
    ) -> int:
        """The most passes one block may prepare without exhausting memory (at least 1)."""
        copied = [
            index
            for index, shared in enumerate(self.shared)
            if shared is None and index not in self.kept and index not in self.settled
        ]
        fresh = [self.call_args[index] for index in copied if index not in self.shallow]
        limits = [max_calls // max(1, self.calls_per_pass)]
        if copied:
            limits.append(max_copies // len(copied))
        if fresh:
            limits.append(max_bytes // sum(len(d) for d in fresh))
        return max(1, min(limits))

    def prepare(self, loops: int, module: types.ModuleType | None = None) -> list[Call]:
        """`loops` passes over all calls, a fresh copy of every call's mutable inputs
        (but one copy per module of a kept call's).

        With `module`, the copies are unpickled while it stands in sys.modules
        under its name, so instances of its classes are made from its classes.
        """
        with serving(module):
            kept = self._kept_for(module)
            pristine = self._pristine_for(module)
            settled: dict[int, Call] = {}  # this block's copy of each settled call
            calls = []
            for _ in range(loops):
                for index, (data, shared) in enumerate(zip(self.call_args, self.shared)):
                    if shared is not None:
                        calls.append(shared)
                    elif index in kept:
                        calls.append(kept[index])
                    elif index in self.settled:
                        if index not in settled:
                            settled[index] = _unpickle_call(data)
                        calls.append(settled[index])
                    elif index in pristine:
                        calls.append(_shallow_copy(pristine[index][0]))
                    else:
                        calls.append(_unpickle_call(data))
            return calls

    def _kept_for(self, module: types.ModuleType | None) -> dict[int, Call]:
        """The kept calls' copies for `module` (made now if missing; under `serving`)."""
        if module is None:
            copies = self._kept_without_module
        else:
            copies = self._kept_copies.setdefault(module, {})
        for index in self.kept - copies.keys():
            copies[index] = _unpickle_call(self.call_args[index])
        return copies

    def _pristine_for(
        self, module: types.ModuleType | None
    ) -> dict[int, tuple[Call, bytes | None]]:
        """The shallow calls' pristine copies for `module`, with their fingerprints (made
        now if missing; under `serving`)."""
        if module is None:
            copies = self._pristine_without_module
        else:
            copies = self._pristine.setdefault(module, {})
        for index in self.shallow - copies.keys():
            call = _unpickle_call(self.call_args[index])
            copies[index] = (call, _fingerprint_in(call, module))
        return copies


def _held_within(call: Call, module: types.ModuleType | None) -> bool:
    """Is an argument that a shallow copy would copy also held by something in the call's
    inputs (or passed twice)? Then the copy's parts would still point at the original."""
    args, kwargs = call
    copied = [value for value in (*args, *kwargs.values()) if not is_deeply_immutable(value)]
    with serving(module):
        met = pickling.times_met(call, copied)
    return met is None or any(count > 1 for count in met)


def _shallow_copy(call: Call) -> Call:
    args, kwargs = call
    return tuple(copy.copy(arg) for arg in args), {
        name: copy.copy(value) for name, value in kwargs.items()
    }


def _unpickle_call(data: bytes) -> Call:
    args, kwargs = pickle.loads(data)
    return tuple(args), dict(kwargs)


def run_queue_wait_ns() -> int | None:
    """Nanoseconds this thread has waited for a CPU so far, or None where unknown."""
    try:
        with open(SCHEDSTAT, "rb") as handle:
            return int(handle.read().split()[1])
    except (OSError, IndexError, ValueError):
        return None


def clock_name() -> str:
    return CLOCK_TASK if run_queue_wait_ns() is not None else CLOCK_WALL


_DRAIN = collections.deque
MAX_DRAINED = 100_000  # items pulled from a generator per call (an endless one stops here)


def time_block(function: Function, calls: Sequence[Call], pulled: Sequence[bool] = ()) -> BlockTime:
    """Time `function` over the prepared calls, GC collected before and off during.

    An exception a call raises is caught (and counted) inside the timed loop,
    the same way for both sides, so recorded calls that raise are timed too. A call
    marked in `pulled` (its result is lazy: a generator, or a zip a rewrite returns
    instead) has its result pulled to the end (at most MAX_DRAINED items): its work
    happens then. A generator function's calls are all pulled. The measurement clock
    is the wall clock less the run-queue wait in between.
    """
    raised = 0
    clock = time.perf_counter_ns
    if not pulled and inspect.isgeneratorfunction(function):
        pulled = [True] * len(calls)
    gc.collect()
    gc.disable()
    try:
        waited_before = run_queue_wait_ns()
        start = clock()
        if pulled:
            for (args, kwargs), pull in zip(calls, pulled):
                try:
                    if pull:
                        _DRAIN(itertools.islice(function(*args, **kwargs), MAX_DRAINED), maxlen=0)
                    else:
                        function(*args, **kwargs)
                except Exception:
                    raised += 1
        else:
            for args, kwargs in calls:
                try:
                    function(*args, **kwargs)
                except Exception:
                    raised += 1
        stop = clock()
        waited_after = run_queue_wait_ns()
    finally:
        gc.enable()
    wall = stop - start
    if waited_before is None or waited_after is None:
        return BlockTime(wall, raised, wall)
    return BlockTime(max(1, wall - (waited_after - waited_before)), raised, wall)


def calibrate_loops(
    version: Version, inputs: RecordedInputs, min_block_ns: int, max_loops: int
) -> int:
    """The fewest passes whose block lasts at least `min_block_ns`, capped at `max_loops`.

    If one pass already lasts that long, 1.
    """
    loops = 1
    while True:
        calls = inputs.prepare(loops, version.module)
        elapsed = time_version(version, calls, inputs.pulls(loops)).nanoseconds
        if elapsed >= min_block_ns or loops >= max_loops:
            return loops
        wanted = math.ceil(loops * 1.1 * min_block_ns / max(elapsed, 1))
        loops = min(max_loops, max(loops + 1, min(wanted, loops * _MAX_CALIBRATION_GROWTH)))


def check_same_exceptions(
    original: Version,
    candidate: Version,
    inputs: RecordedInputs,
    reprs: Sequence[str],
    numbers: Sequence[int] = (),
) -> None:
    """One untimed pass of both over every call (also a warm-up); raise on a raise mismatch.

    Each call's time in the original goes to `inputs.call_ns` (for `choose_sample`).
    `numbers`: the calls' numbers among all recorded calls, when `inputs` are a sample.

    A call whose inputs pickle the same before and after, in both versions, is kept
    (`RecordedInputs.keep`): later passes reuse one copy of its inputs. A call whose
    inputs changed runs once more on the same copies; if that leaves them as they
    were after the first run, in both versions, it is settled (`RecordedInputs.settle`).
    """
    original_calls = inputs.prepare(1, original.module)
    try:
        candidate_calls = inputs.prepare(1, candidate.module)
    except Exception as exc:
        raise BehaviourMismatch(
            "the recorded inputs cannot be rebuilt from the candidate module's classes "
            f"({_exception_text(exc)}); a candidate must keep the module's classes and names"
        ) from exc
    for index, (first, second) in enumerate(zip(original_calls, candidate_calls)):
        shared = inputs.shared[index] is not None
        before = None if shared else (_fingerprint(first), _fingerprint(second, candidate))
        started = time.perf_counter_ns()
        original_outcome = _outcome(original.function, first)
        inputs.call_ns[index] = time.perf_counter_ns() - started
        candidate_outcome = _outcome_in(candidate, second)
        original_error, candidate_error = original_outcome.error, candidate_outcome.error
        if original_outcome.lazy or candidate_outcome.lazy:
            inputs.pulled[index] = True
        if before is not None and None not in before:
            after = (_fingerprint(first), _fingerprint(second, candidate))
            if after == before:
                inputs.keep(index, ((original.module, first), (candidate.module, second)))
            elif _settles(
                original, candidate, first, second, before, after, original_outcome,
                candidate_outcome, inputs.call_args[index],
            ):  # fmt: skip
                inputs.settle(index)
            elif _copies_shallowly(
                original, candidate, after, original_outcome, candidate_outcome,
                inputs.call_args[index], inputs.call_ns[index],
            ):  # fmt: skip
                inputs.copy_shallowly(index)
        if (original_error is None) != (candidate_error is None):
            raise BehaviourMismatch(
                f"recorded call #{numbers[index] if numbers else index} {_describe(reprs, index)}"
                f"{_outcome_text(original_error)} in the original but "
                f"{_outcome_text(candidate_error)} in the candidate; "
                "it is not the same function, so its speed is not measured"
            )


def _settles(
    original: Version,
    candidate: Version,
    first: Call,
    second: Call,
    before: tuple[bytes | None, bytes | None],
    after: tuple[bytes | None, bytes | None],
    original_outcome: _Outcome,
    candidate_outcome: _Outcome,
    recorded: bytes,
) -> bool:
    """Did the first run of both versions change their inputs, and do second runs on
    those copies leave them so, with the outcome of the first run (the same exception,
    or a return value that pickles the same), running at least half the instructions of
    the target's own code that a run on a fresh copy (of `recorded`) runs?

    Only where the original changes them too: a candidate that sorts the list it is
    given, or appends to it, has to be timed on a fresh list every time, since its
    callers never hand it the list it changed (on one, sorting would look free).
    Only where the second run answers as the first did: a call that compiles a pattern
    on first use (pyparsing's `Regex.parseImpl`) returns the same on the settled copy,
    but a call that advances a cursor in its state (markdown-it-py's inline `text`
    rule moves `state.pos` past a run of text and returns True) finds nothing left to
    do there and returns False: timed on that copy, every version looked alike (1.01x
    for a rewrite that is 2x on the recorded calls). A cursor call that returns the
    same on a finished state (None, say) is told by its work: its second run stops at
    once, where the first stepped over the whole run, while a first call that fills a
    cache does its extra work mostly outside the target's code (`re.compile`), or in a
    branch of a few instructions. A version that keeps answers in its inputs is told so
    too, since its second run skips the work the first did.
    (The two versions' changed copies are not compared byte for byte: equal objects
    pickle apart where one shares a string the other holds twice, as a pattern from
    `re`'s cache does; the verification tiers compared what they changed.)
    """
    if None in after or before[0] == after[0] or before[1] == after[1]:
        return False
    for version, call, outcome in (
        (original, first, original_outcome),
        (candidate, second, candidate_outcome),
    ):
        with serving(version.module):
            fresh = _unpickle_call(recorded)
        work, again = _work(version, fresh), _work(version, call)
        if not outcome.same_as(again.outcome):
            return False
        counted = work.instructions is not None and again.instructions is not None
        if counted and again.instructions * 2 < work.instructions:  # type: ignore[operator]
            return False  # the second run skipped most of the first's work
    return after == (_fingerprint(first), _fingerprint(second, candidate))


def _copies_shallowly(
    original: Version,
    candidate: Version,
    after: tuple[bytes | None, bytes | None],
    original_outcome: _Outcome,
    candidate_outcome: _Outcome,
    recorded: bytes,
    call_ns: int,
) -> bool:
    """Can both versions run this call on a shallow copy of its inputs in place of a
    fresh one? Only if, for each, a run on a shallow copy of a pristine copy (of
    `recorded`) ends as its run on a fresh copy did (`*_outcome`), leaves the shallow
    copy pickling as that run left the fresh one (`after`), and leaves the pristine
    copy pickling as before: the call only rebinds what its arguments hold (a
    parser's `state.pos`), it does not change what they share with the pristine copy
    (a token list it appends to).

    Never if an argument is also held by something in the inputs (a parser whose phases
    hold the parser: html5lib 1.1's `HTMLParser.mainLoop`, run on a shallow copy of its
    parser, advanced the phases of the pristine one, never saw its own phase change, and
    looped until the timing process ran out of memory), and a trial run is stopped after
    SHALLOW_RUN_FACTOR times the call's time (`call_ns`, the original's on a fresh
    copy), SHALLOW_RUN_SECONDS at least. (Copying is not timed against unpickling: a
    shallow copy rebuilds one level of what unpickling rebuilds whole, and one
    measurement each would make the choice, and the tests, depend on the machine.)
    """
    if None in after:
        return False
    seconds = max(SHALLOW_RUN_SECONDS, SHALLOW_RUN_FACTOR * call_ns / 1e9)
    for version, changed, outcome in (
        (original, after[0], original_outcome),
        (candidate, after[1], candidate_outcome),
    ):
        module = version.module if version is candidate else None
        with serving(version.module):
            pristine = _unpickle_call(recorded)
        before = _fingerprint_in(pristine, module)
        if before is None:
            return False
        # both versions' copies load from the same bytes, so they hold alike: checked once
        if version is original and _held_within(pristine, module):
            return False
        try:
            shallow = _shallow_copy(pristine)
        except Exception:
            return False
        with raising_after(seconds, ShallowRunOverran):  # an outcome no fresh run had
            again = _outcome_in(version, shallow)
        if not outcome.same_as(again):
            return False
        # the pristine copy first: what a run moved deeper than one level (tomlkit 0.13.2's
        # parser moves the cursor of the source it holds) shows there, and ends the check
        if _fingerprint_in(pristine, module) != before:
            return False
        if _fingerprint_in(shallow, module) != changed:
            return False
    return True


@dataclass(frozen=True)
class _Work:
    outcome: _Outcome
    instructions: int | None  # run in the target's own code; None: could not count


def _work(version: Version, call: Call) -> _Work:
    """The call's outcome, and how many instructions of the target's code it ran."""
    codes = target_codes(version.function)
    if not codes:
        return _Work(_outcome_in(version, call), None)
    with _installed(version), InstructionTrace(codes) as trace:
        outcome = _outcome(version.function, call)
    return _Work(outcome, trace.count if trace.complete else None)


@dataclass(frozen=True)
class _Outcome:
    """How a call ended: its exception's type name (None if it returned), whether its
    result was lazy (and pulled), and what it returned (None when lazy or raised)."""

    error: str | None
    lazy: bool
    result: object = None

    def same_as(self, other: _Outcome) -> bool:
        """The same exception, or results that pickle the same (an unpicklable or lazy
        result cannot be told the same)."""
        if self.error is not None or other.error is not None:
            return self.error == other.error
        if self.lazy or other.lazy:
            return False
        try:
            return pickling.dumps(self.result, faithful=True) == pickling.dumps(
                other.result, faithful=True
            )
        except Exception:
            return False


def _outcome_in(version: Version, call: Call) -> _Outcome:
    """`_outcome` for `version`'s function, swapped into its module while it runs."""
    with _installed(version):
        return _outcome(version.function, call)


def _outcome(function: Function, call: Call) -> _Outcome:
    """How the call ended; a lazy result is pulled as `time_block` pulls it."""
    args, kwargs = call
    lazy = False
    try:
        result = function(*args, **kwargs)
        if is_lazy(result):
            lazy = True
            _DRAIN(itertools.islice(result, MAX_DRAINED), maxlen=0)  # type: ignore[call-overload]
    except Exception as exc:
        return _Outcome(type(exc).__name__, lazy or inspect.isgeneratorfunction(function))
    return _Outcome(None, lazy, None if lazy else result)


def same_instructions(original: Version, candidate: Version, inputs: RecordedInputs) -> int:
    """How many recorded calls both versions ran with the very same instructions in the
    target's code (`perfloop.measure.executed`), when that is every call; 0 as soon as one
    call differs, or when a trace could not be completed. Each version runs each call
    once more, on fresh copies of its inputs, as `_outcome` runs it."""
    codes = target_codes(original.function), target_codes(candidate.function)
    if not all(codes):
        return 0
    copies = inputs.prepare(1, original.module), inputs.prepare(1, candidate.module)
    left = [MAX_TRACED_INSTRUCTIONS, MAX_TRACED_INSTRUCTIONS]  # per version, for the pass
    for first, second in zip(*copies):
        digests = []
        for side, version, call in ((0, original, first), (1, candidate, second)):
            with _installed(version), InstructionTrace(codes[side], left[side]) as trace:
                _outcome(version.function, call)
            if not trace.complete:
                return 0
            left[side] -= trace.count
            digests.append(trace.digest())
        if digests[0] != digests[1]:
            return 0
    return len(copies[0])


def _fingerprint(call: Call, version: Version | None = None) -> bytes | None:
    """The inputs' bytes with every attribute (None where they do not pickle): equal bytes
    before and after a call mean the call left them as they were.

    With `version`, its module stands in sys.modules meanwhile, so instances of its
    classes (the candidate's copies of the inputs) pickle by reference as the original's
    do. Pickled by value, a class took its class attributes along: pyparsing 3.1.4's
    `ParserElement.packrat_cache_lock`, an RLock, did not pickle, so no call of
    `Regex.parseImpl` kept its inputs and every block unpickled fresh copies of the
    grammar (6 s of a 9.8 s timing process, 3 pairs of 0.15 ms blocks)."""
    return _fingerprint_in(call, version.module if version is not None else None)


def _fingerprint_in(call: Call, module: types.ModuleType | None) -> bytes | None:
    """`_fingerprint` with `module` standing under its name (None: as sys.modules is)."""
    try:
        with serving(module):
            return pickling.dumps(call, faithful=True)
    except Exception:
        return None


def _describe(reprs: Sequence[str], index: int) -> str:
    return f"({reprs[index]}) " if index < len(reprs) and reprs[index] else ""


def _outcome_text(error: str | None) -> str:
    return "returned normally" if error is None else f"raised {error}"


def time_abba_blocks(
    original: Version | Callable[[], Version],
    candidate: Version | Callable[[], Version],
    inputs: RecordedInputs,
    loops: int,
    pairs: int,
) -> tuple[list[BlockTime], list[BlockTime]]:
    """Blocks of both sides in ABBA order, one block per side per pair.

    A side given as a callable is asked for a fresh version before each of its
    blocks (cold blocks: a new module copy every time).
    """
    sides = {Side.BASELINE: original, Side.CANDIDATE: candidate}
    blocks: dict[Side, list[BlockTime]] = {Side.BASELINE: [], Side.CANDIDATE: []}
    for _pair, side in abba_schedule(pairs):
        given = sides[side]
        version = given if isinstance(given, Version) else given()
        calls = inputs.prepare(loops, version.module)
        blocks[side].append(time_version(version, calls, inputs.pulls(loops)))
    check_same_raise_counts(blocks[Side.BASELINE], blocks[Side.CANDIDATE])
    return blocks[Side.BASELINE], blocks[Side.CANDIDATE]


def first_over_later(fresh: Callable[[], Version], inputs: RecordedInputs) -> tuple[float, int]:
    """A fresh copy's first pass over the calls over its second pass (fresh inputs each),
    and the first pass's nanoseconds."""
    version = fresh()
    pulls = inputs.pulls(1)
    first = time_version(version, inputs.prepare(1, version.module), pulls).nanoseconds
    later = time_version(version, inputs.prepare(1, version.module), pulls).nanoseconds
    return first / max(1, later), first


def check_learning(
    fresh_original: Callable[[], Version],
    fresh_candidate: Callable[[], Version],
    inputs: RecordedInputs,
    tries: int = 2,
) -> LearningCheck:
    """Does the candidate speed up on calls it has seen, more than the original does?

    Each side is tried on `tries` fresh copies (one when a pass is long, over
    LONG_PASS_NS); the candidate learns if it does in every try.
    """
    original: list[float] = []
    candidate: list[float] = []
    for _ in range(tries):
        ratio, first_ns = first_over_later(fresh_original, inputs)
        original.append(ratio)
        candidate.append(first_over_later(fresh_candidate, inputs)[0])
        if first_ns > LONG_PASS_NS:
            break
    # a candidate that learns has a first pass slower than its later ones: an original
    # whose second pass was the slower one (the machine was busy during it) does not make
    # a candidate that takes as long on both passes learn (idna 3.10's intranges_contain
    # with a one-line helper inlined: "first pass 1.0x its second, the original 0.7x")
    learns = all(c >= LEARNING_FACTOR * max(1.0, o) for o, c in zip(original, candidate))
    return LearningCheck(min(original), min(candidate), learns)


def peak_bytes_per_call(version: Version, inputs: RecordedInputs) -> int:
    """The largest allocation peak of one call (above what was allocated before it); a
    lazy result is pulled as timing pulls it, since its work, and its memory, come then."""
    count = min(inputs.calls_per_pass, MAX_MEMORY_CALLS)
    calls = inputs.prepare(1, version.module)[:count]
    pulled = inputs.pulled[:count]
    if not any(pulled) and inspect.isgeneratorfunction(version.function):
        pulled = [True] * count
    worst = 0
    tracemalloc.start()
    try:
        for (args, kwargs), pull in zip(calls, pulled):
            tracemalloc.reset_peak()
            before = tracemalloc.get_traced_memory()[0]
            with contextlib.suppress(Exception), _installed(version):
                result = version.function(*args, **kwargs)
                if pull:
                    _DRAIN(itertools.islice(result, MAX_DRAINED), maxlen=0)  # type: ignore[call-overload]
            worst = max(worst, tracemalloc.get_traced_memory()[1] - before)
    finally:
        tracemalloc.stop()
    return worst


def memory_peaks(
    fresh_original: Callable[[], Version],
    fresh_candidate: Callable[[], Version],
    inputs: RecordedInputs,
) -> MemoryPeaks:
    """Peak allocation per call of each side, on fresh module copies (a cache counts)."""
    return MemoryPeaks(
        baseline_bytes=peak_bytes_per_call(fresh_original(), inputs),
        candidate_bytes=peak_bytes_per_call(fresh_candidate(), inputs),
        calls=min(inputs.calls_per_pass, MAX_MEMORY_CALLS),
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
    with tripwire.paused():  # the original and its imports ran in the workload anyway
        original_module = importlib.import_module(task.module)
    if task.whole_class:
        original_class = getattr(original_module, task.qualname)
        original = Version(original_module, history_runner(original_class))
        try:
            candidate = _class_beside(task, original_module, task.candidate_source)
        except Exception as exc:
            raise CandidateLoadError(_exception_text(exc)) from exc
        return original, candidate
    original = Version(original_module, resolve_function(original_module, task.qualname))
    try:
        candidate = _load_beside(task, original_module, task.candidate_source)
    except Exception as exc:
        raise CandidateLoadError(_exception_text(exc)) from exc
    return original, candidate


def _load_beside(task: TimingTask, original_module: types.ModuleType, source: str) -> Version:
    """`source` as a separate module copy; where executing the module again fails (an
    import-time registry: networkx's `_dispatch`), its function compiled in place."""
    try:
        module = load_module_copy(task.module, task.path, source, task.original_source)
    except Exception:
        function = load_function_into(original_module, task.qualname, task.original_source, source)
        if function is None:
            raise
        return Version(original_module, function, in_place=task.qualname)
    original = resolve_target(original_module, task.qualname)
    return Version(module, resolve_target(module, task.qualname).timed(original))


def history_runner(cls: type) -> Function:
    """What a whole class's A/B times per recorded history: construct an instance, then
    make its method calls in order (a call that raises is caught, as in the workload's
    history it raised too, and the next one follows)."""

    def run(constructor: Call, steps: tuple[tuple[str, Call], ...]) -> None:
        instance = cls(*constructor[0], **constructor[1])
        for method, (args, kwargs) in steps:
            with contextlib.suppress(Exception):
                getattr(instance, method)(*args, **kwargs)

    return run


def _class_beside(
    task: TimingTask, module: types.ModuleType, source: str, again: bool = False
) -> Version:
    """A whole class as `source` defines it, compiled in the imported module (nothing else
    of the module runs again) and put in place of the original class while it is timed."""
    cls = load_class_into(module, task.qualname, task.original_source, source, again=again)
    if cls is None:
        raise CandidateLoadError(
            f"the candidate changes more of {task.module} than the class {task.qualname} and "
            "the imports, constants and helpers it adds"
        )
    return Version(module, history_runner(cls), in_place=task.qualname, installs=cls)


def history_calls(task: TimingTask, module: types.ModuleType) -> tuple[bytes, ...]:
    """A whole class's histories as calls of `history_runner`: each history's pickled
    constructor and steps, unpickled here (in the worker) with the original module in place
    and pickled again as one call."""
    calls = []
    with serving(module):
        for data in task.call_args:
            (constructor, steps), _ = pickle.loads(data)
            call = (pickle.loads(constructor), tuple((m, pickle.loads(s)) for m, s in steps))
            calls.append(pickle.dumps((call, {}), protocol=4))
    return tuple(calls)


def fresh_loader(task: TimingTask, source: str) -> Callable[[], Version]:
    """A function that loads `source` as a new module copy and returns its version (for a
    whole class: the class compiled anew in the imported module)."""

    def fresh() -> Version:
        if task.whole_class:
            return _class_beside(task, importlib.import_module(task.module), source, again=True)
        return _load_beside(task, importlib.import_module(task.module), source)

    return fresh


def _exception_text(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def choose_sample(
    call_ns: Sequence[int], pass_ns: int = SAMPLED_PASS_NS, rng: random.Random | None = None
) -> list[int] | None:
    """The calls (indices, in recorded order) a long pass is sampled down to, or None when a
    pass over all of them takes at most `pass_ns`.

    Calls are drawn at random, without replacement, until their times add up to `pass_ns`
    (at least one call). Each timing process draws its own sample, so the interval across
    processes includes how much the ratio differs from sample to sample; both sides of a
    process time the same calls.
    """
    if len(call_ns) < 2 or sum(call_ns) <= pass_ns:
        return None
    order = list(range(len(call_ns)))
    (rng or random.Random()).shuffle(order)
    chosen, total = [], 0
    for index in order:
        chosen.append(index)
        total += call_ns[index]
        if total >= pass_ns:
            break
    return sorted(chosen)


def _share(call_ns: Sequence[int], sample: Sequence[int]) -> float:
    """The sample's share of a full pass's time (1.0 when the times are unknown)."""
    total = sum(call_ns)
    return sum(call_ns[i] for i in sample) / total if total > 0 else 1.0


def pairs_in_time(task: TimingTask, spent: float, block_seconds: float) -> int:
    """How many ABBA pairs fit what is left of the process's share of the budget.

    A block's wall time counts the unpickling of its fresh input copies, which the
    calibration (on the timed clock only) does not see: mistune 3.3.2's `parse_ruby`
    takes 4.6 µs a call, but a copy of its arguments (the parser, whose rules are
    lambdas, and the whole document's state) 220 µs to unpickle, so ten pairs took
    35 s a process against a 10 s budget for three. At least MIN_PAIRS, at most
    `task.pairs`.
    """
    if task.seconds <= 0 or block_seconds <= 0:
        return task.pairs
    fit = math.floor((task.seconds - spent) / (2 * block_seconds))
    return max(min(MIN_PAIRS, task.pairs), min(task.pairs, fit))


def run_timing_task(task: TimingTask) -> ProcessTimings:
    """The worker entry: time the original and the candidate in ABBA blocks."""
    started = time.perf_counter()
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
    reprs, share = task.call_reprs, 1.0
    try:
        calls = history_calls(task, original.module) if task.whole_class else task.call_args
        recorded = len(calls)
        sample = choose_sample(task.call_ns) if len(task.call_ns) == recorded else None
        if sample is not None:  # a long pass: load only this process's sample
            calls = tuple(calls[i] for i in sample)
            reprs = tuple(reprs[i] if i < len(reprs) else "" for i in sample)
            share = _share(task.call_ns, sample)
        inputs = RecordedInputs(calls)
    except Exception as exc:
        return _failed(task, f"the recorded inputs could not be unpickled: {_exception_text(exc)}")
    measured: tuple[int, ...] = ()
    fresh_original = fresh_loader(task, task.original_source)
    fresh_candidate = fresh_loader(task, task.candidate_source)
    with open(os.devnull, "w") as devnull, contextlib.redirect_stdout(devnull):
        try:
            learning = None
            if task.probe:  # before any warm-up: first passes must be first
                learning = check_learning(fresh_original, fresh_candidate, inputs)
            cold = task.cold or (learning is not None and learning.learns)
            check_same_exceptions(original, candidate, inputs, reprs, sample or ())
            if task.compare_instructions and task.probe and sample is None:
                alike = same_instructions(original, candidate, inputs)
                if alike:  # no timing could show more than noise
                    return ProcessTimings(
                        (), (), 0, alike, recorded_calls=recorded, same_instructions=alike
                    )
            if sample is None and (sample := choose_sample(inputs.call_ns)) is not None:
                measured, share = tuple(inputs.call_ns), _share(inputs.call_ns, sample)
                inputs = inputs.narrowed(sample)
                reprs = tuple(reprs[i] if i < len(reprs) else "" for i in sample)
            if cold:
                loops = 1
                baseline, candidate_blocks = time_abba_blocks(
                    fresh_original, fresh_candidate, inputs, loops, task.pairs
                )
            else:
                loops = task.loops or calibrate_loops(
                    original, inputs, task.min_block_ns, inputs.max_loops()
                )
                # warm-ups at the timed size (when calibrated, the original warmed up then)
                for version in (original, candidate) if task.loops else (candidate,):
                    block_started = time.perf_counter()
                    time_version(
                        version, inputs.prepare(loops, version.module), inputs.pulls(loops)
                    )
                    block_seconds = time.perf_counter() - block_started
                pairs = pairs_in_time(task, time.perf_counter() - started, block_seconds)
                baseline, candidate_blocks = time_abba_blocks(
                    original, candidate, inputs, loops, pairs
                )
            memory = memory_peaks(fresh_original, fresh_candidate, inputs) if task.probe else None
            if changed := inputs.changed_pristine():
                raise BehaviourMismatch(
                    f"a recorded call {_describe(reprs, changed[0])}changed the inputs it "
                    "was timed on beyond its first runs' checks (run on shallow copies of "
                    "one pristine copy, a later run changed that copy): the "
                    "function behaves differently from run to run (state, randomness or "
                    "time?), so these times are not used"
                )
        except BehaviourMismatch as exc:
            return _failed(task, str(exc))
    return ProcessTimings(
        baseline_ns=tuple(block.nanoseconds for block in baseline),
        candidate_ns=tuple(block.nanoseconds for block in candidate_blocks),
        loops=loops,
        calls_per_pass=inputs.calls_per_pass,
        wall_baseline_ns=tuple(block.wall_ns for block in baseline),
        wall_candidate_ns=tuple(block.wall_ns for block in candidate_blocks),
        clock=clock_name(),
        cold=cold,
        learning=learning,
        memory=memory,
        kept_calls=len(inputs.kept),
        settled_calls=len(inputs.settled),
        shallow_calls=len(inputs.shallow),
        recorded_calls=recorded,
        sample_share=share,
        call_ns=measured,
    )


def _failed(task: TimingTask, problem: str) -> ProcessTimings:
    return ProcessTimings((), (), 0, len(task.call_args), problem)
