"""A test that never ends costs the index one test, not the whole suite.

Modelled on ecdsa 0.19.0's `test_jacobi.py::TestJacobi::test_multithreading_with_interrupts`:
the main thread waits on a lock that another thread releases only after it has done
something. There the thread interrupts the main thread with `os.kill(os.getpid(), SIGINT)`
(which the sandbox now allows: a process signalling itself reaches no one); a thread
whose action the sandbox refuses (here, a network socket) never releases it, and the
index "did not finish within 600 s and was killed", leaving every candidate judged
without the project's tests. Now that test is stopped after the per-test limit and the
others still index, under pytest and under unittest alike.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from perfloop.model import FunctionRef, Limits
from perfloop.verification.project_tests import index_tests, select_tests

LIB = """
def double(x):
    return 2 * x
"""

TESTS = """
import os
import signal
import socket
import threading
import unittest

import lib


class TestLib(unittest.TestCase):
    def test_double(self):
        self.assertEqual(lib.double(2), 4)

    def test_interrupts_itself(self):
        # ecdsa's shape: a thread interrupts the main thread, then lets it go on
        release = threading.Lock()
        release.acquire()

        def interrupter():
            os.kill(os.getpid(), signal.SIGINT)
            release.release()

        thread = threading.Thread(target=interrupter)
        with self.assertRaises(KeyboardInterrupt):
            thread.start()
            release.acquire()
            release.acquire()  # the interrupt arrives while it waits here at the latest
        thread.join()
        self.assertEqual(lib.double(3), 6)

    def test_waits_forever(self):
        # a thread that cannot do what it meant to never releases the lock
        release = threading.Lock()
        release.acquire()

        def connect_then_release():
            socket.socket(socket.AF_INET, socket.SOCK_STREAM).close()
            release.release()

        threading.Thread(target=connect_then_release, daemon=True).start()
        release.acquire()
        self.assertEqual(lib.double(1), 2)
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "lib.py").write_text(LIB)
    (tmp_path / "test_lib.py").write_text(TESTS)
    return tmp_path


@pytest.mark.parametrize("runner", ["pytest", "unittest"])
def test_a_test_that_never_ends_is_stopped_and_the_others_index(project: Path, runner: str) -> None:
    started = time.perf_counter()
    # perfloop started where Ctrl-C is ignored (nohup, a background job of a script): the
    # workers inherit the ignore, and test_interrupts_itself waited for a KeyboardInterrupt
    # that never came, until the clock stopped it too
    ignored = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        index = index_tests(project, Limits(wall_seconds=120, cpu_seconds=120), runner, 3.0)
    finally:
        signal.signal(signal.SIGINT, ignored)
    took = time.perf_counter() - started

    assert index.problem is None, index.problem
    assert took < 60, f"the index waited for the test that never ends ({took:.0f} s)"
    assert index.collected == 3
    assert index.failing == 1  # the stopped test judges nothing
    assert index.note is not None and "test_waits_forever" in index.note
    assert "ran over 3 s and was stopped, so it judged nothing" in index.note
    assert "(run it alone to see where it waits)" in index.note
    selection = select_tests(index, project, FunctionRef("lib", "double"), "lib.py", LIB)
    chosen = " ".join(selection.node_ids)
    assert "test_double" in chosen and "test_interrupts_itself" in chosen
    assert "test_waits_forever" not in chosen


def test_the_note_on_several_stopped_tests_reads_in_the_plural() -> None:
    # seen when two tests overran on a loaded machine: "run they alone to see where they waits"
    from perfloop.verification.project_tests import _overran, _Recorder

    recorder = _Recorder()
    recorder.test_seconds = 3.0
    recorder.overran = ["test_lib.py::test_a", "test_lib.py::test_b"]
    assert _overran(recorder) == (
        "test_lib.py::test_a and 1 more test ran over 3 s and were stopped, so they judged "
        "nothing and the other tests did (run them alone to see where they wait)"
    )
