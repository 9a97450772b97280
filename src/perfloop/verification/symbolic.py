"""Tier 4 (optional): a symbolic search for inputs on which the two versions differ.

With the `symbolic` extra installed (`pip install 'perfloop[symbolic]'`, which
brings crosshair-tool), CrossHair explores both versions symbolically, as
`crosshair diffbehavior` does, within a time budget. It needs parameter types:
they come from the observed types of the captured calls (ints, floats,
strings, bytes, bools, None and containers of them); a target with other
parameter types (instances of the user's classes, for example) skips the tier
and says why. Each input CrossHair reports is run concretely on both versions
and compared with perfloop's own equivalence relation, so the finding is a
counterexample exactly like a fuzzing one, or nothing.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import pickle
import time
import typing
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import Difference, Limits, TierRun
from perfloop.sandbox.runner import run_in_worker
from perfloop.verification import calls as calling
from perfloop.verification.compare import ComparePolicy
from perfloop.verification.plan import TargetPlan, TierCheck
from perfloop.verification.shapes import (
    AtomShape,
    BytesShape,
    DictShape,
    FloatShape,
    IntShape,
    OneOf,
    RecordShape,
    SeqShape,
    Shape,
    StrShape,
    TupleShape,
    call_forms,
)

TIER = "symbolic"
_WORKER_OVERHEAD = 20.0
UNINTERESTING_PATHS = 10
"""The search ends early once this many paths in a row reached no branch of either version
that an earlier path had not (CrossHair's `max_uninteresting_iterations`; its own default
without a time limit is 5): the budget, `symbolic-seconds`, is then the most it takes, not
what it always takes. On benchmarks/verifier_strength.py's 72 pairs (2026-12-07, side by
side) the tier on its own caught the same 29 of 36 wrong candidates, and rejected none of
the 36 right ones, with this as without it; its median time per candidate went from 5.50 s
(the whole budget, every time) to 1.12 s."""


@dataclass(frozen=True)
class _SymbolicTask:
    module: str
    qualname: str
    path: str
    original_source: str
    source: str
    records: tuple[object, ...]
    seconds: float
    policy: ComparePolicy


@dataclass(frozen=True)
class _SymbolicReport:
    outcome: str  # "same" | "different" | "skipped"
    paths: int
    call: str | None = None
    description: str | None = None
    note: str | None = None


def available() -> bool:
    return importlib.util.find_spec("crosshair") is not None


def check_symbolic(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    """Look for a differing input symbolically within the budget."""
    if not available():
        note = "crosshair-tool is not installed; install perfloop[symbolic] to enable this tier"
        return TierCheck(TierRun(TIER, "skipped", 0, 0.0, note))
    seconds = min(plan.settings.symbolic_seconds, max(0.0, seconds_left - _WORKER_OVERHEAD))
    if seconds < 1.0:
        return TierCheck(TierRun(TIER, "skipped", 0, 0.0, "no time left for the symbolic check"))
    task = _SymbolicTask(
        plan.function.module,
        plan.function.qualname,
        str(root / plan.path),
        plan.original_source,
        source,
        plan.records,
        seconds,
        plan.settings.policy,
    )
    wall = min(seconds_left, 2 * seconds + _WORKER_OVERHEAD)
    worker = Limits(wall_seconds=wall, cpu_seconds=int(wall) + 5, memory_mb=limits.memory_mb)
    started = time.perf_counter()
    outcome = run_in_worker(
        "perfloop.verification.symbolic:symbolic_worker",
        task,
        root=root,
        limits=worker,
        returns=_SymbolicReport,
        warm=(task.module,),
    )
    elapsed = time.perf_counter() - started
    if not outcome.ok:
        note = f"the symbolic check did not complete: {outcome.message.strip().splitlines()[-1]}"
        return TierCheck(TierRun(TIER, "skipped", 0, elapsed, note))
    report = outcome.value
    assert isinstance(report, _SymbolicReport)
    run = TierRun(TIER, report.outcome, report.paths, elapsed, report.note)
    if report.outcome == "different" and report.call is not None:
        return TierCheck(run, Difference(0, report.call, report.description or "", TIER))
    return TierCheck(run)


# --- worker side -----------------------------------------------------------------------


def annotation(shape: Shape | None) -> object | None:
    """A type CrossHair can generate for a shape, or None."""
    if shape is None:
        return None
    if isinstance(shape, IntShape):
        return int
    if isinstance(shape, FloatShape):
        return float
    if isinstance(shape, StrShape):
        return str
    if isinstance(shape, BytesShape):
        return bytes
    if isinstance(shape, AtomShape):
        return bool if shape.kind == "bool" else type(None)
    if isinstance(shape, SeqShape):
        item = annotation(shape.item) if shape.item is not None else int
        if item is None:
            return None
        generic = {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[shape.kind]
        return generic[item, ...] if shape.kind == "tuple" else generic[item]  # type: ignore[index]
    if isinstance(shape, TupleShape):
        items = [annotation(item) for item in shape.items]
        return None if None in items else tuple[tuple(items)]  # type: ignore[misc]
    if isinstance(shape, DictShape):
        key = annotation(shape.key) if shape.key is not None else str
        value = annotation(shape.value) if shape.value is not None else int
        return None if key is None or value is None else dict[key, value]  # type: ignore[valid-type]
    if isinstance(shape, RecordShape):
        values = [annotation(field) for _, field in shape.fields]
        if None in values:
            return None
        return dict[str, typing.Union[tuple(values)]]  # type: ignore[misc, valid-type]  # noqa: UP007
    if isinstance(shape, OneOf):
        options = [annotation(option) for option in shape.options]
        return None if None in options else typing.Union[tuple(options)]  # type: ignore[return-value]  # noqa: UP007
    return None


def symbolic_worker(task: _SymbolicTask) -> _SymbolicReport:
    """Worker entry: CrossHair's diff_behavior on annotated copies, then a concrete check."""
    import crosshair.core_and_libs  # noqa: F401  (loads CrossHair's patches of builtins)
    from crosshair.diff_behavior import ExceptionEquivalenceType, diff_behavior
    from crosshair.fnutil import FunctionInfo
    from crosshair.options import DEFAULT_OPTIONS, AnalysisOptionSet

    original = calling.load_original(task.module, task.qualname, task.path, task.original_source)
    candidate = calling.load_copy(task.module, task.qualname, task.path, task.source)
    captured = [pickle.loads(record.args) for record in task.records]  # type: ignore[attr-defined]
    forms = call_forms([(tuple(a), dict(k)) for a, k in captured])
    if not forms:
        return _SymbolicReport("skipped", 0, note="no captured calls to take types from")
    form = forms[0]
    names = list(inspect.signature(original.function).parameters)
    hints: dict[str, object] = {}
    for name, shape in zip(names, form.args):
        hint = annotation(shape)
        if hint is None:
            return _SymbolicReport(
                "skipped",
                0,
                note=f"parameter {name!r} has a type the symbolic check cannot generate",
            )
        hints[name] = hint
    if len(hints) < len(form.args) or form.kwargs:
        return _SymbolicReport("skipped", 0, note="its call form is not positional-only")
    for version in (original, candidate):
        version.function.__annotations__ = dict(hints)
    options = DEFAULT_OPTIONS.overlay(
        AnalysisOptionSet(
            per_condition_timeout=task.seconds,
            per_path_timeout=max(0.5, task.seconds / 4),
            max_uninteresting_iterations=UNINTERESTING_PATHS,
        )
    )
    options.stats = __import__("collections").Counter()
    searched = time.process_time()
    diffs = diff_behavior(
        FunctionInfo.from_fn(original.function),
        FunctionInfo.from_fn(candidate.function),
        options,
        ExceptionEquivalenceType.SAME_TYPE,
    )
    searched = time.process_time() - searched
    paths = int(options.stats.get("num_paths", 0))
    if isinstance(diffs, str):
        return _SymbolicReport("skipped", paths, note=f"CrossHair could not analyse it: {diffs}")
    if diffs:  # confirmed on fresh copies: the search may have left symbolic values in a
        # module-level cache of either version, which a concrete call would then return
        try:
            fresh = (
                calling.load_fresh(task.module, task.qualname, task.path, task.original_source),
                calling.load_fresh(task.module, task.qualname, task.path, task.source),
            )
        except Exception:  # a module that cannot run twice: confirm on the loaded ones
            fresh = (original, candidate)
        original, candidate = fresh
    for diff in diffs:
        confirmed = _confirm(task, original, candidate, names, diff.args)
        if confirmed is not None:
            call, description = confirmed
            return _SymbolicReport("different", paths, call, description)
    notes = []
    if diffs:
        notes.append(
            f"CrossHair reported {len(diffs)} inputs, none differs under perfloop's relation"
        )
    if options.stats.get("exhaustion"):
        notes.append("every path was explored")
    elif searched < 0.9 * task.seconds:
        notes.append(
            f"stopped after {searched:.1f} s of its {task.seconds:g}: {UNINTERESTING_PATHS} "
            "paths in a row reached no branch of either version that an earlier one had not"
        )
    return _SymbolicReport("same", paths, note="; ".join(notes) or None)


def _confirm(
    task: _SymbolicTask,
    original: calling.Version,
    candidate: calling.Version,
    names: list[str],
    args: dict[str, str],
) -> tuple[str, str] | None:
    try:
        values = tuple(ast.literal_eval(args[name]) for name in names[: len(args)])
        data = pickle.dumps((values, {}), protocol=4)
    except Exception:
        return None
    expected = calling.call(original, data, 2.0)
    if expected.exhausted is not None:
        return None
    actual = calling.call(candidate, data, max(1.0, 20 * expected.seconds))
    problem = calling.compare_sides(original, expected, candidate, actual, task.policy)
    if problem is None:
        return None
    again = calling.call(original, data, 2.0)
    if again.exhausted is not None or calling.differs(expected, again, task.policy, False):
        return None  # the original is not deterministic here; not a finding about the candidate
    return calling.call_text(task.module, task.qualname, data, original).text, problem
