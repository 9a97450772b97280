"""Record calls of target functions while the user's workload runs.

Every call of a target counts, the inner calls of a recursion too: a recursive
descent parser's hot method (pyparsing 3.1.4 `ParserElement._parseNoCache`) is
called thousands of times inside one outer call, and recording only the outermost
left replay and timing one giant input. Calls made while a lazy result is being
pulled for its recording are not recorded (they are part of that item). Up to
`max_calls` calls are kept by reservoir sampling with a fixed seed, so the sample
is spread over the whole workload and the same workload gives the same sample. A call the
same as one kept already (the same inputs, module state included, the same outcome and
output) is not kept twice: its slot stays free for a distinct call. A call whose inputs
(module state included) are a kept call's is taken for a repeat before it runs and runs
unrecorded (a deterministic function would do the same again); any other repeat is found
by recording it; once the repeats met while slots are free have cost
REPEAT_BYTES of pickles, a free slot takes a call only with reservoir odds (slots over
calls seen), so a loop that makes one large call a million times is not pickled a
million times. With the profile's count of calls, the calls to keep are
drawn up front instead, and only those are recorded (`plan_calls`). Each kept call is
pickled before the call (its inputs), and after it (return value or exception,
and the arguments' state, so mutation is part of the record), by
perfloop.runtime.pickling (pickle, else cloudpickle), and loaded back once to
prove a worker can. Standard library and cloudpickle only: this runs inside the
user's process.
"""

from __future__ import annotations

import collections
import functools
import hashlib
import inspect
import io
import itertools
import random
import reprlib
import sys
import threading
import weakref
from collections.abc import Callable
from typing import Any

from perfloop.runtime import lazy, lazy_arguments, pickling, probes, state

APPEND = -1  # a call's slot: a new one at the end of the kept calls
# a problem of a call that is kept all the same, without the module state
STATE_LEFT_OUT = "its inputs and module state cannot be pickled together"
LARGE = 100  # items past which a container is shown by its first few, unsorted


class _BoundedRepr(reprlib.Repr):
    """reprlib's bounded repr, bounded for more kinds: reprlib builds the whole repr of a
    type it does not know, then cuts it, and sorts a dict's keys to pick the first few.
    A namedtuple's repr is its fields' full reprs (chardet 5.2.0's SingleByteCharSetModel
    holds its language model's nested dicts: 1 ms a repr, and its probers' histories
    repr'd thousands of calls), so is a large OrderedDict's; bytes were not cut at all."""

    def repr1(self, x: object, level: int) -> str:
        if level > 0 and isinstance(x, tuple) and hasattr(type(x), "_fields"):
            fields = zip(type(x)._fields, x)  # type: ignore[attr-defined]
            shown = [
                f"{f}={self.repr1(v, level - 1)}" for f, v in itertools.islice(fields, self.maxlist)
            ]
            more = ", ..." if len(x) > self.maxlist else ""
            return f"{type(x).__name__}({', '.join(shown)}{more})"
        if isinstance(x, (bytes, bytearray)) and len(x) > self.maxstring:
            return f"{x[: self.maxstring]!r}..."
        if isinstance(x, (dict, list, tuple, set, frozenset)) and len(x) > LARGE:
            return self._first_few(x, level)
        return super().repr1(x, level)

    def _first_few(self, x: Any, level: int) -> str:
        if level <= 0:
            return "..."
        if isinstance(x, dict):
            pairs = itertools.islice(x.items(), self.maxdict)
            body = (
                "{"
                + ", ".join(
                    f"{self.repr1(k, level - 1)}: {self.repr1(v, level - 1)}" for k, v in pairs
                )
                + ", ...}"
            )
        else:
            body = (
                "["
                + ", ".join(self.repr1(v, level - 1) for v in itertools.islice(x, self.maxlist))
                + ", ...]"
            )
        return body if type(x) in (dict, list) else f"{type(x).__name__}({body})"


_repr = _BoundedRepr()
_repr.maxstring = 60
_repr.maxother = 60
_repr.maxlist = 6
_repr.maxdict = 4


def describe_type(value: object, depth: int = 4) -> str:
    """A short type description of a runtime value: `list[int]`, `dict[str, float]`;
    containers below `depth` levels are named without their items (`dict[str, dict]`).

    The limit also stops containers that hold themselves: construct 2.10's parsing
    `context` is a dict whose `_root` is that dict, and describing it raised
    RecursionError inside the workload, which failed."""
    kind = type(value)
    name = (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )
    if depth <= 0:
        return name
    if isinstance(value, (list, tuple, set, frozenset)) and value:
        items = sorted({describe_type(item, depth - 1) for item in list(value)[:5]})
        return f"{name}[{' | '.join(items)}]"
    if isinstance(value, dict) and value:
        pairs = list(value.items())[:5]
        keys = sorted({describe_type(k, depth - 1) for k, _ in pairs})
        values = sorted({describe_type(v, depth - 1) for _, v in pairs})
        return f"{name}[{' | '.join(keys)}, {' | '.join(values)}]"
    return name


class _Tee(io.TextIOBase):
    def __init__(self, original: Any) -> None:
        self.original = original
        self.buffer_text = io.StringIO()

    def write(self, text: str) -> int:
        self.buffer_text.write(text)
        return self.original.write(text)

    def flush(self) -> None:
        self.original.flush()

    def close(self) -> None:
        """Nothing to close: the stream is the workload's. (IOBase's finaliser closes, and
        close flushed: each recorded call's tee, dropped, flushed the streams under it, a
        chain as deep as the recursion: 212,018 flushes for 6,660 recorded calls.)"""


# After this many calls in a row whose inputs could not be recorded, try only every
# RETRY_EVERY-th call: a failed pickle can walk a large object graph first (pycparser
# 2.22's lexer: 20-40 ms per call of a method called 16,000 times), which made the
# capture run of a 0.5 s workload pass the 600 s limit.
GIVE_UP_AFTER = 10
RETRY_EVERY = 1000
# bytes of pickled inputs of repeated calls (met while slots are free) before free slots
# take calls with reservoir odds only: about 0.1 s of pickling. Not a count of repeats: the
# targets that are not planned are recursions (and runs without a profile), and a count
# low enough to save much (10,000) dropped the outer calls of a recursion whose distinct
# calls come late: the third outer call of 26,311, where memoizing finds its speedup
REPEAT_BYTES = 32 * 1024 * 1024
# with the profile's count, a planned call that repeats a kept one is replaced by the next
# call, up to REPLACED_PER_SLOT times per slot in all, and not while the last
# REPEATS_IN_A_ROW calls recorded into free slots were all repeats: the distinct calls are
# likely all kept then (tabulate 0.9.0's _more_generic has 5 distinct calls in 144,000:
# replacing every repeat up to 4 per slot recorded 995 repeats, and its capture on 3.12
# took twice as long for 2% more distinct calls over its five targets)
REPLACED_PER_SLOT = 4
REPEATS_IN_A_ROW = 10


class Recorder:
    def __init__(
        self,
        ref: str,
        function: Callable[..., object],
        max_calls: int,
        max_bytes: int,
        receiver: str | None = None,
    ):
        self.ref = ref
        self.max_calls = max_calls
        self.max_bytes = max_bytes
        self.calls_seen = 0
        self.problems: dict[str, int] = {}
        self._failures_in_a_row = 0  # calls whose inputs could not be recorded, in a row
        self.kept: list[tuple[int, dict[str, object]]] = []
        self.bytes_kept = 0
        self.parameter_types: dict[str, set[str]] = {}
        self.return_types: set[str] = set()
        self.attribute_types: dict[str, set[str]] = {}  # of the receiver, before each call
        self._random = random.Random(0)
        self.reserved = 0
        self.repeats = 0  # calls not kept because an identical one was
        self._kept_digests: set[bytes] = set()
        # the kept calls' inputs (module state included), digest -> how many: a call with
        # the inputs of a kept one is a repeat before it runs (a deterministic function
        # does the same again), so it is not recorded; a recursion's recorded calls are
        # mostly repeats (the example's ways_to_pay: 23,584 to find 200 distinct)
        self._kept_inputs: collections.Counter[bytes] = collections.Counter()
        self._repeat_bytes = 0  # of the repeats' pickles met while slots were free
        self._thinning = False  # free slots take a call with reservoir odds only
        # how many calls the reservoir holds: max_calls, or fewer once the byte budget is
        # used up (pycparser 2.22's lexer: 350 kB per call; counting on max_calls, every
        # later call took a "free" slot, pickled its inputs and was refused: 60 ms each, 16,000
        # times, so a 0.3 s workload passed the 600 s limit)
        self.capacity = max_calls
        # bytes pickled for calls the used-up budget then refused; past max_bytes of them no
        # call is recorded any more (pyflakes 3.2.0: each call's `self`, a Checker holding
        # the whole AST, pickles to 300 kB-1 MB; the budget kept 24 calls, and replacing
        # them with reservoir odds pickled and loaded hundreds more, to refuse most)
        self._refused_bytes = 0
        # an argument's id() as the result (pyparsing 3.1's ParserElement.__hash__ returns
        # id(self)): no other process can reproduce it
        self.returned_an_address = False
        self._globals = state.Tracker(function, receiver)
        self.pending: weakref.WeakSet[lazy.RecordingIterator] = weakref.WeakSet()
        self._local = threading.local()
        # Python 3.12+: the probe that swaps the wrapper for a counting event between the
        # calls the sampler picks (perfloop.runtime.probes); None: every call is wrapped
        self.probe: probes.Probe | None = None
        self.next_pick: int | None = None  # with a probe: the index of the next call kept
        self._sampling = False  # with a probe: the reservoir was full once
        self._switch_pending = False
        # with the profile's count of the calls: the calls to keep, drawn up front
        # (latest first), so only those are recorded (None: reservoir sampling as they come)
        self._plan: list[int] | None = None
        self._repeats_replaced = 0  # planned calls that repeated a kept one, and were replaced
        self._repeats_in_a_row = 0  # the last calls recorded into free slots were repeats
        self.expected_calls = 0
        self.pulling_now = 0  # lazy results being pulled for their recording, in any thread
        try:
            self._signature: inspect.Signature | None = inspect.signature(function)
        except (TypeError, ValueError):
            self._signature = None

    def use_probe(self, probe: probes.Probe) -> None:
        """Count with `probe` between recorded calls (3.12+)."""
        self.probe = probe

    def plan_calls(self, expected_calls: int | None) -> None:
        """With `expected_calls` (the profile's count), keep a uniform sample of max_calls
        of them drawn up front: the same sample reservoir sampling ends with, but only
        those calls are recorded (reservoir sampling records k(1 + ln(n/k)) calls to keep
        k). Wrapped (3.10, 3.11) as well as probed: tabulate 0.9.0's five targets, called
        740,000 times, recorded about 1,900 calls each to keep 200, and capture took 103
        times the workload's time on 3.11 (2.3 times on 3.12, which planned)."""
        if expected_calls:
            self.expected_calls = expected_calls
            picks = self._random.sample(
                range(1, expected_calls + 1), min(self.max_calls, expected_calls)
            )
            self._plan = sorted(picks, reverse=True)
            self.next_pick = self._plan.pop()

    def watch_changes_since(self, snapshot: state.ModuleSnapshot) -> None:
        """Record, with each call, what the workload changed in the module since then."""
        self._globals.watch_changes_since(snapshot)

    def _slot(self) -> int | None:
        """Reservoir sampling: which slot the current call takes (APPEND: a new one), if any.

        Lazy results still being consumed hold a reserved new slot each.
        """
        if self._refused_bytes > self.max_bytes:
            return None
        if self._plan is not None:
            return self._planned_slot()
        free = len(self.kept) + self.reserved < self.capacity
        if free and not self._thinning:
            return APPEND
        # call m is kept with probability odds/m: into a free slot while thinning, else
        # in place of a kept call
        odds = self.capacity if free else min(self.capacity, len(self.kept))
        if self.probe is None:
            choice = self._random.randrange(self.calls_seen)
            if choice >= odds:
                return None
            return APPEND if free else choice
        # the same rule, drawn as the next pick (the probe counts the calls in between)
        if not self._sampling:
            self._sampling = True
            self.next_pick = probes.next_pick(self.calls_seen - 1, odds, self._random)
        picked = self.next_pick is not None and self.calls_seen >= self.next_pick
        if picked:
            self.next_pick = probes.next_pick(self.calls_seen, odds, self._random)
        if self.next_pick is None or self.next_pick > self.calls_seen + 1:
            self._switch_pending = True  # count the calls up to the next pick with the event
        if not picked or not odds:
            return None
        return APPEND if free else self._random.randrange(odds)

    def _planned_slot(self) -> int | None:
        """The slot of the current call if the plan picked it; past the profile's count,
        later calls are kept with reservoir odds."""
        picked = self.next_pick is not None and self.calls_seen >= self.next_pick
        if picked:
            if self._plan:
                self.next_pick = self._plan.pop()
            else:
                kept = min(self.capacity, len(self.kept) + self.reserved + 1)
                after = max(self.expected_calls, self.calls_seen)
                self.next_pick = probes.next_pick(after, kept, self._random)
        if self.next_pick is None or self.next_pick > self.calls_seen + 1:
            self._switch_pending = True
        if not picked:
            return None
        if len(self.kept) + self.reserved < self.capacity:
            return APPEND
        kept = min(self.capacity, len(self.kept))
        return self._random.randrange(kept) if kept else None

    def _pick_the_next_call_instead(self) -> None:
        """A planned call that cannot be kept (its inputs do not pickle, or it repeats a
        kept call): take the next call instead."""
        assert self._plan is not None
        if self.next_pick is not None:
            self._plan.append(self.next_pick)  # still the earliest of the plan
        self.next_pick = self.calls_seen + 1
        self._switch_pending = False
        if self.probe is not None:  # after a repeat the probe may be counting
            self.probe.record_from_here()

    def _repeated(self, slot: int, before: bytes) -> None:
        """A call the same as a kept one (its inputs, or its inputs, outcome and output):
        counted, not kept; a planned call's slot may go to the next call."""
        self.repeats += 1
        if slot != APPEND:
            return
        self._repeat_bytes += len(before)
        self._thinning = self._repeat_bytes > REPEAT_BYTES
        self._repeats_in_a_row += 1
        if self._plan is not None and self._repeats_replaced < self._most_replaced():
            self._repeats_replaced += 1
            self._pick_the_next_call_instead()

    def _most_replaced(self) -> int:
        """How many planned calls that repeat a kept one the next call may replace in all:
        a few per slot; none while the last REPEATS_IN_A_ROW calls recorded into free slots
        were repeats, or once the repeats' pickles reach REPEAT_BYTES (a target with fewer
        distinct calls than slots is not recorded call by call)."""
        if self._thinning or self._repeats_in_a_row >= REPEATS_IN_A_ROW:
            return 0
        return REPLACED_PER_SLOT * self.max_calls

    def _problem(self, reason: str) -> None:
        self.problems[reason] = self.problems.get(reason, 0) + 1

    def _observe_types(self, args: tuple[object, ...], kwargs: dict[str, object]) -> None:
        if self._signature is None:
            return
        try:
            bound = self._signature.bind(*args, **kwargs)
        except TypeError:
            return
        for name, value in bound.arguments.items():
            self.parameter_types.setdefault(name, set()).add(describe_type(value))
        if self._globals.receiver != "self" or not args:
            return
        held = getattr(args[0], "__dict__", None)
        if isinstance(held, dict):  # the instance attributes the code names (self.total)
            for name in self._globals.attributes & held.keys():
                kind = describe_type(held[name])
                self.attribute_types.setdefault(name, set()).add(kind)

    def call(
        self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        if getattr(self._local, "pulling", False):
            return function(*args, **kwargs)
        self.calls_seen += 1
        slot = self._slot()
        if slot is None:
            return self._run_unrecorded(function, args, kwargs)
        if self._failures_in_a_row >= GIVE_UP_AFTER and self.calls_seen % RETRY_EVERY:
            return self._run_unrecorded(function, args, kwargs)
        wrapped = lazy_arguments.wrap_iterators(args, kwargs)
        state_before = self._globals.before(args, kwargs)
        # with state, the inputs and the state pickled as one (what they share stays
        # shared) are also the inputs' only pickle: one dump and one load per call
        inputs = self._with_state(state_before, wrapped) if state_before else None
        if not isinstance(inputs, tuple):
            together = inputs
            inputs = self._inputs(wrapped.plain_args, wrapped.plain_kwargs)
            if inputs is not None and state_before:  # each part alone serialises
                self._problem(f"{STATE_LEFT_OUT}: {together}")
                state_before.clear()
        if inputs is None:
            self._failures_in_a_row += 1
            if self._plan is not None and self._failures_in_a_row < GIVE_UP_AFTER:
                self._pick_the_next_call_instead()
            return self._run_unrecorded(function, args, kwargs)
        self._failures_in_a_row = 0
        before, copy = inputs
        args, kwargs, iterators = wrapped.args, wrapped.kwargs, wrapped.iterators
        if not iterators and _digest(before) in self._kept_inputs:
            self._repeated(slot, before)
            return self._run_unrecorded(function, args, kwargs)
        tee = _Tee(sys.stdout)
        sys.stdout = tee
        try:
            result = self._invoke(function, args, kwargs)
        except BaseException as exc:
            sys.stdout = tee.original
            kind = type(exc)
            self._keep(
                slot,
                self._with_iterators(before, iterators),
                (
                    "raise",
                    f"{kind.__module__}.{kind.__qualname__}",
                    str(exc),
                    *self._global_state(state_before, args),
                    (args, kwargs),
                ),
                tee.buffer_text.getvalue(),
                copy,
            )
            raise
        sys.stdout = tee.original
        self.return_types.add(describe_type(result))
        if type(result) is int and not self.returned_an_address:
            self.returned_an_address = _an_address_of(result, args, kwargs)
        if lazy.is_lazy(result):
            return self._recording(
                result,
                slot,
                (before, iterators),
                tee.buffer_text.getvalue(),
                copy,
                (args, kwargs),
                state_before,
            )
        self._keep(
            slot,
            self._with_iterators(before, iterators),
            ("return", result, *self._global_state(state_before, args), (args, kwargs)),
            tee.buffer_text.getvalue(),
            copy,
        )
        return result

    def _with_state(
        self, values: dict[str, object], wrapped: lazy_arguments.WrappedCall
    ) -> tuple[bytes, tuple[tuple[Any, ...], dict[str, Any]]] | str:
        """The inputs and the state the call runs with, pickled as one (what they share,
        such as a cache keyed by the very objects passed, stays shared), and the copy of
        the inputs they load back as (the state is loaded, not put in place); or why
        they do not serialise together."""
        inputs = (wrapped.plain_args, wrapped.plain_kwargs)
        try:
            shared = state.shared_containers(values, inputs)
            data = pickling.dumps(
                state.StatefulInputs(self._globals.module, values, inputs, shared),
                faithful=True,
            )
            copy = state.load_inputs_only(data)
        except pickling.SerialiseError as exc:
            return str(exc)
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        return data, copy  # type: ignore[return-value]

    def _global_state(
        self, before: dict[str, object], args: tuple[object, ...]
    ) -> tuple[state.GlobalState, ...]:
        """The outcome's state part: none, or the same names' values after the call, and
        those of the singletons around the target that the call changed."""
        keys = self._globals.keys_after(before)
        if not keys:
            return ()
        receiver = state.receiver_class(self._globals.receiver, args)
        recorded = state.GlobalState(dict.fromkeys(keys))
        now = state.after(self._globals.namespace, recorded, receiver=receiver)
        # the notes after the values (reading them notes what is left out), and both
        # dicts' keys interned: pickle writes a key shared by both once, so the same state
        # must share it every time, or a call's outcome is no repeat of the same call's
        after = {sys.intern(key): value for key, value in now.after.items()}
        notes = {sys.intern(key): why for key, why in self._globals.notes().items()}
        return (state.GlobalState(after, notes),)

    def _with_iterators(
        self, before: bytes, iterators: list[lazy_arguments.RecordedIterator]
    ) -> bytes | None:
        """The inputs with each iterator argument's items as the call took them (None: the
        items cannot be kept, and the problem is noted)."""
        if not iterators:
            return before
        if any(iterator.overflowed for iterator in iterators):
            self._problem(f"an iterator argument gave more than {lazy_arguments.MAX_ITEMS} items")
            return None
        try:
            return pickling.dumps(lazy_arguments.LazyInputs(before, iterators), faithful=True)
        except pickling.SerialiseError as exc:
            self._problem(f"the items of an iterator argument cannot be pickled: {exc}")
            return None

    def _recording(
        self,
        result: Any,
        slot: int,
        inputs: tuple[bytes, list[lazy_arguments.RecordedIterator]],
        stdout: str,
        copy: tuple[tuple[Any, ...], dict[str, Any]],
        arguments: tuple[tuple[Any, ...], dict[str, Any]],
        state_before: dict[str, object],
    ) -> lazy.RecordingIterator:
        """The lazy result, wrapped so the call is kept once its consumer is done with it
        (only then is it known what the result took from iterator arguments)."""

        if slot == APPEND:
            self.reserved += 1

        def finish(outcome: lazy.LazyOutcome | str, printed: str) -> None:
            if slot == APPEND:
                self.reserved -= 1
            if isinstance(outcome, str):
                self._problem(outcome)
            else:
                self._keep(
                    slot,
                    self._with_iterators(*inputs),
                    ("return", outcome, *self._global_state(state_before, arguments[0]), arguments),
                    stdout + printed,
                    copy,
                )

        proxy = lazy.RecordingIterator(result, finish, self._pull, self.pending.add)
        self.pending.add(proxy)
        return proxy

    def _pull(self, pull: Callable[[], Any]) -> tuple[Any, str]:
        """One item of a lazy result, with what it printed; inner calls are not recorded."""
        tee = _Tee(sys.stdout)
        sys.stdout = tee
        pulling = getattr(self._local, "pulling", False)
        self._local.pulling = True
        self.pulling_now += 1
        try:
            return pull(), tee.buffer_text.getvalue()
        finally:
            sys.stdout = tee.original
            self._local.pulling = pulling
            self.pulling_now -= 1

    def _inputs(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[bytes, tuple[tuple[Any, ...], dict[str, Any]]] | None:
        """The inputs as bytes and the copy they load back as, or None with the problem noted."""
        try:
            before = pickling.dumps((args, kwargs), faithful=True)
        except pickling.SerialiseError:
            where = pickling.culprit(args, kwargs, self._signature, loading=False)
            self._problem(f"its arguments cannot be pickled: {where}")
            return None
        try:
            copy = pickling.check_loads(before)
        except Exception:
            where = pickling.culprit(args, kwargs, self._signature, loading=True)
            self._problem(f"its arguments pickle but do not load back: {where}")
            return None
        return before, copy

    def _run_unrecorded(
        self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        return self._invoke(function, args, kwargs)

    def _invoke(
        self, function: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        """Call the target; with a switch to counting pending, switch first, so the calls
        it makes (a recursion's inner calls) are counted by the event."""
        probe = self.probe
        if probe is None or not self._switch_pending:
            return function(*args, **kwargs)
        self._switch_pending = False
        probe.count_from_here(recorder_calls_next=True)
        try:
            return function(*args, **kwargs)
        finally:
            probe.recorder_call_done()

    def _call_repr(self, args: tuple[object, ...], kwargs: dict[str, object]) -> str:
        parts = [_safe_repr(a) for a in args] + [f"{k}={_safe_repr(v)}" for k, v in kwargs.items()]
        return f"{self.ref.split(':')[1]}({', '.join(parts)})"

    def _keep(
        self,
        slot: int,
        before: bytes | None,
        outcome: tuple[object, ...],
        stdout: str,
        copy: tuple[tuple[Any, ...], dict[str, Any]],
    ) -> None:
        """Keep the call in `slot` unless it repeats a kept one. `copy` is the inputs as
        loaded back before the call: the call's types and repr are read from it only for a
        call that is not a repeat (a recursion's repeats are most of its recorded calls,
        and binding and describing them was a third of their cost)."""
        if before is None:  # the inputs could not be kept; the problem is noted
            self._observe_types(*copy)
            return
        try:
            after = pickling.dumps(outcome)
        except pickling.SerialiseError as exc:
            self._observe_types(*copy)
            self._problem(f"its outcome cannot be pickled: {_part(outcome)}: {exc}")
            return
        inputs_digest = _digest(before)  # large inputs (chardet's: 25 kB) are hashed once
        digest = _digest(inputs_digest, after, stdout.encode())
        if digest in self._kept_digests:
            self._repeated(slot, before)
            return
        self._repeats_in_a_row = 0
        self._observe_types(*copy)
        try:  # not needed for a repeat: its bytes are a kept call's, which loaded back
            pickling.check_loads(after)
        except Exception as exc:
            self._problem(
                f"its outcome pickles but does not load back: {_part(outcome)}: "
                f"{type(exc).__name__}: {exc}"
            )
            return
        if slot == APPEND and len(self.kept) >= self.capacity:
            # an outer call that took a new slot before its inner calls filled the rest
            if not self.kept:
                return
            slot = self._random.randrange(len(self.kept))
        size = len(before) + len(after) + len(stdout)
        replaced = self.kept[slot][1] if slot != APPEND else None
        freed = replaced["size"] if replaced is not None else 0
        if self.bytes_kept - freed + size > self.max_bytes:  # type: ignore[operator]
            self._problem("the capture byte budget was used up (capture-mb raises it)")
            self._refused_bytes += size
            if slot == APPEND:  # from now on, later calls only replace kept ones
                self.capacity = len(self.kept)
            return
        record = {
            "args": before,
            "outcome": after,
            "stdout": stdout,
            # repr of the copy: a repr that caches (pyparsing's default names) must not
            # change the live arguments, or the recording holds state replay never sees
            "call_repr": self._call_repr(*copy),
            "size": size,
            "digest": digest,
            "inputs_digest": inputs_digest,
        }
        if replaced is not None:
            self._kept_digests.discard(replaced["digest"])  # type: ignore[arg-type]
            gone = replaced["inputs_digest"]
            self._kept_inputs[gone] -= 1  # type: ignore[index]
            if not self._kept_inputs[gone]:  # type: ignore[index]
                del self._kept_inputs[gone]  # type: ignore[arg-type]
        self._kept_digests.add(digest)
        self._kept_inputs[inputs_digest] += 1
        self.bytes_kept += size - freed  # type: ignore[operator]
        entry = (self.calls_seen, record)
        if slot != APPEND:
            self.kept[slot] = entry
        else:
            self.kept.append(entry)

    def summary(self) -> dict[str, object]:
        """Plain builtins only, so the main process can read it without importing user code."""
        for proxy in list(self.pending):
            proxy.stop_recording()
        ordered = [record for _, record in sorted(self.kept, key=lambda item: item[0])]
        return {
            "calls_seen": self.calls_seen,
            "calls_not_recorded": self.calls_seen - len(ordered),
            "repeats": self.repeats,
            "problems": dict(self.problems),
            "records": ordered,
            "parameter_types": {k: sorted(v) for k, v in self.parameter_types.items()},
            "return_types": sorted(self.return_types),
            "attribute_types": {k: sorted(v) for k, v in sorted(self.attribute_types.items())},
            "returned_an_address": self.returned_an_address,
            "expected_calls": self.expected_calls,
        }


def _digest(*parts: bytes) -> bytes:
    return hashlib.blake2b(b"\0".join(parts), digest_size=16).digest()


def _an_address_of(result: int, args: tuple[object, ...], kwargs: dict[str, object]) -> bool:
    """Whether `result` is an argument's id() (or object.__hash__'s id() >> 4 of it)."""
    for value in (*args, *kwargs.values()):
        if type(value) is not int and result in (id(value), id(value) >> 4):
            return True
    return False


def _part(outcome: tuple[object, ...]) -> str:
    """The part of an outcome most likely at fault: the return value, else the arguments."""
    if outcome[0] == "return":
        try:
            pickling.check_loads(pickling.dumps(outcome[1]))
        except Exception:
            kind = type(outcome[1])
            return f"the return value (a {kind.__module__}.{kind.__qualname__})"
        return "the arguments after the call"
    return "the arguments after the call"


def _safe_repr(value: object) -> str:
    try:
        return _repr.repr(value)
    except Exception:
        return f"<{type(value).__name__}>"


def make_wrapper(function: Callable[..., Any], recorder: Recorder) -> Callable[..., Any]:
    @pickling.instrumentation
    @functools.wraps(function)
    def recorded(*args: Any, **kwargs: Any) -> Any:
        return recorder.call(function, args, kwargs)

    return recorded
