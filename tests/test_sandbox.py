"""The sandbox contains what candidate code does and reports it; the caller goes on."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from perfloop.model import Limits
from perfloop.sandbox import WorkerStatus, run_in_worker

HELPERS = """
import ctypes, os, subprocess, sys, time

def echo(value):
    return value

def hang(_):
    while True:
        pass

def sleep_with_child(marker):
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(marker, "w") as handle:
        handle.write(str(child.pid))
    time.sleep(60)

def hog(_):
    blocks = []
    while True:
        blocks.append(bytearray(50 * 1024 * 1024))

def hard_exit(_):
    os._exit(0)

def segfault(_):
    ctypes.string_at(0)

def environment(_):
    return dict(os.environ)

def cwd(_):
    return os.getcwd()

def raises(_):
    raise ValueError("bad input")
"""


@pytest.fixture
def root(make_project) -> Path:
    return make_project({"helpers.py": HELPERS})


def run(root: Path, name: str, argument: object = None, **limits: float) -> object:
    return run_in_worker(f"helpers:{name}", argument, root=root, limits=Limits(**limits))


def test_a_worker_returns_its_value(root: Path) -> None:
    outcome = run(root, "echo", {"a": [1, 2]})
    assert outcome.status is WorkerStatus.OK
    assert outcome.value == {"a": [1, 2]}


def test_a_hanging_worker_is_killed_at_the_wall_clock_limit(root: Path) -> None:
    started = time.monotonic()
    outcome = run(root, "hang", wall_seconds=1.5)
    assert outcome.status is WorkerStatus.TIMEOUT
    assert "1.5 s" in outcome.message
    assert time.monotonic() - started < 10


def test_a_timeout_kills_grandchildren_too(root: Path, tmp_path: Path) -> None:
    marker = tmp_path / "child.pid"
    outcome = run(root, "sleep_with_child", str(marker), wall_seconds=2)
    assert outcome.status is WorkerStatus.TIMEOUT
    child = int(marker.read_text())
    for _ in range(50):
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the grandchild process survived the timeout")


def test_memory_exhaustion_is_reported_as_such(root: Path) -> None:
    outcome = run(root, "hog", memory_mb=400, wall_seconds=30)
    assert outcome.status is WorkerStatus.MEMORY
    assert "400 MB" in outcome.message


def test_os_exit_without_a_result_is_a_crash(root: Path) -> None:
    outcome = run(root, "hard_exit")
    assert outcome.status is WorkerStatus.CRASHED
    assert "os._exit" in outcome.message


def test_a_segfault_is_a_crash_with_the_signal_named(root: Path) -> None:
    outcome = run(root, "segfault")
    assert outcome.status is WorkerStatus.CRASHED
    assert "SIGSEGV" in outcome.message


def test_an_exception_is_an_error_with_its_traceback(root: Path) -> None:
    outcome = run(root, "raises")
    assert outcome.status is WorkerStatus.ERROR
    assert "ValueError: bad input" in outcome.message


def test_secrets_do_not_reach_the_worker(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    monkeypatch.setenv("HARMLESS_SETTING", "1")
    outcome = run(root, "environment")
    assert "OPENAI_API_KEY" not in outcome.value
    assert outcome.value["HARMLESS_SETTING"] == "1"


def test_the_worker_runs_outside_the_project(root: Path) -> None:
    outcome = run(root, "cwd")
    assert not Path(outcome.value).resolve().is_relative_to(root.resolve())
