"""Tier 3: the project's own tests, run with the candidate in place of the original.

Once per run, the project's pytest suite runs in a sandboxed worker with a
trace function that notes, for each test, which functions of the project it
executed (the function's code object was entered: line coverage at function
granularity). The tests that execute a target and pass with the original are
that target's tests. A candidate is then checked by running just those tests
in a worker where the import hook serves the candidate's module source; the
first failing test rejects the candidate and is named in the verdict. A test
that fails is run once more with the original: if it fails there too it is
flaky, and the tier says it could not judge instead of blaming the candidate.

A project without tests (or without pytest installed) skips the tier and the
verdict says so.
"""

from __future__ import annotations

import ast
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from perfloop.model import Difference, FunctionRef, Limits, TierRun
from perfloop.qualnames import find_function
from perfloop.sandbox import Tripwire, run_in_worker
from perfloop.verify.plan import TargetPlan, TestSelection, TierCheck

TIER = "tests"
_PYTEST_ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--tb=short")

CodeKey = tuple[str, str, int]  # (real file path, function name, first line)


@dataclass(frozen=True)
class TestIndex:
    """Which tests executed which functions of the project, from one run of the suite."""

    __test__ = False

    covering: tuple[tuple[CodeKey, tuple[str, ...]], ...] = ()
    durations: tuple[tuple[str, float], ...] = ()
    collected: int = 0
    failing: int = 0  # tests that fail with the original code
    seconds: float = 0.0
    problem: str | None = None  # why there is no index (no tests, pytest missing...)


@dataclass(frozen=True)
class _IndexTask:
    root: str


@dataclass(frozen=True)
class _RunTask:
    root: str
    module: str
    path: str
    source: str | None  # None: the original
    node_ids: tuple[str, ...]


@dataclass(frozen=True)
class _RunReport:
    ran: int
    failed: str | None  # node id of the first failing test
    message: str = ""
    problem: str | None = None


# --- main side -------------------------------------------------------------------------


def index_tests(root: Path, limits: Limits) -> TestIndex:
    """Run the project's tests once with the original code, noting what each executes."""
    started = time.perf_counter()
    outcome = run_in_worker(
        "perfloop.verify.project_tests:index_worker",
        _IndexTask(str(root)),
        root=root,
        limits=limits,
        tripwire=Tripwire.SCRATCH,  # tests may write temporary files
    )
    if not outcome.ok:
        return TestIndex(
            seconds=time.perf_counter() - started,
            problem=f"running the project's tests failed: {_last_lines(outcome.message)}",
        )
    assert isinstance(outcome.value, TestIndex)
    return outcome.value


def select_tests(
    index: TestIndex, root: Path, function: FunctionRef, path: str, module_source: str
) -> TestSelection:
    """The tests in the index that execute `function` and pass with the original."""
    if index.problem is not None:
        return TestSelection(note=index.problem)
    key = _code_key(root, function, path, module_source)
    if key is None:
        return TestSelection(note=f"{function} was not found in {path}")
    covering = dict(index.covering)
    node_ids = covering.get(key, ())
    if not node_ids:
        return TestSelection(
            note=f"none of the project's {index.collected} tests executes {function}"
        )
    durations = dict(index.durations)
    return TestSelection(node_ids, sum(durations.get(n, 0.0) for n in node_ids))


def _code_key(root: Path, function: FunctionRef, path: str, source: str) -> CodeKey | None:
    try:
        node = find_function(ast.parse(source), function.qualname)
    except SyntaxError:
        return None
    if node is None:
        return None
    first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
    return (os.path.realpath(root / path), node.name, first)


def check_with_tests(
    source: str, plan: TargetPlan, root: Path, limits: Limits, seconds_left: float
) -> TierCheck:
    """Run the target's tests with `source` in place; the first failing test rejects it."""
    selection = plan.tests
    if not selection.node_ids:
        note = selection.note or "no tests execute this function"
        return TierCheck(TierRun(TIER, "skipped", 0, 0.0, note))
    wall = min(seconds_left, 30.0 + 10 * selection.seconds)
    worker = Limits(
        wall_seconds=max(1.0, wall), cpu_seconds=int(wall) + 5, memory_mb=limits.memory_mb
    )
    started = time.perf_counter()
    report = _run(root, plan, source, selection.node_ids, worker)
    if isinstance(report, str):
        return TierCheck(
            TierRun(TIER, "failed", 0, time.perf_counter() - started, report), None, report
        )
    if report.failed is None:
        return TierCheck(TierRun(TIER, "same", report.ran, time.perf_counter() - started))
    again = _run(root, plan, None, (report.failed,), worker)
    seconds = time.perf_counter() - started
    if isinstance(again, str) or again.failed is not None:
        note = f"{report.failed} fails with the original too (flaky?); the tests could not judge"
        return TierCheck(TierRun(TIER, "skipped", report.ran, seconds, note))
    description = f"the project's test {report.failed} fails with the candidate: {report.message}"
    difference = Difference(report.ran - 1, report.failed, description, TIER)
    return TierCheck(TierRun(TIER, "different", report.ran, seconds), difference)


def _run(
    root: Path, plan: TargetPlan, source: str | None, node_ids: tuple[str, ...], limits: Limits
) -> _RunReport | str:
    task = _RunTask(str(root), plan.function.module, str(root / plan.path), source, node_ids)
    outcome = run_in_worker(
        "perfloop.verify.project_tests:run_worker",
        task,
        root=root,
        limits=limits,
        tripwire=Tripwire.SCRATCH,  # tests may write temporary files
    )
    if not outcome.ok:
        return f"the tests did not complete: {_last_lines(outcome.message)}"
    assert isinstance(outcome.value, _RunReport)
    if outcome.value.problem is not None:
        return outcome.value.problem
    return outcome.value


def _last_lines(text: str, count: int = 3) -> str:
    return " / ".join(text.strip().splitlines()[-count:])


# --- worker side -----------------------------------------------------------------------


class _Recorder:
    """A pytest plugin: the current test, and each test's outcome and duration."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.passed: set[str] = set()
        self.failed: list[str] = []
        self.messages: dict[str, str] = {}
        self.durations: dict[str, float] = {}
        self.collected = 0

    def pytest_collection_modifyitems(self, items: list[object]) -> None:
        self.collected = len(items)

    def pytest_runtest_logreport(self, report: object) -> None:
        node_id = report.nodeid  # type: ignore[attr-defined]
        if report.failed:  # type: ignore[attr-defined]
            if node_id not in self.failed:
                self.failed.append(node_id)
                self.messages[node_id] = _short_failure(report)
        elif report.when == "call" and report.passed:  # type: ignore[attr-defined]
            self.passed.add(node_id)


def _short_failure(report: object) -> str:
    text = getattr(report, "longreprtext", "") or ""
    lines = [line for line in text.strip().splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("E ")]
    chosen = errors[:3] or lines[-3:]
    message = " / ".join(line.removeprefix("E").strip() for line in chosen)
    return message[:400]


def _make_plugin(recorder: _Recorder, trace: object = None) -> object:
    """The plugin; with `trace`, that trace function is on while each test runs (only then:
    tracing pytest's own start-up and collection would cost seconds)."""
    import threading

    import pytest

    class Plugin:
        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item: object, nextitem: object) -> object:
            recorder.current = item.nodeid  # type: ignore[attr-defined]
            if trace is not None:
                sys.settrace(trace)  # type: ignore[arg-type]
                threading.settrace(trace)  # type: ignore[arg-type]
            started = time.perf_counter()
            try:
                yield
            finally:
                if trace is not None:
                    sys.settrace(None)
                    threading.settrace(None)  # type: ignore[arg-type]
                recorder.durations[item.nodeid] = time.perf_counter() - started  # type: ignore[attr-defined]
                recorder.current = None

        def pytest_collection_modifyitems(self, items: list[object]) -> None:
            recorder.pytest_collection_modifyitems(items)

        def pytest_runtest_logreport(self, report: object) -> None:
            recorder.pytest_runtest_logreport(report)

    return Plugin()


def _in_project(filename: str, root: str) -> bool:
    path = os.path.realpath(filename)
    if not path.startswith(root + os.sep):
        return False
    return f"{os.sep}site-packages{os.sep}" not in path and f"{os.sep}.venv{os.sep}" not in path


def index_worker(task: _IndexTask) -> TestIndex:
    """Worker entry: run the whole suite with the trace function; build the index."""
    started = time.perf_counter()
    try:
        import pytest
    except ImportError:
        return TestIndex(problem="pytest is not installed where perfloop runs; tier skipped")
    root = os.path.realpath(task.root)
    os.chdir(root)
    recorder = _Recorder()
    executed: dict[str, set[CodeKey]] = {}
    mine: dict[str, bool] = {}

    def trace(frame: object, event: str, arg: object) -> None:
        test = recorder.current
        if test is None:
            return
        code = frame.f_code  # type: ignore[attr-defined]
        filename = code.co_filename
        inside = mine.get(filename)
        if inside is None:
            inside = mine[filename] = _in_project(filename, root)
        if inside:
            executed.setdefault(test, set()).add(
                (os.path.realpath(filename), code.co_name, code.co_firstlineno)
            )

    code = pytest.main(list(_PYTEST_ARGS), plugins=[_make_plugin(recorder, trace)])
    seconds = time.perf_counter() - started
    if int(code) == 5 or recorder.collected == 0:
        return TestIndex(seconds=seconds, problem="the project has no tests (pytest found none)")
    if int(code) in (2, 3, 4):
        return TestIndex(
            seconds=seconds,
            problem=f"pytest could not run the project's tests (exit code {int(code)})",
        )
    passing = recorder.passed - set(recorder.failed)
    covering: dict[CodeKey, list[str]] = {}
    for test, keys in executed.items():
        if test in passing:
            for key in keys:
                covering.setdefault(key, []).append(test)
    return TestIndex(
        covering=tuple((key, tuple(tests)) for key, tests in covering.items()),
        durations=tuple(recorder.durations.items()),
        collected=recorder.collected,
        failing=len(recorder.failed),
        seconds=seconds,
    )


def run_worker(task: _RunTask) -> _RunReport:
    """Worker entry: run the given tests with `task.source` served for the module."""
    try:
        import pytest
    except ImportError:
        return _RunReport(0, None, problem="pytest is not installed where perfloop runs")
    from perfloop.runtime.loader import import_hook

    if task.source is not None:
        import_hook().override(task.module, task.path, task.source)
    os.chdir(task.root)
    recorder = _Recorder()
    pytest.main([*_PYTEST_ARGS, "-x", *task.node_ids], plugins=[_make_plugin(recorder)])
    ran = len(recorder.durations)
    if recorder.failed:
        first = recorder.failed[0]
        return _RunReport(ran, first, recorder.messages.get(first, ""))
    if ran == 0:
        return _RunReport(0, None, problem="pytest ran none of the selected tests")
    return _RunReport(ran, None)
