"""Tier 1: replay every captured call on a version of the function and compare.

The version runs in a sandboxed worker with its module source served by the
import hook, exactly as if the patch were applied. Each call's outcome (return
value or exception type, the arguments' state after the call, stdout) is
compared with what the original did in the workload, using the equivalence
relation in perfloop.verification.compare; the first difference stops the replay.

The original is replayed too, once per target (`replay_original`): if it does not
reproduce its own recording, it depends on something besides its arguments (module
state, randomness, time) and replay cannot judge a rewrite of it. One exception: a lazy
result's arguments are recorded when its consumer is done with it, so they hold what the
consumer did between items too (pycodestyle 2.11's `Checker.generate_tokens` is consumed
by a loop of the same `Checker` that sets its attributes). For such calls, when the
items are the same, the expected state is what the original leaves when perfloop
consumes it, confirmed by a second replay.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import pickle
import sys
import types
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.model import CallRecord, Candidate, Difference, Limits, Verdict, VerdictStatus
from perfloop.runtime import pickling
from perfloop.runtime.lazy import RAISED, LazyOutcome, settle
from perfloop.runtime.state import DEFINED_ANEW, SINGLETON, GlobalState, define_anew, where
from perfloop.runtime.state import after as state_after
from perfloop.sandbox import tripwire
from perfloop.sandbox.runner import run_in_worker
from perfloop.sandbox.tripwire import CappedOutput
from perfloop.verification.compare import (
    DEFAULT_POLICY,
    ComparePolicy,
    compare_aliasing,
    compare_values,
)

TIER = "replay"


@dataclass(frozen=True)
class ReplayTask:
    module: str
    qualname: str
    path: str
    source: str | None  # None: the original as it is on disk
    records: tuple[CallRecord, ...]
    policy: ComparePolicy
    rebase_lazy_arguments: bool = False  # the original's replay: see the module's docstring
    original: bool = False  # the original's replay (a difference says what state it ran with)


class RecordedCallDoesNotLoad(Exception):
    """A recorded call's pickled inputs or outcome fail to load in the replay worker."""


@dataclass(frozen=True)
class ReplayReport:
    checked: int
    difference: Difference | None
    # (position in the task's records, the outcome as the original left its arguments)
    rebased: tuple[tuple[int, bytes], ...] = ()
    lazy_difference: bool = False  # the difference is on a call whose result is lazy


@dataclass(frozen=True)
class OriginalReplay:
    """The original's replay on its recorded calls, and the calls candidates are judged
    on: the recorded ones, with the lazy results' argument state rebased (`rebased` of
    them; see the module's docstring)."""

    verdict: Verdict
    records: tuple[CallRecord, ...]
    rebased: int = 0
    lazy_difference: bool = False

    def problem(self) -> str | None:
        """Why the original's own replay rules out judging rewrites, in the user's terms;
        None when it reproduced its recorded calls."""
        verdict = self.verdict
        if verdict.status is VerdictStatus.EQUIVALENT:
            return None
        difference = verdict.difference
        why = (difference.description if difference else verdict.reason) or "no error message"
        if "RecursionError" in why:
            return (
                f"replaying the original hits Python's recursion limit in perfloop's worker "
                f"({why.strip().splitlines()[-1]}); the workload raised the limit itself, so "
                "replay cannot judge a rewrite"
            )
        if verdict.status is not VerdictStatus.DIFFERENT:
            last = why.strip().splitlines()[-1].rpartition("RecordedCallDoesNotLoad: ")[2]
            if "did not finish within" in last:  # the worker's time limit: it imported
                return (
                    f"replaying the original on its recorded calls {last}, so replay cannot "
                    "judge a rewrite; give a check more time (--candidate-timeout, seconds) "
                    "or record fewer calls (--max-calls)"
                )
            if "pickle" in why:
                return (
                    f"the recorded calls cannot be loaded back for replay ({last}): an argument "
                    "or result of this function does not survive pickling, so its calls cannot "
                    "judge a rewrite; its argument types need support in perfloop's recorder"
                )
            return (
                f"replaying the original in a sandboxed worker failed ({last}); perfloop runs "
                "candidates the same way, so it cannot judge a rewrite of this function; check "
                "that the module imports in a fresh interpreter from the project root"
            )
        if self.lazy_difference:
            return (
                f"replaying the original does not reproduce its recorded calls ({why}); its "
                "result is lazy, and what it yields depends on more than its arguments: on "
                "what its consumer changes between items (perfloop replays the items, not the "
                "workload's consumer), or on randomness, time or module state, so replay "
                "cannot judge a rewrite"
            )
        return (
            f"replaying the original does not reproduce its recorded calls ({why}); it "
            "depends on state besides its arguments and the module state recorded with them "
            "(randomness, time, or state said above not to be recorded), so replay cannot "
            "judge a rewrite"
        )

    def note(self) -> str | None:
        """What the rebasing means for the user, or None when there was none."""
        if not self.rebased:
            return None
        calls = f"{self.rebased} call{'s' if self.rebased != 1 else ''}"
        return (
            f"{calls} with a lazy result: their consumer changed the arguments between "
            "items, so the arguments' state after them is compared with what the original "
            "leaves when perfloop consumes the same items, not with the workload's"
        )

    def annotate(self, verdict: Verdict) -> Verdict:
        """`verdict` with `note()` on its replay tier's run, where that has no note."""
        note = self.note()
        if note is None:
            return verdict
        runs = tuple(
            replace(run, note=note) if run.tier == TIER and run.note is None else run
            for run in verdict.runs
        )
        return replace(verdict, runs=runs)


class VersionDoesNotLoad(Exception):
    """The module with the given source fails before any call is made."""


def replay_calls(task: ReplayTask) -> ReplayReport:
    """Worker side: run the calls and stop at the first difference."""
    try:
        function, is_method, installed = _load(task)
    except Exception as exc:
        if task.source is None:
            raise
        raise VersionDoesNotLoad(f"{type(exc).__name__}: {exc}") from exc
    with installed:
        return _replay_records(task, function, is_method)


def _load(task: ReplayTask) -> tuple[Callable[..., object], bool, ContextManager[None]]:
    """The version to replay, whether it takes the instance first, and how to put it in
    place while it runs.

    The original module is imported first with the tripwire paused (the workload ran it
    and what it imports: requests 2.31 binds a socket at import). A candidate is then
    compiled into it where it changes only the function, else its module is executed
    again, armed, in place of the original (its imports are loaded by then).
    """
    from perfloop.runtime.loader import (
        import_hook,
        load_function_into,
        redefined_names,
        resolve_target,
        swapped_in,
    )

    with tripwire.paused():
        original = importlib.import_module(task.module)
    if task.source is not None:
        original_source = _source_of(original)
        function = None
        if original_source is not None:
            function = load_function_into(original, task.qualname, original_source, task.source)
        if function is not None:
            return function, "." in task.qualname, swapped_in(original, task.qualname, function)
        sys.modules.pop(task.module, None)
        import_hook().override(task.module, task.path, task.source)
        if original_source is not None:
            define_anew(
                importlib.import_module(task.module),
                redefined_names(original_source, task.source),
            )
    target = resolve_target(importlib.import_module(task.module), task.qualname)
    return target.call, target.receiver is not None, contextlib.nullcontext()


def _namespace(function: object) -> dict[str, object]:
    """The module globals a function (or a bound method's function) runs with: those of
    the innermost function its decorators wrap (`__wrapped__`), not a wrapper's, which
    may live in another module (a decorated target's candidate is called through one in
    perfloop.runtime.loader)."""
    plain = inspect.unwrap(getattr(function, "__func__", function))  # type: ignore[arg-type]
    return getattr(plain, "__globals__", {})


def _source_of(module: types.ModuleType) -> str | None:
    try:
        with open(module.__file__ or "", encoding="utf-8") as handle:
            return handle.read()
    except OSError:
        return None


def _replay_records(
    task: ReplayTask, function: Callable[..., object], is_method: bool
) -> ReplayReport:
    rebased: list[tuple[int, bytes]] = []
    for number, record in enumerate(task.records, 1):
        try:
            # the outcome first: it holds the workload script's classes too (by value), and
            # loading it sets their attributes on the one class object cloudpickle keeps per
            # process; loaded second, the call would run on (and change) the expected state
            expected = pickle.loads(record.outcome)
            args, kwargs = pickle.loads(record.args)  # puts recorded module state in place
        except Exception as exc:
            raise RecordedCallDoesNotLoad(
                f"recorded call {number} does not load in a process that imported the "
                f"project afresh ({type(exc).__name__}: {exc}), though it did in the "
                "workload's: it holds something the workload made at run time"
            ) from None
        recorded = _global_state(expected)
        printed = CappedOutput()  # a flood of prints trips perfloop.sandbox.tripwire
        with contextlib.redirect_stdout(printed):
            try:
                result = settle(function(*args, **kwargs), expected)
                actual: tuple[object, ...] = ("return", result, (args, kwargs))
            except MemoryError:
                raise
            except BaseException as exc:
                kind = type(exc)
                actual = (
                    "raise",
                    f"{kind.__module__}.{kind.__qualname__}",
                    str(exc),
                    (args, kwargs),
                )
        if recorded is not None:
            first = args[0] if is_method and args else None
            receiver = first if isinstance(first, type) else type(first) if is_method else None
            now = state_after(_namespace(function), recorded, receiver=receiver)
            actual = (*actual[:-1], now, actual[-1])
        as_recorded = _as_recorded(actual)
        problem = compare_outcomes(
            expected, as_recorded, record.stdout, printed.getvalue(), task.policy, is_method
        )
        if problem is not None and task.rebase_lazy_arguments:
            outcome = _rebased(expected, actual, as_recorded, record, printed.getvalue(), task)
            if outcome is not None:
                rebased.append((number - 1, outcome))
                continue
        if problem is not None:
            if (task.original or task.source is None) and recorded is not None:
                problem += _state_note(recorded)  # what the original ran with
            lazy = expected[0] == "return" and isinstance(expected[1], LazyOutcome)
            difference = Difference(record.index, record.call_repr, problem)
            return ReplayReport(record.index + 1, difference, tuple(rebased), lazy)
    return ReplayReport(len(task.records), None, tuple(rebased))


def _rebased(
    expected: tuple[object, ...],
    actual: tuple[object, ...],
    as_recorded: tuple[object, ...],
    record: CallRecord,
    printed: str,
    task: ReplayTask,
) -> bytes | None:
    """The recorded outcome with the arguments' (and module state's) part as the original
    left it, pickled as the recorder pickles; None unless the result is lazy and
    everything else (its items, its end, what it printed) is the same."""
    if expected[0] != "return" or not isinstance(expected[1], LazyOutcome):
        return None
    if actual[0] != "return":
        return None
    candidate = ("return", expected[1], *as_recorded[2:])
    if compare_outcomes(candidate, as_recorded, record.stdout, printed, task.policy) is not None:
        return None
    try:
        return pickling.dumps(("return", expected[1], *actual[2:]))  # as the recorder does
    except Exception:
        return None  # it stays a difference: the state cannot be kept


def _as_recorded(outcome: tuple[object, ...]) -> tuple[object, ...]:
    """The outcome after the pickle round trip the recorded one went through, so both
    sides are compared as the same kind of copy: an object whose pickled state leaves
    out a field (pyparsing 3.1's ParseResults drops `_modal`) is not a difference.

    The same round trip, through the recorder's own pickler: plain pickle rebuilt the
    values their modules keep by name (pygments' token types) as new objects, each with
    its `parent` and `subtypes`, so comparing one walked the whole token tree. pygments
    2.20.0's `HtmlFormatter._translate_parts` (its `self` maps 69 token types to
    classes) took 0.6 s a call, and the original's replay "did not finish within 60 s"."""
    try:
        return pickle.loads(pickling.dumps(outcome))  # type: ignore[no-any-return]
    except Exception:
        return outcome  # the recorded side pickled; compare the live value as it is


def compare_outcomes(
    expected: tuple[object, ...],
    actual: tuple[object, ...],
    expected_stdout: str,
    actual_stdout: str,
    policy: ComparePolicy,
    is_method: bool = False,
) -> str | None:
    """One line saying how two call outcomes differ, or None if they are the same."""
    if expected[0] != actual[0]:
        return f"{_describe_outcome(actual)}, where the original {_describe_outcome(expected)}"
    if _pickled_alike(expected, actual):
        state_problem = _compare_global_state(expected, actual, policy)
        if state_problem is not None:
            return state_problem
        if expected_stdout != actual_stdout:
            return (
                f"printed {_short(actual_stdout)}, "
                f"where the original printed {_short(expected_stdout)}"
            )
        return None
    if expected[0] == "raise":
        if expected[1] != actual[1]:
            return f"raised {actual[1]}, where the original raised {expected[1]}"
        if policy.exception_messages and expected[2] != actual[2]:
            return f"raised {actual[1]}({actual[2]!r}), where the original said {expected[2]!r}"
    else:
        ending = _lazy_ending(expected[1], actual[1])
        if ending is not None:
            return ending
        mismatch = compare_values(expected[1], actual[1], "result", policy)
        if mismatch is not None:
            return mismatch.describe()
    (expected_args, expected_kwargs), (actual_args, actual_kwargs) = expected[-1], actual[-1]
    for i, (before, after) in enumerate(zip(expected_args, actual_args)):
        name = "self" if is_method and i == 0 else f"args[{i}]"
        mismatch = compare_values(before, after, name, policy)
        if mismatch is not None:
            return f"argument state after the call differs: {mismatch.describe()}"
    for key in expected_kwargs:
        mismatch = compare_values(
            expected_kwargs[key], actual_kwargs.get(key), f"kwargs[{key!r}]", policy
        )
        if mismatch is not None:
            return f"argument state after the call differs: {mismatch.describe()}"
    state_problem = _compare_global_state(expected, actual, policy)
    if state_problem is not None:
        return state_problem
    if expected[0] == "return":
        aliasing = compare_aliasing(expected[1], expected_args, actual[1], actual_args)
        if aliasing is not None:
            return aliasing.describe()
    if expected_stdout != actual_stdout:
        return (
            f"printed {_short(actual_stdout)}, where the original printed {_short(expected_stdout)}"
        )
    return None


def _pickled_alike(expected: tuple[object, ...], actual: tuple[object, ...]) -> bool:
    """Whether the two outcomes but their module state (the result or the exception, and
    the arguments after the call, as one) pickle to the same bytes: the same kinds of
    objects holding the same values, shared the same way, so the same by the relation
    below, which is looser (tolerances, unordered sets, messages left out) and walks every
    object. sqlparse 0.5.1's `utils.imt(token, ...)` gets a token that holds its whole
    statement (280 kB pickled): comparing the arguments after a call took 0.1 s, pickling
    both 0.035 s, and the self-check replays 38 such calls for each of 30 mutants. Bytes
    that differ say nothing: the comparison decides then."""
    try:
        return pickle.dumps(_without_state(expected), protocol=4) == pickle.dumps(
            _without_state(actual), protocol=4
        )
    except Exception:  # a generator, a lambda, a class not found under its name
        return False


def _without_state(outcome: tuple[object, ...]) -> tuple[object, ...]:
    return tuple(part for part in outcome if not isinstance(part, GlobalState))


def _lazy_ending(expected: object, actual: object) -> str | None:
    """How a lazy result that raised where the original's did not (or the other way
    round) differs, said before its items: pygments 2.17.2's lexer generator raised
    AttributeError at its first item in replay, which read as "result.items: expected
    (...), got ()", a generator that yields nothing."""
    if not (isinstance(expected, LazyOutcome) and isinstance(actual, LazyOutcome)):
        return None
    if RAISED not in (expected.end, actual.end):
        return None
    if (expected.end, expected.error) == (actual.end, actual.error):
        return None
    return f"the lazy result {actual.describe()}, where the original's {expected.describe()}"


def _global_state(outcome: tuple[object, ...]) -> GlobalState | None:
    """The module-globals part of an outcome, when the recorder kept one."""
    return outcome[-2] if isinstance(outcome[-2], GlobalState) else None


def _state_note(recorded: GlobalState) -> str:
    """The singletons the call was replayed with, and those not (wholly) recorded, why."""
    singletons = [where(key) for key in recorded.after if key.startswith(SINGLETON)]
    left_out = getattr(recorded, "left_out", {})  # not in recordings older than the field
    note = ""
    if singletons:
        note += f"; put in place before the call: {', '.join(singletons)}"
    if left_out:
        shown = list(left_out.values())[:3]
        more = f"; and {len(left_out) - 3} more" if len(left_out) > 3 else ""
        note += f"; not recorded: {'; '.join(shown)}{more}"
    return note


def _compare_global_state(
    expected: tuple[object, ...], actual: tuple[object, ...], policy: ComparePolicy
) -> str | None:
    state_e, state_a = _global_state(expected), _global_state(actual)
    if state_e is None or state_a is None:
        return None
    for name, value in state_e.after.items():
        if name not in state_a.after and state_a.left_out.get(name) == DEFINED_ANEW:
            continue  # a constant the edit changed: the candidate's own (state.define_anew)
        if name.startswith(SINGLETON):
            place = where(name)
        else:
            place = f"class attribute {name}" if "." in name else f"global {name}"
        mismatch = compare_values(value, state_a.after.get(name), place, policy)
        if mismatch is not None:
            return f"module state after the call differs: {mismatch.describe()}"
    return None


def _describe_outcome(outcome: tuple[object, ...]) -> str:
    if outcome[0] == "raise":
        return f"raised {outcome[1]}: {_short(str(outcome[2]))}"
    return f"returned {_short(repr(outcome[1]))}"


def _short(text: str, limit: int = 120) -> str:
    text = repr(text) if "\n" in text or not text else text
    return text if len(text) <= limit else text[: limit - 3] + "..."


def replay(
    module: str,
    qualname: str,
    path: Path,
    source: str | None,
    records: Sequence[CallRecord],
    *,
    root: Path,
    limits: Limits,
    policy: ComparePolicy = DEFAULT_POLICY,
) -> Verdict:
    """Replay `records` on the given source of the module (None: the original)."""
    task = ReplayTask(module, qualname, str(path), source, tuple(records), policy)
    return _run(task, root, limits)[0]


def replay_original(
    module: str,
    qualname: str,
    path: Path,
    records: Sequence[CallRecord],
    *,
    root: Path,
    limits: Limits,
    policy: ComparePolicy = DEFAULT_POLICY,
    source: str | None = None,
) -> OriginalReplay:
    """Replay the original on its recorded calls, rebasing lazy results' argument state
    (see the module's docstring); a rebased set of calls is replayed once more, as
    recorded calls are, so an original that leaves other state each time still fails."""
    task = ReplayTask(
        module, qualname, str(path), source, tuple(records), policy, True, original=True
    )
    verdict, report = _run(task, root, limits)
    if report is None or not report.rebased or verdict.status is not VerdictStatus.EQUIVALENT:
        lazy = report is not None and report.lazy_difference
        return OriginalReplay(verdict, tuple(records), lazy_difference=lazy)
    rebased = list(records)
    for position, outcome in report.rebased:
        rebased[position] = replace(rebased[position], outcome=outcome)
    again = replace(task, records=tuple(rebased), rebase_lazy_arguments=False)
    confirmed, second = _run(again, root, limits)
    seconds = verdict.seconds + confirmed.seconds
    lazy = second is not None and second.lazy_difference
    return OriginalReplay(
        replace(confirmed, seconds=seconds), again.records, len(report.rebased), lazy
    )


def _run(task: ReplayTask, root: Path, limits: Limits) -> tuple[Verdict, ReplayReport | None]:
    outcome = run_in_worker(
        "perfloop.verification.replay:replay_calls",
        task,
        root=root,
        limits=limits,
        returns=ReplayReport,
        warm=(task.module,),
    )
    if not outcome.ok:
        marker = f"{VersionDoesNotLoad.__module__}.{VersionDoesNotLoad.__name__}: "
        said = [line for line in outcome.message.splitlines() if line.startswith(marker)]
        if said:
            # nothing was called: a loading failure says nothing about behaviour
            why = said[-1][len(marker) :]
            verdict = Verdict(
                VerdictStatus.UNVERIFIABLE, (TIER,), 0, outcome.seconds,
                reason=(
                    f"this version of {task.module}:{task.qualname} could not be loaded "
                    f"({why}), so no call was compared; perfloop compiles a candidate into "
                    "the imported module when it changes only that function (plus imports, "
                    "constants and helpers it adds) and otherwise runs the whole module "
                    "again, which fails here"
                ),
            )  # fmt: skip
            return verdict, None
        verdict = Verdict(
            VerdictStatus.FAILED, (TIER,), 0, outcome.seconds, reason=_first_lines(outcome.message)
        )
        return verdict, None
    report = outcome.value
    assert isinstance(report, ReplayReport)
    if report.difference is not None:
        verdict = Verdict(
            VerdictStatus.DIFFERENT, (TIER,), report.checked, outcome.seconds, report.difference
        )
        return verdict, report
    return Verdict(VerdictStatus.EQUIVALENT, (TIER,), report.checked, outcome.seconds), report


def replay_candidate(
    candidate: Candidate,
    records: Sequence[CallRecord],
    *,
    root: Path,
    limits: Limits,
    policy: ComparePolicy = DEFAULT_POLICY,
) -> Verdict:
    return replay(
        candidate.function.module,
        candidate.function.qualname,
        root / candidate.path,
        candidate.module_source,
        records,
        root=root,
        limits=limits,
        policy=policy,
    )


def _first_lines(message: str, count: int = 12) -> str:
    lines = message.strip().splitlines()
    return "\n".join(lines[-count:])
