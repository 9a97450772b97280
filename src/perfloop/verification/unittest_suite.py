"""The project's tests run by unittest, the way `python -m unittest discover` runs them.

Many projects run their suite with unittest alone, and some of those suites cannot be
collected by pytest at all: Python-Markdown 3.7's `tests/test_legacy.py` turns every
warning into an error when it is imported, so pytest's own collection warning about a
helper class stops the whole run (exit code 2), while `python -m unittest discover`
runs its 970 tests in under a second. For such projects the tests tier runs the suite
here, in the worker, with the same recorder and the same tracer as under pytest.

What is reproduced from `python -m unittest discover`: discovery from the project root
(or, where that finds nothing, from its tests/ or test/ folder), the warnings filter
that unittest's runner sets while the tests run ("default" unless the interpreter was
given -W options), and class and module fixtures (the suite runs as one suite, so
setUpClass and setUpModule run as they do there). Output of the tests is buffered per
test (`-b`), so a test that prints cannot flood the worker's output.

A test id is unittest's (`tests.test_apis.TestBlockParser.testParseChunk`); the tests a
candidate runs are picked by id from a fresh discovery of the whole suite.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
import traceback
import unittest
import warnings
from collections.abc import Iterator
from types import TracebackType
from typing import TYPE_CHECKING

from perfloop.verification.test_clock import Clock, time_limit

if TYPE_CHECKING:
    from perfloop.verification.project_tests import _Recorder, _Tracer

_ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]


def discover(root: str) -> unittest.TestSuite:
    """The suite `python -m unittest discover` finds in `root`. Where discovery from the
    root finds nothing (a tests folder without `__init__.py` is not entered from above),
    tests/ and then test/ are tried, as `python -m unittest discover tests` would."""
    suite = unittest.TestLoader().discover(root, top_level_dir=root)
    if suite.countTestCases():
        return suite
    for name in ("tests", "test"):
        folder = os.path.join(root, name)
        if os.path.isdir(folder):
            package = os.path.exists(os.path.join(folder, "__init__.py"))
            top_level = root if package else folder
            found = unittest.TestLoader().discover(folder, top_level_dir=top_level)
            if found.countTestCases():
                return found
    return suite


def select(root: str, test_ids: tuple[str, ...]) -> unittest.TestSuite:
    """The tests with these ids, in discovery order, from a discovery of the whole suite:
    every test module is imported as in the full run, because tests may lean on what
    other test modules import (Python-Markdown 3.7's fenced-code tests use
    `markdown.extensions.fenced_code` without importing it, and fail when run alone)."""
    wanted = set(test_ids)
    return unittest.TestSuite(test for test in _cases(discover(root)) if test.id() in wanted)


def _cases(suite: unittest.TestSuite) -> Iterator[unittest.TestCase]:
    for test in suite:
        if isinstance(test, unittest.TestSuite):
            yield from _cases(test)
        else:
            yield test


def run(
    suite: unittest.TestSuite,
    recorder: _Recorder,
    tracer: _Tracer | None = None,
    failfast: bool = False,
) -> None:
    """Run `suite` as unittest's runner does, noting in `recorder` each test's outcome,
    duration and (with `tracer`) the project's functions it entered."""
    recorder.collected = suite.countTestCases()
    result = _Outcomes(recorder, tracer)
    result.failfast = failfast
    result.buffer = True
    with warnings.catch_warnings():
        if not sys.warnoptions:
            warnings.simplefilter("default")  # what unittest's TextTestRunner does
        suite.run(result)


class _Outcomes(unittest.TestResult):
    """A TestResult that writes into perfloop's recorder. A test passed when it ran
    without an error, a failure (of the test or of one of its subtests) or an unexpected
    success; a skipped test did not pass (it judged nothing)."""

    def __init__(self, recorder: _Recorder, tracer: _Tracer | None) -> None:
        super().__init__()
        self.recorder = recorder
        self.tracer = tracer
        self.started = 0.0
        self.skipped_now = False
        self.clock: Clock | None = None  # while indexing: test_clock
        self.clock_stack = contextlib.ExitStack()

    def startTest(self, test: unittest.TestCase) -> None:
        super().startTest(test)
        self.recorder.current = test.id()
        self.skipped_now = False
        if self.recorder.test_seconds is not None:
            self.clock = self.clock_stack.enter_context(time_limit(self.recorder.test_seconds))
        if self.tracer is not None:
            self.tracer.start()
        self.started = time.perf_counter()

    def stopTest(self, test: unittest.TestCase) -> None:
        test_id = test.id()
        recorder = self.recorder
        recorder.durations[test_id] = time.perf_counter() - self.started
        if self.tracer is not None:
            recorder.entered[test_id] = self.tracer.stop()
        self.clock_stack.close()
        if self.clock is not None and self.clock.overran:
            recorder.overran.append(test_id)
        self.clock = None
        if test_id not in recorder.failed and not self.skipped_now:
            recorder.passed.add(test_id)
        recorder.current = None
        super().stopTest(test)

    def addError(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        super().addError(test, err)
        self._failed(test, _exception_line(err))

    def addFailure(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        super().addFailure(test, err)
        self._failed(test, _exception_line(err))

    def addSubTest(
        self, test: unittest.TestCase, subtest: unittest.TestCase, err: _ExcInfo | None
    ) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._failed(test, f"{subtest.id()}: {_exception_line(err)}")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._failed(test, "passed although marked as an expected failure")

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self.skipped_now = True

    def _failed(self, test: unittest.TestCase, message: str) -> None:
        # a class or module fixture that fails arrives as an _ErrorHolder: its id names it
        test_id = test.id()
        if test_id not in self.recorder.failed:
            self.recorder.failed.append(test_id)
            self.recorder.messages[test_id] = message[:400]


def _exception_line(err: _ExcInfo) -> str:
    lines = traceback.format_exception_only(err[0], err[1])
    return " / ".join(line.strip() for line in lines if line.strip())
