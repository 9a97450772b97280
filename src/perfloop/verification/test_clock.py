"""A time limit on each of the project's tests while the suite is indexed.

The index runs the whole suite once in one sandboxed worker. One test that never ends
used to cost the whole index: ecdsa 0.19.0's `test_multithreading_with_interrupts`
waits on a lock that a thread releases only after `os.kill`, and a thread that cannot
do what it meant to do (a sandbox refusal, a missing service) leaves the main thread
waiting for good; the worker "did not finish within 600 s and was killed", and every
candidate was judged without the project's tests. With this clock such a test fails
after `INDEX_TEST_SECONDS` with `TestOverran`, judges nothing (as a failing test), and
the others still index; the index's note names it.

A real-time interval timer (SIGALRM) in the main thread, where pytest and unittest run
tests: Python runs the handler between bytecodes and also interrupts a blocking lock
acquire, `time.sleep` or a socket wait. A test that installs its own SIGALRM handler
replaces the clock for itself; its handler is put back afterwards.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator

INDEX_TEST_SECONDS = 60.0


class TestOverran(Exception):
    """Raised inside a test that ran over its time limit (an Exception, so the test runner
    reports the test as failed and goes on to the next)."""

    __test__ = False  # not a test class, whatever pytest's collection thinks of the name


class Clock:
    """What one `time_limit` saw: whether it stopped the code inside."""

    def __init__(self) -> None:
        self.overran = False


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[Clock]:
    """Raise TestOverran in the code running inside after `seconds` of wall time.
    Outside the main thread (no signals there) it does nothing."""
    clock = Clock()
    if threading.current_thread() is not threading.main_thread():
        yield clock
        return

    def overran(_signum: int, _frame: object) -> None:
        clock.overran = True
        raise TestOverran(
            f"the test ran over {seconds:g} s while perfloop indexed the suite and was stopped "
            "(run it alone with pytest to see where it waits)"
        )

    previous = signal.signal(signal.SIGALRM, overran)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield clock
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


__all__ = ["INDEX_TEST_SECONDS", "Clock", "TestOverran", "time_limit"]
