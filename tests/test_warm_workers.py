"""Warm workers (perfloop.sandbox.warm): a task that may run warm runs in a fork of a
process that imported the project once; no state of one task reaches the next; the
boundary, the limits and the tripwire hold in the fork as in a fresh worker; a changed
project file, a dead warm worker or `warm=False` fall back to what a fresh worker does."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfloop.model import Limits
from perfloop.sandbox import warm
from perfloop.sandbox.pool import side_by_side
from perfloop.sandbox.runner import (
    WorkersStopped,
    WorkerStatus,
    configure_workers,
    run_in_worker,
    stopping_workers,
    worker_count,
)

PROBE = """
import functools
import os
import sys
import time

IMPORTED_IN = os.getpid()
HYPOTHESIS_AT_IMPORT = "hypothesis" in sys.modules
SEEN = []


class Table:
    size = 1


@functools.lru_cache(maxsize=None)
def cached(x):
    return (x, os.getpid())


def state(_):
    # what a task sees of the state the one before it may have changed, then changes it
    seen = (len(SEEN), Table.size, cached.cache_info().currsize, "EXTRA" in globals())
    SEEN.append(1)
    Table.size += 1
    cached(1)
    globals()["EXTRA"] = True
    return {"imported_in": IMPORTED_IN, "task": os.getpid(), "seen": seen, "cwd": os.getcwd()}


def version(_):
    return ("v1", IMPORTED_IN)


def imports(_):
    return (HYPOTHESIS_AT_IMPORT, "hypothesis" in sys.modules, IMPORTED_IN, os.getpid())


def hang(_):
    while True:
        time.sleep(0.01)


def write_outside(path):
    with open(path, "w") as out:
        out.write("escaped")
    return "wrote"


def signal_parent(_):
    os.kill(os.getppid(), 9)
    return "sent"
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=60, memory_mb=2048)
WARM = ("probe",)


@pytest.fixture
def root(make_project) -> Path:
    return make_project({"probe.py": PROBE})


@pytest.fixture(autouse=True)
def own_warm_workers() -> Iterator[None]:
    """Each test starts without idle warm workers and leaves none behind."""
    before = worker_count()
    warm.POOL.close()
    configure_workers(before, warm=True)
    yield
    configure_workers(before, warm=True)
    warm.POOL.close()


def call(root: Path, entry: str, argument: object = None, limits: Limits = LIMITS):
    return run_in_worker(f"probe:{entry}", argument, root=root, limits=limits, warm=WARM)


def test_tasks_run_in_forks_of_one_process_that_imported_the_project_and_share_no_state(
    root: Path,
) -> None:
    first, second = call(root, "state"), call(root, "state")
    assert first.ok and second.ok, (first.message, second.message)
    # both forks of the process that imported the module once, neither of them that process
    assert first.value["imported_in"] == second.value["imported_in"]
    assert first.value["imported_in"] not in (first.value["task"], second.value["task"])
    assert first.value["task"] != second.value["task"]
    # the module global, the class attribute, the cache and the new global the first
    # task set are not there for the second
    assert first.value["seen"] == second.value["seen"] == (0, 1, 0, False)
    # each in its own scratch folder, as a fresh worker is
    assert first.value["cwd"] != second.value["cwd"]
    assert Path(first.value["cwd"]).name == "cwd"


def test_the_project_is_imported_before_hypothesis_as_in_a_fresh_fuzzing_worker(
    root: Path,
) -> None:
    at_import, now, imported_in, task = call(root, "imports").value
    assert imported_in != task  # a warm run
    assert (at_import, now) == (False, True)


def test_a_module_that_does_not_import_in_a_warm_worker_runs_fresh(make_project) -> None:
    picky = "import os\nassert 'perfloop-warm' not in os.getcwd()\n" + PROBE
    root = make_project({"probe.py": picky})
    outcome = call(root, "state")
    assert outcome.ok, outcome.message
    assert outcome.value["imported_in"] == outcome.value["task"]  # imported by a fresh worker


def test_a_module_that_starts_a_thread_at_import_runs_fresh(make_project) -> None:
    # forking a process with another thread running could copy a lock that thread holds
    threaded = (
        "import threading, time\n"
        "threading.Thread(target=time.sleep, args=(60,), daemon=True).start()\n"
    )
    root = make_project({"probe.py": threaded + PROBE})
    for _ in range(2):
        outcome = call(root, "state")
        assert outcome.ok, outcome.message
        assert outcome.value["imported_in"] == outcome.value["task"]


def test_without_warm_workers_every_task_imports_the_project_itself(root: Path) -> None:
    configure_workers(worker_count(), warm=False)
    outcome = call(root, "state")
    assert outcome.ok, outcome.message
    assert outcome.value["imported_in"] == outcome.value["task"]


def test_a_task_that_hangs_is_killed_and_the_warm_worker_serves_the_next(root: Path) -> None:
    before = call(root, "version")
    started = time.perf_counter()
    hung = call(root, "hang", limits=Limits(wall_seconds=2, cpu_seconds=30, memory_mb=2048))
    assert hung.status is WorkerStatus.TIMEOUT
    assert time.perf_counter() - started < 15
    after = call(root, "version")
    assert after.ok and after.value == before.value  # the same warm worker, still serving


def test_a_changed_project_file_is_imported_anew(root: Path) -> None:
    assert call(root, "version").value[0] == "v1"
    module = root / "probe.py"
    module.write_text(module.read_text().replace('("v1", IMPORTED_IN)', '("v2", IMPORTED_IN)'))
    second = call(root, "version")
    assert second.ok and second.value[0] == "v2"


def test_the_boundary_and_the_tripwire_hold_in_a_fork(root: Path, tmp_path: Path) -> None:
    outside = tmp_path / "escaped.txt"
    outcome = call(root, "write_outside", str(outside))
    assert outcome.status is WorkerStatus.FORBIDDEN
    assert "wrote a file" in outcome.message
    assert not outside.exists()
    cold = run_in_worker("probe:version", None, root=root, limits=LIMITS)
    warm_layers = call(root, "version").isolation
    folder = re.compile(r"perfloop-worker-\w+")
    assert "files: Landlock" in warm_layers or "files: none" in warm_layers
    assert folder.sub("FOLDER", warm_layers) == folder.sub("FOLDER", cold.isolation)


def test_a_task_cannot_kill_its_warm_worker(root: Path) -> None:
    before = call(root, "version")
    outcome = call(root, "signal_parent")
    assert outcome.status is WorkerStatus.FORBIDDEN, outcome.message
    after = call(root, "version")
    assert after.ok and after.value == before.value


def test_a_dead_warm_worker_is_replaced(root: Path) -> None:
    first = call(root, "version")
    os.kill(first.value[1], signal.SIGKILL)
    time.sleep(0.2)
    second = call(root, "version")
    assert second.ok and second.value[0] == "v1"
    assert second.value[1] != first.value[1]


def test_a_stopping_run_kills_the_warm_tasks_of_the_other_threads(root: Path) -> None:
    configure_workers(2, warm=True)
    limits = Limits(wall_seconds=120, cpu_seconds=120, memory_mb=2048)

    def hang() -> object:
        return call(root, "hang", limits=limits)

    def stop_soon() -> object:
        time.sleep(3)
        with stopping_workers():
            time.sleep(1)
        return None

    started = time.perf_counter()
    with pytest.raises(WorkersStopped):
        side_by_side([hang, stop_soon])
    assert time.perf_counter() - started < 60


def test_warm_workers_end_with_perfloop(root: Path) -> None:
    script = (
        "import sys; from pathlib import Path; from perfloop.model import Limits; "
        "from perfloop.sandbox.runner import run_in_worker; "
        f"o = run_in_worker('probe:version', None, root=Path({str(root)!r}), "
        "limits=Limits(60, 60), warm=('probe',)); print(o.value[1]); sys.stdout.flush(); "
        "import os; os._exit(0)"  # no atexit: as if perfloop were killed
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    pid = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _running(pid):
        time.sleep(0.1)
    assert not _running(pid)


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status
