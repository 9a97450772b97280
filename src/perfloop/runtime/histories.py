"""Record what happens to a few instances of a class whose methods are hot targets.

A per-call record sees one call with the instance as it was just before; state
that lives across calls (a prober fed chunk after chunk, a lexer advancing, a
cache inside the instance) shows only over a sequence of calls on one object.
For each class that owns a target method, a `HistoryRecorder` keeps, for up to
`max_histories` of its instances (reservoir sampling over the instances with a
fixed seed, so the sample spreads over the whole workload and the same workload
gives the same sample), the constructor's arguments and the sequence of
outermost method calls on the instance: which method, its arguments as they
were before the call. Calls the instance's own methods make on it (`feed`
calling `self.reset()`) are part of the outer call and are not steps of their
own, so replaying a history does not apply them twice; a generator a method returns
counts as inside the method while its consumer pulls it.

Nothing of the outcomes is kept: the interaction tier replays each history on
the original and on the candidate side by side in one worker and compares
them there (perfloop.verification.interaction).

The method wrappers stand in the class only while a followed history is open: between
histories the methods run unwrapped (a hot method called a million times paid for the
wrapper on every call to record a few hundred steps). A bound method the workload took
from an instance while they were out (`step = parser.step` before a loop) reaches the
method unwrapped, so such calls on a followed instance are not in its history.

Only instances whose class is exactly the target's class are followed (a
subclass's constructor takes other arguments than the base `__init__` it calls),
and only instances that take weak references (the recorder must not keep them
alive). Bounded like the per-call recorder: steps per history, bytes in all.
Standard library and cloudpickle only: this runs inside the user's process.
"""

from __future__ import annotations

import functools
import inspect
import random
import threading
import types
import weakref
from collections.abc import Callable
from typing import Any

from perfloop.runtime import lazy, pickling
from perfloop.runtime.recorder import _safe_repr

MAX_HISTORIES = 20
MAX_STEPS = 100  # calls kept per history; later calls on the instance are not recorded

# methods recorded besides the public ones and the targets: what callers reach by syntax
_DUNDERS = ("__call__", "__getitem__", "__setitem__", "__delitem__", "__contains__", "__len__")


def recorded_methods(cls: type, targets: tuple[str, ...]) -> tuple[str, ...]:
    """The methods of `cls` (its own or inherited, plain functions) a history records:
    the public ones, a few dunders callers reach by syntax, and the targets."""
    found: list[str] = []
    for klass in cls.__mro__[:-1]:
        for name, value in vars(klass).items():
            if name in found or not isinstance(value, types.FunctionType):
                continue
            if name in targets or name in _DUNDERS or not name.startswith("_"):
                found.append(name)
    return tuple(sorted(found))


class _History:
    def __init__(self, number: int, constructor: bytes, constructor_repr: str) -> None:
        self.number = number  # the how-manieth instance of the class it follows
        self.constructor = constructor
        self.constructor_repr = constructor_repr
        self.steps: list[dict[str, object]] = []
        self.size = len(constructor) + len(constructor_repr)
        self.closed = False  # its step cap or the byte budget was reached
        self.depth = 0  # method calls on the instance now running (outermost only is a step)


class HistoryRecorder:
    """The histories of a few instances of one class."""

    def __init__(
        self,
        ref: str,
        cls: type,
        methods: tuple[str, ...],
        max_histories: int = MAX_HISTORIES,
        max_steps: int = MAX_STEPS,
        max_bytes: int = 10 * 1024 * 1024,
    ) -> None:
        self.ref = ref  # module:Class
        self.cls = cls
        self.methods = methods
        self.max_histories = max_histories
        self.max_steps = max_steps
        self.max_bytes = max_bytes
        self.instances_seen = 0
        self.bytes_kept = 0
        self.problems: dict[str, int] = {}
        self._following: dict[int, _History] = {}  # id(instance) -> its history
        self._done: list[_History] = []  # histories of instances that no longer exist
        self._random = random.Random(0)
        self._lock = threading.RLock()
        self._signatures: dict[str, inspect.Signature | None] = {}
        # (name, the class's own method or None if inherited, the wrapper): the wrappers
        # stand in the class only while a followed history is open ("armed")
        self._swaps: list[tuple[str, object, Callable[..., Any]]] = []
        self.armed = False

    def install(self) -> None:
        """Wrap the constructor; make the wrappers of the recorded methods, which go into
        the class only while a history is open (`_arm`): between them the methods run
        unwrapped. chardet 5.2.0's CodingStateMachine.next_state and get_current_charlen
        are called 870,000 times in its workload; the 20 histories of 100 steps each
        are open for a few thousand of them, and the wrapper cost every call."""
        init = self.cls.__dict__.get("__init__")
        if init is None:
            init = _inherited_init(self.cls)
        self.cls.__init__ = self._wrap_init(init)  # type: ignore[misc]
        found = {name: inspect.getattr_static(self.cls, name) for name in self.methods}
        # One wrapper per function, however many names the class gives it: pyflakes
        # 3.2.0's `EXPR = ASSIGN = handleChildren` stay one object, so a bound
        # `self.EXPR` kept in the instance pickles by its name, not by value with this
        # recorder in it (which does not pickle: no call of the target was recorded).
        wrappers: dict[int, Callable[..., Any]] = {}
        for name, method in found.items():
            if id(method) not in wrappers:
                own = getattr(method, "__name__", name)
                step = own if found.get(own) is method else name  # the name replay calls
                wrappers[id(method)] = self._wrap_method(step, method)
            self._swaps.append((name, self.cls.__dict__.get(name), wrappers[id(method)]))

    def _arm(self) -> None:
        """Put the wrappers in the class (a history was opened)."""
        if self.armed:
            return
        self.armed = True
        for name, own, wrapper in self._swaps:
            if self.cls.__dict__.get(name) is own:  # not replaced by the workload since
                setattr(self.cls, name, wrapper)

    def _disarm_if_done(self) -> None:
        """Take the wrappers out again once no followed history is open."""
        if not self.armed or any(not h.closed for h in self._following.values()):
            return
        self.armed = False
        for name, own, wrapper in self._swaps:
            if self.cls.__dict__.get(name) is not wrapper:
                continue  # the workload put something else there: leave it
            if own is None:
                delattr(self.cls, name)
            else:
                setattr(self.cls, name, own)

    def _problem(self, reason: str) -> None:
        self.problems[reason] = self.problems.get(reason, 0) + 1

    def _wrap_init(self, init: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        @pickling.instrumentation
        @functools.wraps(init)
        def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
            if type(self) is recorder.cls:
                recorder._constructed(self, args, kwargs)
            history = recorder._following.get(id(self))
            if history is None:
                init(self, *args, **kwargs)
                return
            history.depth += 1  # methods the constructor calls are part of it
            try:
                init(self, *args, **kwargs)
            finally:
                history.depth -= 1

        return __init__

    def _wrap_method(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        recorder = self

        @pickling.instrumentation
        @functools.wraps(method)
        def recorded(self: Any, *args: Any, **kwargs: Any) -> Any:
            history = recorder._following.get(id(self))
            if history is None or history.depth or history.closed:
                if history is None:
                    return method(self, *args, **kwargs)
                history.depth += 1
                try:
                    return method(self, *args, **kwargs)
                finally:
                    history.depth -= 1
            recorder._step(history, name, args, kwargs)
            history.depth += 1
            try:
                result = method(self, *args, **kwargs)
            finally:
                history.depth -= 1
            # (the target's own recorder wraps a lazy result it records)
            if isinstance(result, (types.GeneratorType, lazy.RecordingIterator)):
                return _pulled_inside(history, result)
            return result

        return recorded

    def _constructed(self, instance: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        """A new instance: follow it if the reservoir picks it."""
        with self._lock:
            self.instances_seen += 1
            following = len(self._following) + len(self._done)
            if following < self.max_histories:
                slot: int | None = -1
            else:
                choice = self._random.randrange(self.instances_seen)
                slot = choice if choice < self.max_histories else None
            if slot is None:
                return
            try:
                reference = weakref.ref(instance, self._gone(id(instance)))
            except TypeError:
                self._problem(f"{self.cls.__qualname__} instances take no weak references")
                return
            try:
                constructor = pickling.dumps((args, kwargs), faithful=True)
                pickling.check_loads(constructor)
            except Exception as exc:
                self._problem(f"its constructor's arguments cannot be recorded: {exc}")
                return
            shown = f"{self.cls.__qualname__}({_arguments_repr(args, kwargs)})"
            history = _History(self.instances_seen, constructor, shown)
            if slot != -1:
                self._drop(slot)
            if self.bytes_kept + history.size > self.max_bytes:
                self._problem("the history byte budget was used up")
                return
            self.bytes_kept += history.size
            history.reference = reference  # type: ignore[attr-defined]
            self._following[id(instance)] = history
            self._arm()

    def _drop(self, slot: int) -> None:
        """Make room: forget one of the histories kept so far (a finished or a live one)."""
        # in the order the instances were made, not the order they died in (the garbage
        # collector frees cycles at times that vary from run to run)
        kept = sorted([*self._done, *self._following.values()], key=lambda h: h.number)
        victim = kept[slot]
        self.bytes_kept -= victim.size
        if victim in self._done:
            self._done.remove(victim)
        else:
            for key, history in list(self._following.items()):
                if history is victim:
                    del self._following[key]
            self._disarm_if_done()

    def _gone(self, key: int) -> Callable[[object], None]:
        def finished(_: object) -> None:
            with self._lock:
                history = self._following.pop(key, None)
                if history is not None:
                    self._done.append(history)
                    self._disarm_if_done()

        return finished

    def _close(self, history: _History) -> None:
        history.closed = True
        self._disarm_if_done()

    def _step(
        self, history: _History, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> None:
        with self._lock:
            if len(history.steps) >= self.max_steps:
                self._close(history)
                return
            try:
                inputs = pickling.dumps((args, kwargs), faithful=True)
                pickling.check_loads(inputs)
            except Exception as exc:
                # a history with a gap cannot be replayed: it ends before this call
                self._problem(f"the arguments of {name} cannot be recorded: {exc}")
                self._close(history)
                return
            shown = _arguments_repr(args, kwargs)
            size = len(inputs) + len(shown)
            if self.bytes_kept + size > self.max_bytes:
                self._problem("the history byte budget was used up")
                self._close(history)
                return
            self.bytes_kept += size
            history.size += size
            history.steps.append({"method": name, "args": inputs, "call_repr": f".{name}({shown})"})
            if len(history.steps) >= self.max_steps:
                self._close(history)  # at once: the wrappers may go before the next call

    def summary(self) -> dict[str, object]:
        """Plain builtins only, so the main process can read it without importing user code."""
        with self._lock:
            kept = sorted([*self._done, *self._following.values()], key=lambda h: h.number)
        return {
            "instances_seen": self.instances_seen,
            "problems": dict(self.problems),
            "histories": [
                {
                    "number": history.number,
                    "constructor": history.constructor,
                    "constructor_repr": history.constructor_repr,
                    "steps": list(history.steps),
                }
                for history in kept
                if history.steps
            ],
        }


def _pulled_inside(history: _History, generator: Any) -> Any:
    """The generator a method returned, counted as inside the method while it runs: the
    calls it makes on the instance as its consumer pulls it (sqlparse 0.5.1's
    `Lexer.get_tokens` calls `self.is_keyword`) are part of that call, not steps."""
    send = getattr(generator, "send", None)
    if send is None:  # an iterator: pulled, never sent to
        iterator = iter(generator)

        def send(value: object) -> object:
            return next(iterator)

    resume, value = send, None
    while True:
        history.depth += 1
        try:
            item = resume(value)
        except StopIteration as stop:
            return stop.value
        finally:
            history.depth -= 1
        try:
            value, resume = (yield item), send
        except GeneratorExit:
            close = getattr(generator, "close", None)
            if close is not None:
                close()
            raise
        except BaseException as exc:  # thrown in by the consumer: on to the method's generator
            if not hasattr(generator, "throw"):
                raise
            value, resume = exc, generator.throw


def _arguments_repr(args: tuple[Any, ...], kwargs: dict[str, Any]) -> str:
    parts = [_safe_repr(a) for a in args] + [f"{k}={_safe_repr(v)}" for k, v in kwargs.items()]
    return ", ".join(parts)


def _inherited_init(cls: type) -> Callable[..., Any]:
    """The `__init__` the class inherits, as a function of its own class can hold.

    `object.__init__` takes the instance alone once a class defines `__init__` (a
    NamedTuple, a class with only `__new__`, are constructed with arguments that only
    `__new__` takes), so it is called so."""
    init = inspect.getattr_static(cls, "__init__")

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        if init is object.__init__:
            init(self)
        else:
            init(self, *args, **kwargs)

    return __init__
