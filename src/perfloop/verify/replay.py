"""Tier 1: replay every captured call on a version of the function and compare.

The version runs in a sandboxed worker with its module source served by the
import hook, exactly as if the patch were applied. Each call's outcome (return
value or exception type, the arguments' state after the call, stdout) is
compared with what the original did in the workload, using the equivalence
relation in perfloop.verify.compare; the first difference stops the replay.

The original is replayed too, once per target: if it does not reproduce its
own recording, it depends on something besides its arguments (module state,
randomness, time) and replay cannot judge a rewrite of it.
"""

from __future__ import annotations

import contextlib
import importlib
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import CallRecord, Candidate, Difference, Limits, Verdict, VerdictStatus
from perfloop.runtime.lazy import settle
from perfloop.sandbox import run_in_worker
from perfloop.tripwire import CappedOutput
from perfloop.verify.compare import (
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


@dataclass(frozen=True)
class ReplayReport:
    checked: int
    difference: Difference | None


def replay_calls(task: ReplayTask) -> ReplayReport:
    """Worker side: run the calls and stop at the first difference."""
    from perfloop.runtime.loader import import_hook, resolve_target

    if task.source is not None:
        import_hook().override(task.module, task.path, task.source)
    target = resolve_target(importlib.import_module(task.module), task.qualname)
    function, is_method = target.call, target.receiver is not None
    for record in task.records:
        args, kwargs = pickle.loads(record.args)
        expected = pickle.loads(record.outcome)
        printed = CappedOutput()  # a flood of prints trips perfloop.tripwire
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
        problem = compare_outcomes(
            expected,
            _as_recorded(actual),
            record.stdout,
            printed.getvalue(),
            task.policy,
            is_method,
        )
        if problem is not None:
            return ReplayReport(
                record.index + 1, Difference(record.index, record.call_repr, problem)
            )
    return ReplayReport(len(task.records), None)


def _as_recorded(outcome: tuple[object, ...]) -> tuple[object, ...]:
    """The outcome after the pickle round trip the recorded one went through, so both
    sides are compared as the same kind of copy: an object whose pickled state leaves
    out a field (pyparsing 3.1's ParseResults drops `_modal`) is not a difference."""
    try:
        return pickle.loads(pickle.dumps(outcome, protocol=4))  # type: ignore[no-any-return]
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
    if expected[0] == "raise":
        if expected[1] != actual[1]:
            return f"raised {actual[1]}, where the original raised {expected[1]}"
        if policy.exception_messages and expected[2] != actual[2]:
            return f"raised {actual[1]}({actual[2]!r}), where the original said {expected[2]!r}"
    else:
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
    if expected[0] == "return":
        aliasing = compare_aliasing(expected[1], expected_args, actual[1], actual_args)
        if aliasing is not None:
            return aliasing.describe()
    if expected_stdout != actual_stdout:
        return (
            f"printed {_short(actual_stdout)}, where the original printed {_short(expected_stdout)}"
        )
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
    outcome = run_in_worker(
        "perfloop.verify.replay:replay_calls", task, root=root, limits=limits, returns=ReplayReport
    )
    if not outcome.ok:
        return Verdict(
            VerdictStatus.FAILED, (TIER,), 0, outcome.seconds, reason=_first_lines(outcome.message)
        )
    report = outcome.value
    assert isinstance(report, ReplayReport)
    if report.difference is not None:
        return Verdict(
            VerdictStatus.DIFFERENT, (TIER,), report.checked, outcome.seconds, report.difference
        )
    return Verdict(VerdictStatus.EQUIVALENT, (TIER,), report.checked, outcome.seconds)


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
