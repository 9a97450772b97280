"""Lazy results (generators, map/filter, itertools objects): what the consumer saw.

A lazy result cannot be pickled, and what it does happens after the call
returns, as the workload pulls items. The recorder hands the workload a
`RecordingIterator` in its place, which keeps a copy of each item as it is
produced, how many the workload took, and how it ended: exhausted (with the
generator's return value, `StopIteration.value`), raised, or stopped early
(closed or dropped). That becomes a `LazyOutcome`, the call's recorded result.
Replay pulls a version's lazy result exactly as far (`consume`), so partial
consumption is compared too, and the arguments' state is taken after it.
Standard library and cloudpickle only: this runs inside the user's process.
"""

from __future__ import annotations

import itertools
import types
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
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

    kind: str
    items: tuple[object, ...]
    end: str
    value: object = None
    error: str | None = None
    message: str | None = field(default=None, compare=False)

    def describe(self) -> str:
        """How it went for its consumer: "raised builtins.KeyError('x') after 2 items"."""
        count = f"{len(self.items)} item{'' if len(self.items) == 1 else 's'}"
        if self.end == RAISED:
            said = f"({self.message!r})" if self.message else ""
            return f"raised {self.error}{said} after {count}"
        if self.end == EXHAUSTED:
            return f"yielded {count}, then ended"
        return f"yielded {count} before its consumer stopped"


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


class RecordingIterator:
    """Stands in for a lazy result in the workload and reports what it produced once.

    `finish(outcome_or_problem, stdout)` is called once: with a LazyOutcome, or with
    a problem text when an item could not be copied.
    """

    def __init__(
        self,
        inner: Iterator[Any],
        finish: Callable[[LazyOutcome | str, str], None],
        capture_stdout: Callable[[Callable[[], Any]], tuple[Any, str]],
    ) -> None:
        self._inner = inner
        self._kind = _kind(inner)
        self._finish = finish
        self._capture = capture_stdout
        self._items: list[object] = []
        self._printed: list[str] = []
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
        try:
            item, printed = self._capture(pull)
        except StopIteration as stop:
            self._end(EXHAUSTED, value=stop.value)
            raise
        except BaseException as exc:
            self._end(RAISED, error=_error_name(exc), message=_message(exc))
            raise
        self._printed.append(printed)
        if not self._done:
            try:
                self._items.append(snapshot(item))
            except Exception as exc:
                self._done = True
                self._finish(
                    f"an item it produced cannot be pickled: {type(exc).__name__}: {exc}", ""
                )
        return item

    def _end(
        self, end: str, value: object = None, error: str | None = None, message: str | None = None
    ) -> None:
        if self._done:
            return
        self._done = True
        outcome = LazyOutcome(self._kind, tuple(self._items), end, value, error, message)
        self._finish(outcome, "".join(self._printed))


def consume(result: object, expected: LazyOutcome) -> object:
    """Pull `result` as far as the recorded consumer pulled, then end it the same way.

    A result that is not lazy comes back as it is (the comparison then shows the type).
    """
    return _pull(result, len(expected.items), stop=expected.end == STOPPED)


def pull_at_most(result: object, limit: int) -> object:
    """A lazy result pulled for at most `limit` items, then stopped; others as they are.

    For calls no consumer was recorded for (fuzzed inputs): pyperformance's pidigits
    `gen_pi_digits` never ends, and pulling it to the end hung every fuzz worker.
    """
    if not is_lazy(result):
        return result
    return _pull(result, limit, stop=True)


def _pull(result: object, count: int, stop: bool) -> object:
    """`count` items, then stopped (`stop`) or pulled once more to see how it ends."""
    if not isinstance(result, Iterator):
        return result
    items: list[object] = []
    for item in itertools.islice(_pulled(result), count):
        if isinstance(item, _End):
            return item.outcome(_kind(result), items)
        items.append(snapshot(item))
    if stop:
        close = getattr(result, "close", None)
        if close is not None:
            close()
        return LazyOutcome(_kind(result), tuple(items), STOPPED)
    last = next(_pulled(result))
    if isinstance(last, _End):
        return last.outcome(_kind(result), items)
    return LazyOutcome(_kind(result), (*items, snapshot(last)), STOPPED)


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
