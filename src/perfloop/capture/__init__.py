"""Capture calls of the chosen targets while the workload runs.

The workload runs once more with each target wrapped by a recorder (see
perfloop.runtime.recorder). The main process only reads the recorder's plain
summary; the recorded values stay pickled bytes, unpickled only in workers.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from perfloop.config import Settings
from perfloop.model import (
    CallRecord,
    FunctionRef,
    HistoryStep,
    HotFunction,
    ImportedModules,
    Limits,
    ObjectHistory,
    ObservedType,
    ProbeCounts,
    TargetCapture,
)
from perfloop.project import Project, TargetError, in_project
from perfloop.runtime.recorder import STATE_LEFT_OUT
from perfloop.sandbox.decode import Refused, decode
from perfloop.workload import RuntimeSpec, WorkloadError, run_workload

_SUMMARY = dict[str, dict[str, object]]  # {"recorders": {...}, "failures": {...}}


@dataclass(frozen=True)
class CaptureSettings:
    max_calls: int = Settings.max_calls
    max_bytes: int = Settings.capture_mb * 1024 * 1024
    timeout: float = Settings.workload_timeout
    limits: Limits | None = None  # CPU and memory of the workload's processes (see sandbox)

    @classmethod
    def of(cls, settings: Settings, limits: Limits | None = None) -> CaptureSettings:
        """A run's capture settings; `limits` (if given) also set the timeout."""
        timeout = settings.workload_timeout if limits is None else limits.wall_seconds
        return cls(settings.max_calls, settings.capture_mb * 1024 * 1024, timeout, limits)


def capture_calls(
    command: str,
    root: Path,
    targets: Sequence[FunctionRef],
    settings: CaptureSettings = CaptureSettings(),
    overrides: dict[str, tuple[str, str]] | None = None,
    expected_calls: dict[FunctionRef, int] | None = None,
) -> dict[FunctionRef, TargetCapture]:
    """Run the workload with recorders on `targets`; one TargetCapture per target.

    `expected_calls` (the profile's count of each target's calls, see `counts_to_plan`)
    lets the recorder draw the calls to keep up front and record only those
    (perfloop.runtime.recorder; on 3.12+ it counts the rest with perfloop.runtime.probes).

    `overrides` ({module: (path, source)}) runs the workload with other versions of
    modules in place, e.g. the base version of a pull request's changed functions.
    """
    with tempfile.TemporaryDirectory(prefix="perfloop-capture-") as tmp:
        served: dict[str, tuple[str, str]] = {}
        for number, (module, (path, source)) in enumerate(sorted((overrides or {}).items())):
            source_file = Path(tmp) / f"override-{number}.py"
            source_file.write_text(source, encoding="utf-8")
            served[module] = (path, str(source_file))
        spec = RuntimeSpec(
            capture={
                "directory": tmp,
                "targets": [str(t) for t in targets],
                "max_calls": settings.max_calls,
                "max_bytes": settings.max_bytes,
                "expected_calls": {
                    str(ref): calls for ref, calls in (expected_calls or {}).items() if calls
                },
            },
            overrides=served or None,
        )
        run = run_workload(
            command, root, spec=spec, timeout=settings.timeout, limits=settings.limits
        )
        if not run.succeeded:
            raise WorkloadError(run.failure_message())
        if run.imports is not None:
            _check_imported_from_project(root, targets, run.imports)
        reports = [_read_summary(path) for path in sorted(Path(tmp).glob("capture-*.pkl"))]
    return {target: _merge(target, reports) for target in targets}


def capture_notes(captures: dict[FunctionRef, TargetCapture]) -> list[str]:
    """A run's notes on targets whose capture kept calls but could not keep others (the
    example's find_customer kept 36 of 200 once its byte budget was used up, and nothing
    said so)."""
    return [
        f"{ref}: {len(capture.records)} of its {capture.calls_seen} calls kept; others "
        f"could not be: {capture.not_kept}"
        for ref, capture in captures.items()
        if capture.not_kept and capture.usable
    ]


def counts_to_plan(
    functions: Iterable[HotFunction], targets: Collection[FunctionRef]
) -> dict[FunctionRef, int]:
    """The profile's count of calls of each target that does not recur: `expected_calls`.

    A plan draws a uniform sample of all calls, and a recursion's calls are nearly all
    small inner ones (shop's `ways(60, coins)` makes 112,698): the heavy outer calls were
    never drawn, and memoizing, much faster on the workload, timed 0.58x on leaf calls.
    Without a plan, a recursion keeps its distinct calls as they come, outer ones too.
    A generator's count is of its resumptions, not its calls (html5lib 1.1's
    `HTMLSerializer.serialize`: 109,080 for 10 calls), so a plan drawn from it picked
    calls that never came and recorded none: it has no plan either."""
    return {
        f.function: f.calls
        for f in functions
        if f.function in targets and f.calls and not f.recursive_calls and not f.resumes
    }


def _check_imported_from_project(
    root: Path, targets: Sequence[FunctionRef], imports: ImportedModules
) -> None:
    """TargetError when the workload imported a target's module from a file outside the
    project although the project has that module: the calls recorded, replayed and timed
    would be another copy's. `python` in the workload is the interpreter perfloop runs
    under; where that is not the project's environment and its own environment holds the
    same library (attrs, a dependency of perfloop's hypothesis), `attr._funcs:asdict` of
    attrs 25.3.0 (a `src/` layout) was recorded from perfloop's attrs 26.1.0 instead, and
    a maintainer's rewrite judged against code that already had it."""
    project = Project(root)
    imported = dict(reversed(imports.modules))  # first name wins
    for module in dict.fromkeys(target.module for target in targets):
        file = imported.get(module)
        if file is None or in_project(file, root):
            continue
        try:
            own = project.module_path(module)
        except TargetError:
            continue  # not the project's module: nothing to mix up
        raise TargetError(  # the setup's fault, not the workload's: "perfloop: error: ..."
            f"the workload imported {module} from {file}, not from the project's "
            f"{project.relative(own)}: `python` in the workload is the interpreter perfloop "
            f"runs under ({sys.executable}), and its environment has a copy of its own, so "
            "the calls recorded would not be the project's. Run perfloop from the project's "
            "environment (install perfloop there: `python -m pip install perfloop` with the "
            "project's python), or install the project into perfloop's (`pip install -e .` "
            "with perfloop's python)"
        )


def _read_summary(path: Path) -> dict[str, dict[str, object]]:
    """One process's recorder summary, as data only (the user's code wrote beside it)."""
    try:
        return decode(  # type: ignore[return-value]
            path.read_bytes(), _SUMMARY, source=f"the capture summary {path.name}"
        )
    except Refused as exc:
        raise WorkloadError(f"{exc}. Capture again; if it recurs, report it.") from None


def _merge(target: FunctionRef, reports: list[dict[str, dict[str, object]]]) -> TargetCapture:
    """Take the calls from the first process that recorded the target."""
    key = str(target)
    failures = [r["failures"][key] for r in reports if key in r["failures"]]
    summaries = [r["recorders"][key] for r in reports if key in r["recorders"]]
    summaries.sort(key=lambda s: len(s["records"]), reverse=True)  # type: ignore[arg-type]
    if not summaries and any(key in r.get("histories", {}) for r in reports):
        return _class_capture(target, reports)
    if not summaries:
        problem = failures[0] if failures else "the workload never imported its module"
        return TargetCapture(target, 0, (), problem=problem)
    summary = summaries[0]
    counts = [r["probes"][key] for r in reports if key in r.get("probes", {})]
    probe = (
        ProbeCounts(
            events=sum(int(c["events"]) for c in counts),  # type: ignore[call-overload]
            switches=sum(int(c["switches"]) for c in counts),  # type: ignore[call-overload]
        )
        if counts
        else None
    )
    calls_seen = sum(int(s["calls_seen"]) for s in summaries)  # type: ignore[call-overload]
    records = tuple(
        CallRecord(
            index=i,
            args=r["args"],
            outcome=r["outcome"],
            stdout=r["stdout"],
            call_repr=r["call_repr"],
        )
        for i, r in enumerate(summary["records"])  # type: ignore[arg-type]
    )
    problems: dict[str, int] = summary["problems"]  # type: ignore[assignment]
    problem = None
    if calls_seen == 0:
        names = [str(n) for n in summary.get("names", ())]  # type: ignore[attr-defined]
        watched = f" (watched under the names {', '.join(names)})" if len(names) > 1 else ""
        problem = f"the workload never called it{watched}"
    elif not records:
        reason = _why_none(problems, summaries, calls_seen)
        problem = f"none of its {calls_seen} calls could be recorded: {reason}"
    elif summary.get("returned_an_address"):
        problem = (
            "it returns the address of an argument (its id()), which no other process "
            "reproduces, so replay cannot judge a rewrite"
        )
    not_kept = None
    dropped = {k: n for k, n in problems.items() if not k.startswith(STATE_LEFT_OUT)}
    if records and dropped:
        not_kept = max(dropped, key=lambda k: dropped[k])
    histories, instances_seen = _histories(target, reports)
    return TargetCapture(
        function=target,
        calls_seen=calls_seen,
        records=records,
        parameter_types=tuple(
            ObservedType(name, tuple(types))
            for name, types in summary["parameter_types"].items()  # type: ignore[attr-defined]
        )
        + tuple(
            ObservedType(f"self.{name}", tuple(types))
            for name, types in summary.get("attribute_types", {}).items()  # type: ignore[attr-defined]
        ),
        return_types=tuple(summary["return_types"]),  # type: ignore[arg-type]
        calls_not_recorded=calls_seen - len(records),
        problem=problem,
        not_kept=not_kept,
        probe=probe,
        histories=histories,
        instances_seen=instances_seen,
        repeats=int(summary.get("repeats", 0)),  # type: ignore[call-overload]
    )


def _why_none(problems: dict[str, int], summaries: list[dict[str, object]], seen: int) -> str:
    """Why a target whose `seen` calls came kept none: its most frequent problem, or, with
    none noted, the plan whose drawn calls never came."""
    if problems:
        return max(problems, key=lambda k: problems[k])
    expected = max(int(s.get("expected_calls", 0)) for s in summaries)  # type: ignore[call-overload]
    if expected > seen:
        return (
            f"the calls to record were drawn from the {expected} the profile counted, and "
            f"only {seen} came (the profile and the capture saw different runs); run again"
        )
    return "no call said why (a perfloop bug: please report it with the run's report)"


def _class_capture(
    target: FunctionRef, reports: list[dict[str, dict[str, object]]]
) -> TargetCapture:
    """A whole class as the target: no per-call records, the histories of a few of its
    instances (each step one outermost method call on one of them)."""
    histories, instances_seen = _histories(target, reports, target.qualname)
    steps = sum(len(h.steps) for h in histories)
    problem = None
    if not histories:
        problems = [
            p
            for r in reports
            for p in r["histories"].get(str(target), {}).get("problems", {})  # type: ignore[attr-defined]
        ]
        why = f": {problems[0]}" if problems else ""
        problem = (
            f"none of the {instances_seen} instances of {target.qualname} the workload made "
            f"could be followed through a method call{why}"
        )
    return TargetCapture(
        target, steps, (), problem=problem, histories=histories, instances_seen=instances_seen
    )


def _histories(
    target: FunctionRef, reports: list[dict[str, dict[str, object]]], owner: str | None = None
) -> tuple[tuple[ObjectHistory, ...], int]:
    """The recorded histories of instances of a method's class (or of `owner`, a class
    that is itself the target), from the process that kept the most, and how many
    instances of the class the workload made in all."""
    owner = target.qualname.rpartition(".")[0] if owner is None else owner
    if not owner:
        return (), 0
    key = f"{target.module}:{owner}"
    summaries = [r["histories"][key] for r in reports if key in r.get("histories", {})]
    if not summaries:
        return (), 0
    best = max(summaries, key=lambda s: len(s["histories"]))  # type: ignore[arg-type]
    histories = tuple(
        ObjectHistory(
            cls=owner,
            number=int(h["number"]),
            constructor=h["constructor"],
            constructor_repr=h["constructor_repr"],
            steps=tuple(HistoryStep(s["method"], s["args"], s["call_repr"]) for s in h["steps"]),
        )
        for h in best["histories"]  # type: ignore[attr-defined]
    )
    return histories, sum(int(s["instances_seen"]) for s in summaries)  # type: ignore[call-overload]
