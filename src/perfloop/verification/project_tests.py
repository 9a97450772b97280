"""Tier 3: the project's own tests, run with the candidate in place of the original.

Once per run, the project's pytest suite runs in a sandboxed worker that notes,
for each test, which functions of the project it entered (coverage at function
granularity). The tests that execute a target and pass with the original are
that target's tests.

How the entries are noted, at about the suite's plain cost (CPU seconds from
benchmarks/test_index_overhead.py, index against plain pytest, worker start-up
included): chardet 5.2.0 (766 tests) 44.9 against 37.9 s (1.19x) with entry
marks on 3.11 and 43.9 against 36.9 s (1.19x) with sys.monitoring on 3.12;
sqlparse 0.4.4 (430 tests, 3 s) 1.27x and 1.52x, mostly the worker's start-up.
- Python 3.12+: `sys.monitoring` PY_START events, each code object's event
  disabled after its first hit and re-armed between tests, so a test pays once
  per function it enters. Chosen over coverage.py's dynamic contexts, which record
  every line (and would bring a dependency into the user's environment).
- Before 3.12: entry marks compiled into the project's modules (see entry_marks).
  Any trace or profile function slows the whole interpreter: the trace function
  used before (it also called os.path.realpath per call) was killed after 600 s
  on chardet and took 218 s on sqlparse where the marks take 19 s; even a trace
  function that only adds f_code to a set made chardet's suite 8.5x slower.
The user's pytest configuration is respected except where it would hide tests
from the index: `-n` (xdist), `--cov` (pytest-cov) and, while indexing, `-x` are
overridden (see _override_user_options).

A candidate is then checked by running those tests (the fastest of them, as many as
fit a third of its remaining budget) in the order the suite ran them, in a worker
where the import hook serves the candidate's module source; the first failing test
rejects the candidate and is named in the verdict. The order matters: tests lean on
what earlier tests left behind, and pyparsing 3.1.4's left-recursion tests, run
fastest first, failed with the original code as with a correct candidate. When a
test fails, the same tests up to it run once more with the original: if it fails
there too, the tests are flaky or depend on more than these, and the tier says it
could not judge instead of blaming the candidate.

A project without tests (or without pytest installed) skips the tier and the
verdict says so. A project that has tests which could not run (a conftest that
fails to import, a suite killed for time, no test passing with the original)
also skips it, and `apply_gate` then keeps `--apply` from writing unless the
user passes --apply-without-tests.
"""

from __future__ import annotations

import ast
import os
import signal
import sys
import time
import types
from dataclasses import dataclass, replace
from pathlib import Path

from perfloop.model import Difference, FunctionRef, Limits, TierRun
from perfloop.qualnames import find_function, first_line
from perfloop.sandbox.runner import Tripwire, run_in_worker
from perfloop.user_site import prefer_project_pytest
from perfloop.verification import unittest_suite
from perfloop.verification.entry_marks import EntryMarks
from perfloop.verification.plan import TargetPlan, TestSelection, TierCheck
from perfloop.verification.test_clock import INDEX_TEST_SECONDS, time_limit

TIER = "tests"
PYTEST_ARGS = ("-q", "-p", "no:cacheprovider", "-p", "no:randomly", "--tb=short")
RUNNER_COMMANDS = {"pytest": "python -m pytest", "unittest": "python -m unittest discover"}

_EXIT_CODES = {
    2: "interrupted, often by an error while collecting the tests",
    3: "an internal error",
    4: "a usage error, or a conftest.py that could not be imported",
}

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
    has_tests: bool = True  # False only when the project has no tests at all
    runner: str = "pytest"  # or "unittest"
    note: str | None = None  # for the run's notes: how the suite was run, when not by pytest
    uncollected: int = 0  # test files pytest could not import (their tests judge nothing)
    # test files pytest imported that build their tests in `load_tests`, which only
    # unittest calls (pytest does not support the protocol)
    load_tests: tuple[str, ...] = ()

    @property
    def could_not_run(self) -> str | None:
        """Why the project has tests and they could not judge candidates (None: they could,
        or there are none)."""
        return self.problem if self.problem is not None and self.has_tests else None


@dataclass(frozen=True)
class ApplyGate:
    """What the project's tests say about `--apply`: refused, or allowed (with a mark when
    allowed only because the user passed --apply-without-tests)."""

    refused: bool
    note: str | None = None  # for the run's notes
    untested: str | None = None  # set when applied although the tests could not run


def apply_gate(tests_problem: str | None, without_tests: bool) -> ApplyGate:
    """A project whose tests could not run gets no change written, unless the user says so."""
    if tests_problem is None:
        return ApplyGate(False)
    if without_tests:
        note = f"applied without the project's tests (--apply-without-tests): {tests_problem}"
        return ApplyGate(False, note, tests_problem)
    note = (
        "nothing was applied: the project has tests but they could not judge the candidates "
        f"({tests_problem}). Make `python -m pytest` pass in the project with the original "
        "code (raise --workload-timeout if the suite was killed for time) and run again, or "
        "pass --apply-without-tests to apply on the evidence of the other tiers alone"
    )
    return ApplyGate(True, note)


@dataclass(frozen=True)
class _IndexTask:
    root: str
    runner: str  # pytest or unittest
    test_seconds: float = INDEX_TEST_SECONDS  # each test's time limit (test_clock)


@dataclass(frozen=True)
class _RunTask:
    root: str
    module: str
    path: str
    source: str | None  # None: the original
    node_ids: tuple[str, ...]
    runner: str
    # test functions (`file::Class::test`) whose every item runs: see `_Selected`
    whole_functions: tuple[str, ...] = ()


@dataclass(frozen=True)
class _RunReport:
    ran: int
    failed: str | None  # node id of the first failing test
    message: str = ""
    problem: str | None = None
    widened: tuple[str, ...] = ()  # the test functions run whole (`_Selected`)


# --- main side -------------------------------------------------------------------------


def index_tests(
    root: Path,
    limits: Limits,
    runner: str = "auto",
    test_seconds: float = INDEX_TEST_SECONDS,
) -> TestIndex:
    """Run the project's tests once with the original code, noting what each executes.

    `runner` "auto" runs them with pytest, and, where pytest could not run them or found
    none, with unittest (a fresh worker, so nothing pytest imported or rewrote stays);
    the index then says so in its note. A test that runs over `test_seconds` is stopped
    and judges nothing (perfloop.verification.test_clock)."""
    if runner != "auto":
        return _index_with(runner, root, limits, test_seconds)
    by_pytest = _index_with("pytest", root, limits, test_seconds)
    partial = by_pytest.problem is None and (
        by_pytest.uncollected > 0 or bool(by_pytest.load_tests)
    )
    if not partial and (
        by_pytest.problem is None or by_pytest.failing or "did not finish" in by_pytest.problem
    ):
        return by_pytest
    by_unittest = _index_with("unittest", root, limits, test_seconds)
    if by_unittest.problem is not None or (
        partial and by_unittest.collected <= by_pytest.collected
    ):
        return by_pytest
    why = _partly_collected(by_pytest) if partial else _first_lower(by_pytest.problem or "")
    failing = (
        f", {by_unittest.failing} of which fail with the original code and judge nothing"
        if by_unittest.failing
        else ""
    )
    note = (
        f"the project's tests ran with unittest, as `python -m unittest discover` runs them "
        f"({by_unittest.collected} tests{failing}): with pytest, {why}"
    )
    return replace(by_unittest, note=note, seconds=by_pytest.seconds + by_unittest.seconds)


def _partly_collected(index: TestIndex) -> str:
    """Why pytest's collection of the suite is partial (for the note on running unittest).
    idna 3.10 builds its 6,225 UTS 46 conformance cases in `load_tests`: under pytest they
    were one test that returns at once, and uts46_remap was judged by it alone."""
    reasons = []
    if index.uncollected:
        reasons.append(f"{index.uncollected} test files or classes could not")
    if index.load_tests:
        first, *others = index.load_tests
        files = f"{first} and {len(others)} more" if others else first
        builds = "build their" if others else "builds its"
        reasons.append(f"{files} {builds} tests in load_tests, which pytest does not call")
    return f"only {index.collected} tests could be collected ({'; '.join(reasons)})"


def _index_with(runner: str, root: Path, limits: Limits, test_seconds: float) -> TestIndex:
    started = time.perf_counter()
    outcome = run_in_worker(
        "perfloop.verification.project_tests:index_worker",
        _IndexTask(str(root), runner, test_seconds),
        root=root,
        limits=limits,
        tripwire=Tripwire.SCRATCH,  # tests may write temporary files
        returns=TestIndex,
    )
    if not outcome.ok:
        return TestIndex(
            seconds=time.perf_counter() - started,
            problem=f"running the project's tests failed: {_last_lines(outcome.message)}",
        )
    assert isinstance(outcome.value, TestIndex)
    return outcome.value


def _first_lower(text: str) -> str:
    return text[:1].lower() + text[1:]


def select_tests(
    index: TestIndex, root: Path, function: FunctionRef, path: str, module_source: str
) -> TestSelection:
    """The tests in the index that execute `function` and pass with the original."""
    if index.problem is not None:
        return TestSelection(note=index.problem)
    keys = _code_keys(root, function, path, module_source)
    if not keys:
        return TestSelection(note=f"{function} was not found in {path}")
    covering = dict(index.covering)
    node_ids = tuple(dict.fromkeys(n for key in keys for n in covering.get(key, ())))
    if not node_ids:
        return TestSelection(
            note=f"none of the project's {index.collected} tests executes {function}"
        )
    durations = dict(index.durations)  # in the order the suite ran them
    position = {node_id: i for i, node_id in enumerate(durations)}
    in_order = sorted(node_ids, key=lambda n: position.get(n, len(position)))
    seconds = tuple(durations.get(n, 0.0) for n in in_order)
    return TestSelection(tuple(in_order), sum(seconds), durations=seconds, runner=index.runner)


def _within_budget(selection: TestSelection, seconds_left: float) -> tuple[tuple[str, ...], float]:
    """The fastest of the selected tests whose time with the original fits in a third of
    what the candidate has left (at least one), in the suite's order: a function that the
    whole suite runs (chardet's `feed`: 700 tests, 40 s) would otherwise never finish
    within the budget."""
    durations = selection.durations or (0.0,) * len(selection.node_ids)
    chosen: set[int] = set()
    spent = 0.0
    for i in sorted(range(len(durations)), key=durations.__getitem__):
        if chosen and spent + durations[i] > seconds_left / 3:
            break
        chosen.add(i)
        spent += durations[i]
    return tuple(selection.node_ids[i] for i in sorted(chosen)), spent


def _code_keys(root: Path, function: FunctionRef, path: str, source: str) -> list[CodeKey]:
    """The code the target is: the function, or for a whole class each of its methods."""
    key = _code_key(root, function, path, source)
    if key is not None:
        return [key]
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == function.qualname]
    if not classes:
        return []
    methods = [
        FunctionRef(function.module, f"{function.qualname}.{node.name}")
        for node in classes[-1].body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    found = (_code_key(root, method, path, source) for method in methods)
    return [key for key in found if key is not None]


def _code_key(root: Path, function: FunctionRef, path: str, source: str) -> CodeKey | None:
    try:
        node = find_function(ast.parse(source), function.qualname)
    except SyntaxError:
        return None
    if node is None:
        return None
    first = first_line(node)
    return (os.path.realpath(root / path), node.name, first)


# The original's reruns of the tests up to a failing one, by (those tests, the test
# functions run whole): the mutation self-check meets the same failing test again and again
# (sqlparse 0.5.1's `Token.match`: 12 mutants killed by the tests, 12 reruns of the original)
OriginalRuns = dict[tuple[tuple[str, ...], tuple[str, ...]], "_RunReport | str"]


def check_with_tests(
    source: str,
    plan: TargetPlan,
    root: Path,
    limits: Limits,
    seconds_left: float,
    originals: OriginalRuns | None = None,
) -> TierCheck:
    """Run the target's tests with `source` in place; the first failing test rejects it.
    `originals`: the original's reruns already made for this plan, kept and reused."""
    selection = plan.tests
    if not selection.node_ids:
        note = selection.note or "no tests execute this function"
        return TierCheck(TierRun(TIER, "skipped", 0, 0.0, note))
    node_ids, original_seconds = _within_budget(selection, seconds_left)
    wall = min(seconds_left, 30.0 + 10 * original_seconds)
    worker = Limits(
        wall_seconds=max(1.0, wall), cpu_seconds=int(wall) + 5, memory_mb=limits.memory_mb
    )
    part = None
    if len(node_ids) < len(selection.node_ids):
        part = (
            f"ran the {len(node_ids)} fastest of the {len(selection.node_ids)} tests that "
            "execute it, within the candidate's budget"
        )
    started = time.perf_counter()
    report = _run(root, plan, source, node_ids, worker)
    if isinstance(report, str):
        return TierCheck(
            TierRun(TIER, "failed", 0, time.perf_counter() - started, report), None, report
        )
    if report.widened:
        drift = (
            f"{len(report.widened)} test function(s) ran whole: their tests' ids move with the "
            f"module's line numbers ({report.widened[0]})"
        )
        part = f"{part}; {drift}" if part else drift
    if report.failed is None:
        return TierCheck(TierRun(TIER, "same", report.ran, time.perf_counter() - started, part))
    # a failure outside the selected tests (a class fixture's, or a test whose id moved)
    # reruns them all
    upto = node_ids.index(report.failed) + 1 if report.failed in node_ids else len(node_ids)
    before = node_ids[: upto - 1]
    key = (node_ids[:upto], report.widened)
    again = originals.get(key) if originals is not None else None
    if again is None:
        again = _run(root, plan, None, node_ids[:upto], worker, report.widened)
        if originals is not None:
            originals[key] = again
    seconds = time.perf_counter() - started
    if isinstance(again, str) or again.failed is not None:
        note = (
            f"{report.failed} fails with the original too, run after the same "
            f"{len(before)} tests (flaky, or it needs tests this target's selection left "
            "out); the tests could not judge"
        )
        return TierCheck(TierRun(TIER, "skipped", report.ran, seconds, note))
    description = f"the project's test {report.failed} fails with the candidate: {report.message}"
    difference = Difference(report.ran - 1, report.failed, description, TIER)
    return TierCheck(TierRun(TIER, "different", report.ran, seconds), difference)


def _run(
    root: Path,
    plan: TargetPlan,
    source: str | None,
    node_ids: tuple[str, ...],
    limits: Limits,
    whole_functions: tuple[str, ...] = (),
) -> _RunReport | str:
    task = _RunTask(
        str(root),
        plan.function.module,
        str(root / plan.path),
        source,
        node_ids,
        plan.tests.runner,
        whole_functions,
    )
    outcome = run_in_worker(
        "perfloop.verification.project_tests:run_worker",
        task,
        root=root,
        limits=limits,
        tripwire=Tripwire.SCRATCH,  # tests may write temporary files
        returns=_RunReport,
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
        self.entered: dict[str, set[CodeKey]] = {}  # test -> project functions it entered
        self.collected = 0
        self.uncollected: dict[str, str] = {}  # test file -> why it could not be collected
        self.overran: list[str] = []  # tests the index's clock stopped (test_clock)
        self.test_seconds: float | None = None  # while indexing: each test's time limit

    def pytest_collection_modifyitems(self, items: list[object]) -> None:
        self.collected = len(items)

    def pytest_collectreport(self, report: object) -> None:
        if report.failed:  # type: ignore[attr-defined]
            self.uncollected[report.nodeid] = _short_failure(report)  # type: ignore[attr-defined]

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


class _Selected:
    """Which collected tests a run keeps: the selected node ids, in the suite's order.

    pytest is given the selected tests' files and this filter, not the node ids: an id can
    hold a line number of the module under test (pycodestyle 2.14's
    `test_self_doctests.py::test[pycodestyle.py:1661:python_3000_...@0]`), so with a
    candidate that moves lines some ids are not there, and pytest given them ran nothing.
    A selected id that is not collected makes its test function (`file::Class::test`)
    run whole; `widened` names those functions, so the original's rerun runs the same.
    """

    def __init__(self, node_ids: tuple[str, ...], whole_functions: tuple[str, ...]) -> None:
        self.node_ids = node_ids
        self.whole = set(whole_functions)
        self.widened: tuple[str, ...] = tuple(whole_functions)
        self.missing: tuple[str, ...] = ()  # selected ids pytest did not collect

    @staticmethod
    def files(node_ids: tuple[str, ...], whole_functions: tuple[str, ...]) -> list[str]:
        return list(dict.fromkeys(n.split("::")[0] for n in (*node_ids, *whole_functions)))

    def keep(self, items: list[object]) -> None:
        ids = {item.nodeid for item in items}  # type: ignore[attr-defined]
        missing = [n for n in self.node_ids if n not in ids]
        self.missing = tuple(missing)
        whole = self.whole | {_test_function(n) for n in missing}
        self.widened = tuple(sorted(whole))
        wanted = set(self.node_ids)
        items[:] = [
            item
            for item in items
            if item.nodeid in wanted or _test_function(item.nodeid) in whole  # type: ignore[attr-defined]
        ]


def _lost_to_collection(missing: tuple[str, ...], uncollected: dict[str, str]) -> str | None:
    """The collector (a file, a class) that could not be collected and held one of the
    selected tests pytest did not collect, if any: those tests were lost, not moved."""
    for node_id in missing:
        for collector in uncollected:
            if node_id.startswith(collector + "::") or node_id.split("::")[0] == collector:
                return collector
    return None


def _test_function(node_id: str) -> str:
    """`tests/t.py::TestX::test_y` for `tests/t.py::TestX::test_y[param-1]`."""
    return node_id.split("[", 1)[0]


def _make_plugin(
    recorder: _Recorder,
    tracer: _Tracer | None = None,
    selected: _Selected | None = None,
) -> object:
    """The plugin; with `tracer`, it notes the code each test enters (only while tests run:
    tracing pytest's own start-up and collection would cost seconds). It also neutralises
    the parts of the user's pytest configuration that would hide the tests from it. With
    `selected` (a run, not the index) the first failing test stops the session: pytest's
    own `-x` would also stop at a collection error elsewhere in a selected test's file
    (Markdown 3.7's `TestSuite` class, which pytest cannot collect and the project's
    warnings filter turns into an error), and no selected test would run."""
    import pytest

    sessions: list[object] = []

    class Plugin:
        def pytest_sessionstart(self, session: object) -> None:
            sessions.append(session)

        @pytest.hookimpl(wrapper=True, tryfirst=True)
        def pytest_load_initial_conftests(
            self, early_config: pytest.Config, parser: object, args: list[str]
        ) -> object:
            _override_user_options(early_config, args)
            return (yield)

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item: object, nextitem: object) -> object:
            recorder.current = item.nodeid  # type: ignore[attr-defined]
            if tracer is not None:
                tracer.start()
            started = time.perf_counter()
            try:
                yield
            finally:
                if tracer is not None:
                    recorder.entered[item.nodeid] = tracer.stop()  # type: ignore[attr-defined]
                recorder.durations[item.nodeid] = time.perf_counter() - started  # type: ignore[attr-defined]
                recorder.current = None

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_call(self, item: object) -> object:
            if recorder.test_seconds is None:
                yield
                return
            with time_limit(recorder.test_seconds) as clock:
                yield
            if clock.overran:
                recorder.overran.append(item.nodeid)  # type: ignore[attr-defined]

        def pytest_collection_modifyitems(self, items: list[object]) -> None:
            recorder.pytest_collection_modifyitems(items)
            if selected is not None:
                selected.keep(items)

        def pytest_collectreport(self, report: object) -> None:
            recorder.pytest_collectreport(report)

        def pytest_runtest_logreport(self, report: object) -> None:
            recorder.pytest_runtest_logreport(report)
            if selected is not None and report.failed and sessions:  # type: ignore[attr-defined]
                sessions[0].shouldstop = "perfloop: the first failing test decides"  # type: ignore[attr-defined]

    return Plugin()


def _override_user_options(early_config: object, args: list[str]) -> None:
    """Options appended after the user's addopts, so they win: tests run in this process
    (pytest-xdist's `-n` would run them where no tracer sees them), without pytest-cov's
    tracer (it would replace ours), and past failures (`-x` in addopts would index only
    the tests before the first failure, and stop a run at a collection error; a run stops
    at its first failing test through perfloop's plugin). An option is added only when
    the plugin that defines it is loaded, so a project without xdist still parses."""
    known = early_config.known_args_namespace  # type: ignore[attr-defined]
    if hasattr(known, "numprocesses"):
        args += ["-n", "0"]
    else:
        _drop_options(args, _XDIST_OPTIONS)
    if hasattr(known, "no_cov"):
        args.append("--no-cov")
        known.no_cov = True  # pytest-cov decides from the early namespace, before the parse
    else:
        _drop_options(args, _COV_OPTIONS)
    args.append("--maxfail=0")


# Options of the plugins the tests tier turns off anyway: {option: takes a value}; None
# for pytest-cov's `--cov`, whose value is optional. Where the plugin is not installed,
# the user's addopts naming them would make pytest stop with a usage error (wcwidth
# 0.2.14's tox.ini: `addopts = ... --cov-append --cov-report=html --cov=wcwidth`).
_COV_OPTIONS: dict[str, bool | None] = {
    "--cov": None,
    "--cov-report": True,
    "--cov-config": True,
    "--cov-fail-under": True,
    "--cov-context": True,
    "--cov-precision": True,
    "--cov-append": False,
    "--cov-branch": False,
    "--cov-reset": False,
    "--no-cov": False,
    "--no-cov-on-fail": False,
}
_XDIST_OPTIONS: dict[str, bool | None] = {
    "-n": True,
    "--numprocesses": True,
    "--maxprocesses": True,
    "--max-worker-restart": True,
    "--dist": True,
    "--tx": True,
}


def _drop_options(args: list[str], options: dict[str, bool | None]) -> None:
    """Remove `options` (and their values) from `args` in place."""
    kept: list[str] = []
    position = 0
    while position < len(args):
        arg = args[position]
        position += 1
        name = arg.split("=", 1)[0]
        short = name[:2] if not name.startswith("--") and len(name) > 2 else None
        if name in options and "=" not in arg:
            takes = options[name]
            value_next = position < len(args) and not args[position].startswith("-")
            if takes or (takes is None and value_next):  # as argparse reads `--cov src`
                position += 1
            continue
        if name in options or (short is not None and options.get(short)):  # --cov=x, -n4
            continue
        kept.append(arg)
    args[:] = kept


class _Tracer:
    """Notes the project's functions entered between start() and stop()."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> set[CodeKey]:
        raise NotImplementedError


class _MonitorStarts(_Tracer):
    """Python 3.12+: `sys.monitoring` PY_START events; each code object's event is disabled
    after its first hit and re-armed for the next test, so a test pays once per function
    it enters, not once per call."""

    def __init__(self, root: str) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        free = [i for i in range(5, -1, -1) if monitoring.get_tool(i) is None]
        if not free:
            raise RuntimeError("every sys.monitoring tool id is taken")
        self.tool = free[0]
        monitoring.use_tool_id(self.tool, "perfloop")
        monitoring.register_callback(self.tool, monitoring.events.PY_START, self._entered)
        self.entered: set[object] = set()
        self.project = _ProjectCode(root)

    def _entered(self, code: object, offset: int) -> object:
        self.entered.add(code)
        return sys.monitoring.DISABLE  # type: ignore[attr-defined]

    def start(self) -> None:
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        self.entered = set()
        monitoring.restart_events()
        monitoring.set_events(self.tool, monitoring.events.PY_START)

    def stop(self) -> set[CodeKey]:
        sys.monitoring.set_events(self.tool, 0)  # type: ignore[attr-defined]
        keys = {self.project.key(code) for code in self.entered}
        return {key for key in keys if key is not None}


class _MarkEntries(_Tracer):
    """Before 3.12: entry marks compiled into the project's functions (see entry_marks for
    why not a trace function)."""

    def __init__(self, root: str) -> None:
        self.marks = EntryMarks(lambda path: _project_path(path, root) is not None)
        self.marks.install()

    def start(self) -> None:
        self.marks.take()

    def stop(self) -> set[CodeKey]:
        return self.marks.take()


def _tracer(root: str) -> _Tracer:
    return _MonitorStarts(root) if sys.version_info >= (3, 12) else _MarkEntries(root)


def tracing_mechanism() -> str:
    """How this Python notes the functions each test enters (for reports and benchmarks)."""
    return "sys.monitoring" if sys.version_info >= (3, 12) else "entry marks"


class _ProjectCode:
    """Which code objects belong to the project, decided once per file and per code."""

    def __init__(self, root: str) -> None:
        self.root = root
        self.files: dict[str, str | None] = {}
        self.codes: dict[object, CodeKey | None] = {}

    def key(self, code: object) -> CodeKey | None:
        if code not in self.codes:
            filename = code.co_filename  # type: ignore[attr-defined]
            if filename not in self.files:
                self.files[filename] = _project_path(filename, self.root)
            path = self.files[filename]
            self.codes[code] = (
                None if path is None else (path, code.co_name, code.co_firstlineno)  # type: ignore[attr-defined]
            )
        return self.codes[code]


def _project_path(filename: str, root: str) -> str | None:
    if filename.startswith("<"):  # <frozen os>, <string>: no file, even if cwd is the root
        return None
    path = os.path.realpath(filename)
    if not path.startswith(root + os.sep):
        return None
    if f"{os.sep}site-packages{os.sep}" in path or f"{os.sep}.venv{os.sep}" in path:
        return None
    return path


def _interrupts_as_in_a_terminal() -> None:
    """Let the project's tests see SIGINT as KeyboardInterrupt, as in a terminal, also when
    perfloop was started where SIGINT is ignored (nohup, a background job of a
    non-interactive shell, some CI runners): Python then installs no handler, and every
    child inherits the ignore. ecdsa 0.19.0's `test_multithreading_with_interrupts`
    interrupts its own main thread and waits for the KeyboardInterrupt; ignored, it waited
    until the index's clock stopped it, and judged nothing."""
    try:
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: leave it as it is
        pass


def index_worker(task: _IndexTask) -> TestIndex:
    """Worker entry: run the whole suite noting the code each test enters; build the index."""
    _interrupts_as_in_a_terminal()
    if task.runner == "unittest":
        return _index_by_unittest(task)
    started = time.perf_counter()
    projects_pytest = prefer_project_pytest()
    try:
        import pytest
    except ImportError:
        return TestIndex(
            problem="pytest is not installed where perfloop runs (perfloop depends on it: "
            "reinstall perfloop, or pip install pytest); tier skipped",
            has_tests=_has_test_files(Path(task.root)),
        )
    root = os.path.realpath(task.root)
    os.chdir(root)
    recorder = _Recorder()
    recorder.test_seconds = task.test_seconds
    # a test file that cannot be imported (packaging 26.2's test_manylinux.py needs
    # `pretend`) covers nothing, and the others still judge: the note names it
    code = pytest.main(
        [*PYTEST_ARGS, "--continue-on-collection-errors"],
        plugins=[_make_plugin(recorder, _tracer(root))],
    )
    seconds = time.perf_counter() - started
    if int(code) in _EXIT_CODES:
        problem = (
            f"pytest could not run the project's tests (exit code {int(code)}: "
            f"{_EXIT_CODES[int(code)]}); run `python -m pytest` in {root} to see why"
        )
        return TestIndex(seconds=seconds, problem=problem)
    if recorder.collected == 0 and recorder.uncollected:
        return TestIndex(seconds=seconds, problem=_uncollected(recorder, none_collected=True))
    if int(code) == 5 or recorder.collected == 0:
        return TestIndex(
            seconds=seconds, problem="the project has no tests (pytest found none)", has_tests=False
        )
    index = replace(_index_from(recorder, seconds, "pytest"), load_tests=_load_tests_files(root))
    if projects_pytest is None:
        return index
    said = f"the project's own pytest {pytest.__version__} ran its tests (from its venv)"
    return replace(index, note="; ".join(filter(None, (said, index.note))))


def _load_tests_files(root: str) -> tuple[str, ...]:
    """The test modules imported from the project (as unittest discovery would find them,
    test*.py) that define `load_tests`: unittest builds their tests by calling it, pytest
    collects only the TestCase classes it finds in them, as they are."""
    found = []
    for module in list(sys.modules.values()):
        if not isinstance(module, types.ModuleType):  # what some libraries put there
            continue
        namespace = vars(module)  # not getattr: a module's __getattr__ may do anything
        filename = namespace.get("__file__")
        if not isinstance(filename, str) or not os.path.basename(filename).startswith("test"):
            continue
        path = _project_path(filename, root)
        if path is not None and callable(namespace.get("load_tests")):
            found.append(os.path.relpath(path, root))
    return tuple(sorted(found))


def _index_by_unittest(task: _IndexTask) -> TestIndex:
    started = time.perf_counter()
    root = os.path.realpath(task.root)
    os.chdir(root)
    tracer = _tracer(root)  # before discovery imports the tests: entry marks hook imports
    suite = unittest_suite.discover(root)
    if not suite.countTestCases():
        return TestIndex(
            seconds=time.perf_counter() - started,
            problem="the project has no tests (unittest discovery found none)",
            has_tests=False,
            runner="unittest",
        )
    recorder = _Recorder()
    recorder.test_seconds = task.test_seconds
    unittest_suite.run(suite, recorder, tracer)
    return _index_from(recorder, time.perf_counter() - started, "unittest")


def _index_from(recorder: _Recorder, seconds: float, runner: str) -> TestIndex:
    """The index from a whole run of the suite: each passing test's functions."""
    passing = recorder.passed - set(recorder.failed)
    if not passing:
        problem = (
            f"none of the project's {recorder.collected} tests passes with the original code "
            f"(run `{RUNNER_COMMANDS[runner]}` in the project to see why)"
        )
        return TestIndex(
            seconds=seconds, problem=problem, failing=len(recorder.failed), runner=runner
        )
    covering: dict[CodeKey, list[str]] = {}
    for test, keys in recorder.entered.items():
        if test in passing:
            for key in keys:
                covering.setdefault(key, []).append(test)
    return TestIndex(
        covering=tuple((key, tuple(tests)) for key, tests in covering.items()),
        durations=tuple(recorder.durations.items()),
        collected=recorder.collected,
        failing=len(recorder.failed),
        seconds=seconds,
        runner=runner,
        note="; ".join(filter(None, (_uncollected(recorder), _overran(recorder)))) or None,
        uncollected=len(recorder.uncollected),
    )


def _uncollected(recorder: _Recorder, none_collected: bool = False) -> str:
    """'' when pytest collected everything; else what it could not collect, and why."""
    if not recorder.uncollected:
        return ""
    what = _uncollected_names(recorder.uncollected)
    if none_collected:
        return f"pytest could not collect any test: {what}"
    return (
        f"pytest could not collect {what}, so those tests judged nothing and the others did "
        "(install what they need to let them judge too)"
    )


def _overran(recorder: _Recorder) -> str:
    """'' when every test ended in time; else which ones the index's clock stopped."""
    if not recorder.overran:
        return ""
    first, *others = recorder.overran
    what = f"{first} and {len(others)} more test{'s' * (len(others) > 1)}" if others else first
    if others:
        were, it, them, waits = "were", "they", "them", "wait"
    else:
        were, it, them, waits = "was", "it", "it", "waits"
    return (
        f"{what} ran over {recorder.test_seconds:g} s and {were} stopped, so {it} judged "
        f"nothing and the other tests did (run {them} alone to see where {it} {waits})"
    )


def _uncollected_names(uncollected: dict[str, str]) -> str:
    (first, why), *others = uncollected.items()
    return f"{first} ({why})" + (f" and {len(others)} more" if others else "")


def _has_test_files(root: Path) -> bool:
    """Whether any test_*.py or *_test.py lies in the project (outside hidden folders and
    virtual environments): the project has tests even where pytest cannot run them."""
    for _folder, subfolders, files in os.walk(root):
        subfolders[:] = [
            d
            for d in subfolders
            if not d.startswith(".") and d not in {"site-packages", "node_modules", "venv"}
        ]
        if any(
            f.endswith(".py") and (f.startswith("test_") or f.endswith("_test.py")) for f in files
        ):
            return True
    return False


def run_worker(task: _RunTask) -> _RunReport:
    """Worker entry: run the given tests with `task.source` served for the module."""
    _interrupts_as_in_a_terminal()
    if task.runner == "unittest":
        return _run_by_unittest(task)
    prefer_project_pytest()
    try:
        import pytest
    except ImportError:
        return _RunReport(
            0, None, problem="pytest is not installed where perfloop runs; pip install pytest"
        )
    from perfloop.runtime.loader import import_hook

    if task.source is not None:
        import_hook().override(task.module, task.path, task.source)
    os.chdir(task.root)
    recorder = _Recorder()
    selected = _Selected(task.node_ids, task.whole_functions)
    files = _Selected.files(task.node_ids, task.whole_functions)
    pytest.main(
        [*PYTEST_ARGS, "--continue-on-collection-errors", *files],
        plugins=[_make_plugin(recorder, selected=selected)],
    )
    ran = len(recorder.durations)
    widened = selected.widened
    lost = _lost_to_collection(selected.missing, recorder.uncollected)
    if lost is not None:  # they passed with the original, so they were collected then
        return _RunReport(ran, lost, recorder.uncollected[lost], widened=widened)
    if recorder.failed:
        first = recorder.failed[0]
        return _RunReport(ran, first, recorder.messages.get(first, ""), widened=widened)
    if ran == 0:
        return _RunReport(0, None, problem="pytest ran none of the selected tests")
    return _RunReport(ran, None, widened=widened)


def _run_by_unittest(task: _RunTask) -> _RunReport:
    from perfloop.runtime.loader import import_hook

    if task.source is not None:
        import_hook().override(task.module, task.path, task.source)
    os.chdir(task.root)
    recorder = _Recorder()
    suite = unittest_suite.select(task.root, task.node_ids)
    unittest_suite.run(suite, recorder, failfast=True)
    if recorder.failed:
        first = recorder.failed[0]
        return _RunReport(len(recorder.durations), first, recorder.messages.get(first, ""))
    if not recorder.durations:
        return _RunReport(0, None, problem="unittest ran none of the selected tests")
    return _RunReport(len(recorder.durations), None)
