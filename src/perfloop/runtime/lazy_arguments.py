"""Arguments that are one-shot iterators: recorded by what the call took from them.

A generator, `map` object or list iterator passed to a target cannot be pickled, and it
is consumed by the call. pypng 0.20220715's `Writer.write_packed(outfile, rows)`, half
of its workload's time, takes `rows` as a generator. The recorder hands such an
argument to the call wrapped in a `RecordedIterator`, which passes every item through
and keeps it; after the call the record's inputs hold a `ReplayIterator` over exactly
the items the original took (and whether it saw the end). Replaying gives a candidate
the same items; a candidate that asks for more than the original took gets
`IteratorOverrun` (the original left them to the caller, so taking them is a change a
caller sees); a candidate that takes fewer leaves the iterator at another position,
which the comparison of the arguments after the call shows.

Only iterators of the standard library's own kinds (generators, builtin and itertools
iterators: perfloop.runtime.lazy.is_lazy, the same test as for lazy results) are treated
this way: an iterator class of the user's may carry state and methods a call uses.
Standard library only: this runs inside the user's process.
"""

from __future__ import annotations

import itertools
import pickle
from collections.abc import Iterator
from typing import Any, NamedTuple

from perfloop.runtime.lazy import is_lazy

MAX_ITEMS = 100_000  # a longer stream is not recorded (the record would be too large)


class IteratorOverrun(Exception):
    """A replayed call took more items from an argument than the original did."""


class RecordedIterator:
    """Passes a one-shot iterator's items through to the call and keeps them."""

    def __init__(self, source: Iterator[Any]) -> None:
        self.source = source
        self.items: list[Any] = []
        self.exhausted = False
        self.overflowed = False  # gave more than MAX_ITEMS: passed through, not kept

    def __iter__(self) -> RecordedIterator:
        return self

    def __next__(self) -> Any:
        try:
            item = next(self.source)
        except StopIteration:
            self.exhausted = True
            raise
        if len(self.items) < MAX_ITEMS:
            self.items.append(item)
        else:
            self.overflowed = True
        return item

    def __length_hint__(self) -> int:
        return 0 if self.exhausted else getattr(self.source, "__length_hint__", lambda: 0)()

    def __reduce__(self) -> tuple[object, ...]:  # its state after the call
        return ReplayIterator, (tuple(self.items), self.exhausted, len(self.items))


class ReplayIterator:
    """The items an argument gave the original call, to give to a replayed one.

    `iter()` returns a C iterator over the items, so a loop over it costs what a loop
    over a list costs (the timing compares the function, not this stand-in).
    """

    def __init__(self, items: tuple[Any, ...], exhausted: bool, consumed: int = 0) -> None:
        self.items = items
        self.exhausted = exhausted
        self._head = iter(items)
        for _ in range(consumed):
            next(self._head)
        self._stream = itertools.chain(self._head, () if exhausted else self._overrun())

    def _overrun(self) -> Iterator[Any]:
        raise IteratorOverrun(
            f"took more than the {len(self.items)} items the original took from this iterator"
        )
        yield  # a generator, so the error comes when the extra item is asked for

    @property
    def consumed(self) -> int:
        return len(self.items) - self._head.__length_hint__()

    def __iter__(self) -> Iterator[Any]:
        return self._stream

    def __next__(self) -> Any:
        return next(self._stream)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ReplayIterator):
            return NotImplemented
        return (self.items, self.exhausted, self.consumed) == (
            other.items,
            other.exhausted,
            other.consumed,
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        end = ", then its end" if self.exhausted else ""
        return f"<iterator: {self.consumed} of {len(self.items)} recorded items taken{end}>"

    def __reduce__(self) -> tuple[object, ...]:
        return ReplayIterator, (self.items, self.exhausted, self.consumed)


class Slot:
    """Stands for the `index`-th iterator argument in inputs pickled before the call."""

    def __init__(self, index: int) -> None:
        self.index = index

    def __repr__(self) -> str:
        return "<iterator>"

    def __reduce__(self) -> tuple[object, ...]:
        return Slot, (self.index,)


def rebuild_inputs(inputs: bytes, tapes: tuple[tuple[tuple[Any, ...], bool], ...]) -> object:
    """Load inputs pickled before the call, each Slot replaced by its iterator's items.

    Runs where a record is loaded (a worker; the recorder never loads these bytes back in
    the workload), with the class tracker the rest of the record loads with: a class
    cloudpickle wrote by value is then one class in the inputs, the items and the
    outcome. Loaded apart (pickling.check_loads isolates the classes it loads), mpmath
    1.3.0's context in `fdot`'s recorded inputs had a `constant` class of its own, and
    replaying the original itself differed: "self.eps: ... two distinct classes named
    mpmath.ctx_mp_python.constant".
    """
    args, kwargs = pickle.loads(inputs)

    def fill(value: object) -> object:
        if isinstance(value, Slot):
            items, exhausted = tapes[value.index]
            return ReplayIterator(items, exhausted)
        return value

    return tuple(fill(a) for a in args), {k: fill(v) for k, v in kwargs.items()}


class LazyInputs:
    """Pickles as a call to rebuild_inputs: loading it gives (args, kwargs) directly."""

    def __init__(self, inputs: bytes, recorded: list[RecordedIterator]) -> None:
        self.inputs = inputs
        self.tapes = tuple((tuple(r.items), r.exhausted) for r in recorded)

    def __reduce__(self) -> tuple[object, ...]:
        return rebuild_inputs, (self.inputs, self.tapes)


class WrappedCall(NamedTuple):
    args: tuple[Any, ...]  # for the call: iterators wrapped in RecordedIterator
    kwargs: dict[str, Any]
    iterators: list[RecordedIterator]
    plain_args: tuple[Any, ...]  # to pickle before the call: iterators as Slot placeholders
    plain_kwargs: dict[str, Any]


def wrap_iterators(args: tuple[Any, ...], kwargs: dict[str, Any]) -> WrappedCall:
    """The call's arguments with every one-shot iterator recorded as the call takes it."""
    recorded: list[RecordedIterator] = []
    by_id: dict[int, int] = {}

    def wrap(value: Any) -> tuple[Any, Any]:
        if not is_lazy(value):
            return value, value
        if id(value) not in by_id:
            by_id[id(value)] = len(recorded)
            recorded.append(RecordedIterator(value))
        index = by_id[id(value)]
        return recorded[index], Slot(index)

    call_args, plain_args = zip(*(wrap(a) for a in args)) if args else ((), ())
    call_kwargs, plain_kwargs = {}, {}
    for key, value in kwargs.items():
        call_kwargs[key], plain_kwargs[key] = wrap(value)
    return WrappedCall(tuple(call_args), call_kwargs, recorded, tuple(plain_args), plain_kwargs)
