"""Lazy results (generators, map/filter, itertools objects): what the consumer saw.

A lazy result cannot be pickled, and what it does happens after the call
returns, as the workload pulls items. The recorder hands the workload a
`RecordingIterator` in its place, which keeps a copy of each item as it is
produced, how many the workload took, and how it ended: exhausted (with the
generator's return value, `StopIteration.value`), raised, or stopped early
(closed or dropped). That becomes a `LazyOutcome`, the call's recorded result.
Replay pulls a version's lazy result exactly as far (`consume`), so partial
consumption is compared too, and the arguments' state is taken after it.

An item that is itself lazy (more-itertools' `ichunked` yields chunks that read the
same source iterator, so what a chunk holds depends on when it is read) is handed to
the workload as a recording iterator too, all of them writing one log of pulls in the
order the workload made them: (iterator number, "item" and the item, or how it ended),
the result being number 0 and each lazy item the next number. The call is kept once
every iterator of the tree is done; replay makes the same pulls in the same order.
Standard library and cloudpickle only: this runs inside the user's process.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from perfloop.runtime import pickling

EXHAUSTED = "exhausted"
RAISED = "raised"
STOPPED = "stopped"  # the consumer stopped before the end (closed, dropped, process exit)


@dataclass(frozen=True)
class LazyOutcome:
    """What a lazy result produced for its consumer.

    `items` are copies taken when each was produced; `value` is the generator's
    return value when it was exhausted; `error` the qualified name of the
    exception it raised, and `message` what it said (shown, not compared: as for
    a call that raises, the type is what counts).
    """

    kind: str = field(compare=False)  # a generator or a zip: a consumer sees the same items
    items: tuple[object, ...]
    end: str
    value: object = None
    error: str | None = None
    message: str | None = field(default=None, compare=False)
    pulls: tuple[tuple[int, str, object], ...] = ()  # with lazy items: every pull, in order
    # an iterator of a class of the project's, pulled by a live tier (`pull_iterator_at_most`):
    # its class is compared too, as its consumer may use more of it than its items
    iterator_class: str | None = None

    def describe(self) -> str:
        """How it went for its consumer: "raised builtins.KeyError('x') after 2 items"."""
        count = f"{len(self.items)} item{'' if len(self.items) == 1 else 's'}"
        if self.end == RAISED:
            said = f"({self.message!r})" if self.message else ""
            return f"raised {self.error}{said} after {count}"
        if self.end == EXHAUSTED:
            return f"yielded {count}, then ended"
        return f"yielded {count} before its consumer stopped"


@dataclass(frozen=True)
class LazyItem:
    """An item that is itself lazy: the `number`-th iterator of its result's tree."""

    number: int


ITEM = "item"

_LAZY_MODULES = frozenset({"builtins", "itertools"})


def is_lazy(value: object) -> bool:
    """A generator, or an iterator of builtins or itertools (map, filter, zip, chain...)."""
    if isinstance(value, types.GeneratorType):
        return True
    kind = type(value)
    return kind.__module__ in _LAZY_MODULES and isinstance(value, Iterator)


def _kind(value: object) -> str:
    kind = type(value)
    return (
        kind.__qualname__
        if kind.__module__ == "builtins"
        else f"{kind.__module__}.{kind.__qualname__}"
    )


def _error_name(exc: BaseException) -> str:
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<message unprintable>"


def snapshot(item: object) -> object:
    """A copy of an item as it is now (the producer may change it after yielding it)."""
    # check_loads leaves the live classes alone
    return pickling.check_loads(pickling.dumps(item, faithful=True))


class _Tree:
    """The iterators a lazy result and its lazy items form, and the log of their pulls."""

    def __init__(
        self,
        finish: Callable[[LazyOutcome | str, str], None],
        register: Callable[[RecordingIterator], None],
    ) -> None:
        self.finish = finish
        self.register = register
        self.pulls: list[tuple[int, str, object]] = []
        self.nested = False
        self.count = 0
        self.open = 0
        self.outcome: LazyOutcome | None = None  # the result's own, once it ended
        self.printed: list[str] = []
        self.failed = False

    def fail(self, problem: str) -> None:
        if not self.failed:
            self.failed = True
            self.finish(problem, "")

    def ended(self) -> None:
        self.open -= 1
        if self.open or self.failed or self.outcome is None:
            return
        pulls = tuple(self.pulls) if self.nested else ()
        outcome = self.outcome
        self.finish(
            LazyOutcome(
                outcome.kind,
                outcome.items,
                outcome.end,
                outcome.value,
                outcome.error,
                outcome.message,
                pulls,
            ),
            "".join(self.printed),
        )


class RecordingIterator:
    """Stands in for a lazy result in the workload and reports what it produced once.

    `finish(outcome_or_problem, stdout)` is called once: with a LazyOutcome, or with
    a problem text when an item could not be copied. A lazy item is handed out as a
    RecordingIterator of the same tree (`register` is told about it, so the process's
    end can stop it); the result is finished when all of them are done.
    """

    def __init__(
        self,
        inner: Iterator[Any],
        finish: Callable[[LazyOutcome | str, str], None],
        capture_stdout: Callable[[Callable[[], Any]], tuple[Any, str]],
        register: Callable[[RecordingIterator], None] = lambda node: None,
        tree: _Tree | None = None,
    ) -> None:
        self._inner = inner
        self._kind = _kind(inner)
        self._capture = capture_stdout
        self._tree = tree if tree is not None else _Tree(finish, register)
        self._number = self._tree.count
        self._tree.count += 1
        self._tree.open += 1
        self._items: list[object] = []
        self._done = False

    def __iter__(self) -> RecordingIterator:
        return self

    def __next__(self) -> Any:
        return self._step(lambda: next(self._inner))

    def send(self, value: object) -> Any:
        return self._step(lambda: self._inner.send(value))  # type: ignore[attr-defined]

    def throw(self, *args: Any) -> Any:
        return self._step(lambda: self._inner.throw(*args))  # type: ignore[attr-defined]

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close is not None:
            close()
        self._end(STOPPED)

    def __del__(self) -> None:
        if not self._done:
            self.close()

    def stop_recording(self) -> None:
        """Record what was produced so far (the process is ending)."""
        self._end(STOPPED)

    def _step(self, pull: Callable[[], Any]) -> Any:
        tree = self._tree
        try:
            item, printed = self._capture(pull)
        except StopIteration as stop:
            self._end(EXHAUSTED, value=stop.value)
            raise
        except BaseException as exc:
            self._end(RAISED, error=_error_name(exc), message=_message(exc))
            raise
        tree.printed.append(printed)
        if self._done or tree.failed:
            return item
        if is_lazy(item):
            tree.nested = True
            child = RecordingIterator(item, tree.finish, self._capture, tree.register, tree)
            tree.register(child)
            self._keep(LazyItem(child._number))
            return child
        try:
            self._keep(snapshot(item))
        except Exception as exc:
            tree.fail(f"an item it produced cannot be pickled: {type(exc).__name__}: {exc}")
        return item

    def _keep(self, copy: object) -> None:
        self._items.append(copy)
        self._tree.pulls.append((self._number, ITEM, copy))

    def _end(
        self, end: str, value: object = None, error: str | None = None, message: str | None = None
    ) -> None:
        if self._done:
            return
        self._done = True
        tree = self._tree
        if end == EXHAUSTED:
            tree.pulls.append((self._number, end, value))
        elif end == RAISED:
            tree.pulls.append((self._number, end, error))
        # where a consumer stops is not logged: a dropped item stops when it is collected
        if self._number == 0:
            tree.outcome = LazyOutcome(self._kind, tuple(self._items), end, value, error, message)
        tree.ended()


def consume(result: object, expected: LazyOutcome) -> object:
    """Pull `result` as far as the recorded consumer pulled, then end it the same way.

    A result that is not lazy comes back as it is (the comparison then shows the type).
    """
    if expected.pulls:
        return _replay_pulls(result, expected)
    return _pull(result, len(expected.items), stop=expected.end == STOPPED)


def _replay_pulls(result: object, expected: LazyOutcome) -> object:
    """The recorded pulls made again, in order, on `result` and the lazy items it gives."""
    if not isinstance(result, Iterator):
        return result
    iterators: list[Iterator[Any]] = [result]
    pulls: list[tuple[int, str, object]] = []
    items: list[object] = []
    ending: _End | None = None
    for number, _, _ in expected.pulls:
        if number >= len(iterators):
            break  # it gave fewer lazy items: the pulls differ already
        item = next(_pulled(iterators[number]))
        if isinstance(item, _End):
            pulls.append((number, item.end, item.value if item.end == EXHAUSTED else item.error))
            if number == 0:
                ending = item
            continue
        if is_lazy(item):
            copy: object = LazyItem(len(iterators))
            iterators.append(item)
        else:
            copy = snapshot(item)
        pulls.append((number, ITEM, copy))
        if number == 0:
            items.append(copy)
    for iterator in reversed(iterators):
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
    if ending is None:
        return LazyOutcome(_kind(result), tuple(items), STOPPED, pulls=tuple(pulls))
    outcome = ending.outcome(_kind(result), items)
    return LazyOutcome(
        outcome.kind,
        outcome.items,
        outcome.end,
        outcome.value,
        outcome.error,
        outcome.message,
        tuple(pulls),
    )


def pull_at_most(result: object, limit: int) -> object:
    """A lazy result pulled for at most `limit` items, then stopped; others as they are.

    For calls no consumer was recorded for (fuzzed inputs): pyperformance's pidigits
    `gen_pi_digits` never ends, and pulling it to the end hung every fuzz worker.
    """
    if not is_lazy(result):
        return result
    return _pull(result, limit, stop=True)


def pull_iterator_at_most(result: Iterator[Any], limit: int) -> LazyOutcome:
    """An iterator of any class pulled as `pull_at_most` pulls a lazy result (not closed
    after `limit` items: a class's own `close` may mean more than a generator's), its class
    named in the outcome."""
    pulled = _pull(result, limit, stop=True)
    assert isinstance(pulled, LazyOutcome)
    return replace(pulled, iterator_class=_kind(result))


def _pull(result: object, count: int, stop: bool) -> object:
    """`count` items, then stopped (`stop`) or pulled once more to see how it ends."""
    if not isinstance(result, Iterator):
        return result
    items: list[object] = []
    for item in itertools.islice(_pulled(result), count):
        if isinstance(item, _End):
            return item.outcome(_kind(result), items)
        items.append(_pull(item, count, stop=True) if is_lazy(item) else snapshot(item))
    if stop:
        close = getattr(result, "close", None) if is_lazy(result) else None
        if close is not None:
            close()
        return LazyOutcome(_kind(result), tuple(items), STOPPED)
    last = next(_pulled(result))
    if isinstance(last, _End):
        return last.outcome(_kind(result), items)
    copy = _pull(last, count, stop=True) if is_lazy(last) else snapshot(last)
    return LazyOutcome(_kind(result), (*items, copy), STOPPED)


@dataclass(frozen=True)
class _End:
    end: str
    value: object = None
    error: str | None = None
    message: str | None = None

    def outcome(self, kind: str, items: list[object]) -> LazyOutcome:
        return LazyOutcome(kind, tuple(items), self.end, self.value, self.error, self.message)


def _pulled(iterator: Iterator[Any]) -> Iterator[Any]:
    """The iterator's items, then one _End saying how it ended."""
    while True:
        try:
            item = next(iterator)
        except StopIteration as stop:
            yield _End(EXHAUSTED, value=stop.value)
            return
        except Exception as exc:
            yield _End(RAISED, error=_error_name(exc), message=_message(exc))
            return
        yield item


def settle(result: object, expected: tuple[object, ...]) -> object:
    """The result as replay compares it: a lazy one pulled as the recorded consumer did."""
    if expected[0] == "return" and isinstance(expected[1], LazyOutcome):
        return consume(result, expected[1])
    return result
