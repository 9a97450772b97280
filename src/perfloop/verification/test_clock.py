"""A time limit on each of the project's tests while the suite is indexed.

The index runs the whole suite once in one sandboxed worker. One test that never ends
used to cost the whole index: ecdsa 0.19.0's `test_multithreading_with_interrupts`
waits on a lock that a thread releases only after `os.kill`, and a thread that cannot
do what it meant to do (a sandbox refusal, a missing service) leaves the main thread
waiting for good; the worker "did not finish within 600 s and was killed", and every
candidate was judged without the project's tests. With this clock such a test fails
after `INDEX_TEST_SECONDS` with `TestOverran`, judges nothing (as a failing test), and
the others still index; the index's note names it.

The clock is `perfloop.runtime.alarm`'s, in the main thread, where pytest and unittest
run tests. A test that installs its own SIGALRM handler replaces the clock for itself;
its handler is put back afterwards.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from perfloop.runtime.alarm import Clock, raising_after

INDEX_TEST_SECONDS = 60.0


class TestOverran(Exception):
    """Raised inside a test that ran over its time limit (an Exception, so the test runner
    reports the test as failed and goes on to the next)."""

    __test__ = False  # not a test class, whatever pytest's collection thinks of the name


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[Clock]:
    """Raise TestOverran in the code running inside after `seconds` of wall time.
    Outside the main thread (no signals there) it does nothing."""

    def overran() -> TestOverran:
        return TestOverran(
            f"the test ran over {seconds:g} s while perfloop indexed the suite and was stopped "
            "(run it alone with pytest to see where it waits)"
        )

    with raising_after(seconds, overran) as clock:
        yield clock


__all__ = ["INDEX_TEST_SECONDS", "Clock", "TestOverran", "time_limit"]
