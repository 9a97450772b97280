"""A wall-clock limit on code running in the main thread: SIGALRM raises inside it.

Python runs the handler between bytecodes and also interrupts a blocking lock acquire,
`time.sleep` or a socket wait. Outside the main thread (no signals there) the limit does
nothing. A handler the code inside installs replaces the limit for itself; the one before
is put back afterwards. Used where code of the user's may never end: the project's tests
while they are indexed (`perfloop.verification.test_clock`), and the timing's trial runs
on shallow copies of recorded inputs (`perfloop.measure.timing`).
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator


class Clock:
    """What one `raising_after` saw: whether it stopped the code inside."""

    def __init__(self) -> None:
        self.overran = False


@contextlib.contextmanager
def raising_after(seconds: float, overran: Callable[[], BaseException]) -> Iterator[Clock]:
    """Raise `overran()` in the code running inside after `seconds` of wall time."""
    clock = Clock()
    if threading.current_thread() is not threading.main_thread():
        yield clock
        return

    def ring(_signum: int, _frame: object) -> None:
        clock.overran = True
        raise overran()

    previous = signal.signal(signal.SIGALRM, ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield clock
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
