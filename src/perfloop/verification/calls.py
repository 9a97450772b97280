"""Worker side: load versions of a function and call them the way verification compares them.

Used by the tiers that execute the original and a candidate in one sandboxed
process (fuzzing, the symbolic check, the mutation self-check). The original
is imported under its own name from its captured source; a candidate is a
separate module object beside it (as in measure/timing.py). A call's inputs
travel as pickled bytes and are unpickled per side while that side's module
stands under the target's name, so instances of the module's classes are made
from that side's classes. Outcomes are brought back to the original's classes
(a pickle round trip) before they are compared, so "the same class from two
copies of the module" never counts as a difference.

Every call runs with a wall-clock alarm, so a version that loops forever on
one input costs a bounded time instead of the whole worker.
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
import random
import signal
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass

from perfloop.runtime import pickling
from perfloop.runtime.lazy import is_lazy, pull_at_most, pull_iterator_at_most, settle
from perfloop.runtime.loader import (
    import_hook,
    load_class_into,
    load_function_into,
    load_module_copy,
    resolve_target,
    serving,
    swapped_in,
)
from perfloop.sandbox import tripwire
from perfloop.sandbox.tripwire import CappedOutput
from perfloop.verification.compare import ComparePolicy, pulled_by_comparing
from perfloop.verification.pasteable import CallSource, call_source
from perfloop.verification.replay import compare_outcomes

Outcome = tuple[
    object, ...
]  # ("return", value, (args, kwargs)) | ("raise", name, message, (args, kwargs))


# how many items of a lazy result a call without a recorded consumer (a fuzzed input) takes
UNRECORDED_ITEMS = 100


class CallTimeout(BaseException):
    """Raised by the alarm inside a call that took too long (a BaseException, so user
    code's `except Exception` does not swallow it)."""


@dataclass(frozen=True)
class Version:
    """One side: the module object it lives in and the plain function.

    `in_place` names the qualname a candidate compiled into the original module
    stands for: it is put there while it runs (so its recursive calls, and the
    module's other functions, reach it) and the original is put back after.
    """

    module: types.ModuleType
    function: Callable[..., object]
    is_method: bool
    in_place: str | None = None


@dataclass(frozen=True)
class CallResult:
    """What one call did. `exhausted` is "time" or "memory" when it did not finish."""

    outcome: Outcome | None
    stdout: str
    seconds: float
    exhausted: str | None = None


def load_original(module: str, qualname: str, path: str, source: str) -> Version:
    """The original, imported under its own name, served from the captured source."""
    import_hook().override(module, path, source)
    with tripwire.paused():  # the original and its imports ran in the workload anyway
        loaded = importlib.import_module(module)
    return _version(loaded, qualname)


def load_copy(module: str, qualname: str, path: str, source: str) -> Version:
    """A candidate (or mutant) beside the original: compiled into the imported original
    module where it changes only the function (and adds imports or constants), else
    the whole source executed as a separate module object."""
    imported = sys.modules.get(module)
    served = import_hook().sources.get(module)
    if imported is not None and served is not None:
        receiver = resolve_target(imported, qualname).receiver  # the original's shape
        function = load_function_into(imported, qualname, served[1], source)
        if function is not None:
            return Version(imported, function, receiver is not None, in_place=qualname)
    loaded = load_module_copy(module, path, source, served[1] if served else None)
    return _version(loaded, qualname)


def load_fresh(module: str, qualname: str, path: str, source: str) -> Version:
    """`source` executed as a separate module object: none of the state that earlier calls
    left in the imported module (a cache, a counter) is in it."""
    return _version(load_module_copy(module, path, source), qualname)


def load_original_class(module: str, qualname: str, path: str, source: str) -> Version:
    """A whole class as the target: the original class, its module imported under its own
    name from the captured source. `function` holds the class."""
    import_hook().override(module, path, source)
    with tripwire.paused():
        loaded = importlib.import_module(module)
    return Version(loaded, class_in(loaded, qualname), False)


def load_class_copy(module: str, qualname: str, path: str, source: str) -> Version:
    """A candidate class: compiled into the imported original module (nothing else of the
    module runs again) and put where the original class is while it runs; where the
    candidate changes more of the module than the class and additions, the whole source
    executed as a separate module object."""
    imported = sys.modules.get(module)
    served = import_hook().sources.get(module)
    if imported is not None and served is not None:
        cls = load_class_into(imported, qualname, served[1], source)
        if cls is not None:
            return Version(imported, cls, False, in_place=qualname)
    loaded = load_module_copy(module, path, source)
    return Version(loaded, class_in(loaded, qualname), False)


def class_in(module: types.ModuleType, qualname: str) -> type:
    """The class `qualname` of `module`; TypeError if it is something else."""
    found: object = module
    for part in qualname.split("."):
        found = getattr(found, part)
    if not isinstance(found, type):
        raise TypeError(f"{qualname} is a {type(found).__name__}, not a class")
    return found


def _version(module: types.ModuleType, qualname: str) -> Version:
    target = resolve_target(module, qualname)
    return Version(module, target.call, target.receiver is not None)


def installed(version: Version) -> contextlib.AbstractContextManager[None]:
    """Put an in-place candidate where the original is for a while."""
    if version.in_place is None:
        return contextlib.nullcontext()
    return swapped_in(version.module, version.in_place, version.function)


def _on_alarm(signum: int, frame: object) -> None:
    raise CallTimeout


def call(
    version: Version,
    call_bytes: bytes,
    time_limit: float,
    seed: int | None = None,
    expected: Outcome | None = None,
) -> CallResult:
    """Unpickle the inputs for this side, call, and record the outcome like the recorder does.

    With `seed`, the `random` module is seeded first, so two calls with different seeds
    of a function that draws random numbers show it. With the `expected` (recorded)
    outcome, a lazy result is pulled as far as the recorded consumer pulled it.
    """
    with serving(version.module):
        args, kwargs = pickle.loads(call_bytes)
    if seed is not None:
        random.seed(seed)
    return run_call(
        version.function,
        args,
        kwargs,
        time_limit,
        installed(version),
        expected,
        module=version.module,
    )


def run_call(
    function: Callable[..., object],
    args: tuple[object, ...],
    kwargs: dict[str, object],
    time_limit: float,
    context: contextlib.AbstractContextManager[object] | None = None,
    expected: Outcome | None = None,
    receiver: object = None,
    pull: bool = True,
    module: types.ModuleType | None = None,
) -> CallResult:
    """Call `function` inside `context` (an in-place candidate put where the original is)
    under a wall-clock alarm, with its output captured; the outcome as the recorder keeps it.
    `receiver`: the object `function` calls a method of, where it is not among `args`;
    `pull`: False keeps an iterator result as it is (an instance to drive afterwards);
    `module`: the version's module, in sys.modules while a lazy result's items are taken
    (a copy's classes are then pickled by name, as the original's: outside it, cloudpickle
    wrote them by value, and parse 1.19.0's `Result` items of a merged file's module copy
    came back as a class of their own, "two distinct classes named parse.Result")."""
    printed = CappedOutput()  # a flood of prints trips perfloop.sandbox.tripwire
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    started = time.perf_counter()
    outcome: Outcome | None = None
    exhausted = None
    try:
        with contextlib.redirect_stdout(printed), context or contextlib.nullcontext():
            signal.setitimer(signal.ITIMER_REAL, max(time_limit, 0.001))
            try:
                result = function(*args, **kwargs)
                with serving(module):
                    if expected is not None:
                        result = settle(result, expected)
                    elif pull:  # within the time limit, never to the end of an endless one
                        result = _pulled_now(result, (*args, *kwargs.values(), receiver))
                outcome = ("return", result, (args, kwargs))
            except CallTimeout:
                exhausted = "time"
            except MemoryError:
                exhausted = "memory"
            except BaseException as exc:
                kind = type(exc)
                name = f"{kind.__module__}.{kind.__qualname__}"
                outcome = ("raise", name, _message(exc), (args, kwargs))
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
    except CallTimeout:  # the alarm fired between the call and disarming it
        exhausted = exhausted or "time"
    finally:
        signal.signal(signal.SIGALRM, previous)
    return CallResult(outcome, printed.getvalue(), time.perf_counter() - started, exhausted)


def _pulled_now(result: object, inputs: tuple[object, ...]) -> object:
    """A result with no recorded consumer, its items taken now, with the version in place:
    a lazy result (up to UNRECORDED_ITEMS), and an iterator of another class too, unless it
    is one of the call's `inputs` (a method returning `self`). Pulled by the comparison
    instead, parse 1.19.0's `Parser.findall` (a `ResultIterator` that calls
    `parser.evaluate_result` for each item) was used up by the first comparison that read
    it: the interaction tier compares the original's two answers to a step, then the
    candidate's with the first, by then empty ("expected 0 items, got 9 items"), and every
    rewrite of `evaluate_result` behaved differently; and the candidate's items were made
    after its context was left, by the original's methods."""
    if is_lazy(result):
        return pull_at_most(result, UNRECORDED_ITEMS)
    if pulled_by_comparing(result) and not any(result is value for value in inputs):
        return pull_iterator_at_most(result, UNRECORDED_ITEMS)  # type: ignore[arg-type]
    return result


def _message(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return "<message unprintable>"


def as_original(outcome: Outcome, side: Version, original: Version) -> Outcome:
    """The outcome with its objects rebuilt from the original's classes (a pickle round trip).

    Falls back to the outcome itself when it cannot be pickled (a generator, a lambda).
    Pickled as the recorder pickles outcomes (perfloop.runtime.pickling): with plain pickle,
    a step whose arguments hold a `re.Match` (parse 1.19.0's `evaluate_result(m)`) kept
    the copy's classes, and its result "differed" from the original's by class alone.
    """
    if side.module is original.module:
        return outcome
    try:
        with serving(side.module):
            data = pickling.dumps(outcome)
        with serving(original.module):
            return pickle.loads(data)  # type: ignore[no-any-return]
    except Exception:
        return outcome


def differs(
    expected: CallResult,
    actual: CallResult,
    policy: ComparePolicy,
    is_method: bool,
) -> str | None:
    """How two finished calls differ (the replay relation), or None."""
    if actual.exhausted is not None:
        what = "did not finish in time" if actual.exhausted == "time" else "ran out of memory"
        return f"{what}, where the original finished in {expected.seconds:.3f} s"
    assert expected.outcome is not None and actual.outcome is not None
    return compare_outcomes(
        expected.outcome, actual.outcome, expected.stdout, actual.stdout, policy, is_method
    )


def compare_sides(
    original: Version,
    expected: CallResult,
    side: Version,
    actual: CallResult,
    policy: ComparePolicy,
) -> str | None:
    """`differs`, after bringing both outcomes to the original's classes."""
    if actual.outcome is not None:
        rebuilt = as_original(actual.outcome, side, original)
        actual = CallResult(rebuilt, actual.stdout, actual.seconds, actual.exhausted)
    return differs(expected, actual, policy, original.is_method)


def call_text(module: str, qualname: str, call_bytes: bytes, original: Version) -> CallSource:
    """The call as text, `shoplib.text:tokenize(['', 'a'])`, and whether pasting it (after
    `from shoplib.text import tokenize`) rebuilds the inputs exactly."""
    try:
        with serving(original.module):
            args, kwargs = pickle.loads(call_bytes)
    except Exception as exc:
        return CallSource(f"{module}:{qualname}(<inputs unprintable: {type(exc).__name__}>)", False)
    written = call_source(qualname, args, kwargs)
    return CallSource(f"{module}:{written.text}", written.exact)
