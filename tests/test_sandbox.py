"""The sandbox contains what candidate code does and reports it; the caller goes on."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from perfloop.model import Limits
from perfloop.sandbox.runner import Tripwire, WorkerStatus, plan_workers, run_in_worker

HELPERS = """
import ctypes, os, subprocess, sys, time

def echo(value):
    return value

def hang(_):
    while True:
        pass

def sleep_with_child(_):
    ctypes.pythonapi.fork()  # a raw fork the tripwire cannot see: parent and child sleep
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

def write_file(path):
    with open(path, "w") as handle:
        handle.write("pwned")

def write_then_swallow(path):
    try:
        write_file(path)
    except BaseException:
        pass
    return "looks fine"

def spawn(_):
    return subprocess.run(["true"]).returncode

def connect(_):
    import socket
    socket.socket().connect(("192.0.2.1", 80))

def network_interfaces(_):
    lines = open("/proc/self/net/dev").read().splitlines()[2:]
    return sorted(line.split(":")[0].strip() for line in lines)

def flood(_):
    chunk = b"x" * (1 << 20)
    while True:
        os.write(1, chunk)

def temporary_file(_):
    import tempfile
    with tempfile.NamedTemporaryFile("w", delete=False) as handle:
        handle.write("ok")
        return handle.name

def write_to_devnull(_):
    with open(os.devnull, "w") as handle:
        handle.write("discarded")
    return "ok"

def forge_result(marker):
    import pickle
    payload = f"cbuiltins\\neval\\n(V__import__('pathlib').Path({marker!r}).touch()\\ntR."
    pickle.dumps = lambda *args, **kwargs: payload.encode()
    return "honest-looking"

def a_function(_):
    return os.system
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


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_text():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def test_a_timeout_kills_grandchildren_too(root: Path, tmp_path: Path) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    outcome = run_in_worker(
        "helpers:sleep_with_child", None, root=root, limits=Limits(wall_seconds=2), scratch=scratch
    )
    assert outcome.status is WorkerStatus.TIMEOUT
    for _ in range(50):  # the forked child has the worker's command line, naming its folder
        if not processes_mentioning(str(scratch)):
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
    assert "called os._exit(0)" in outcome.message


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


def test_writing_a_file_is_refused_and_reported(root: Path, tmp_path: Path) -> None:
    target = tmp_path / "pwned.txt"
    outcome = run(root, "write_file", str(target))
    assert outcome.status is WorkerStatus.FORBIDDEN
    assert f"wrote a file ({target})" in outcome.message
    assert not target.exists()


def test_a_long_path_in_a_refusal_keeps_its_file_name(root: Path, tmp_path: Path) -> None:
    folder = tmp_path / ("deep-" * 20) / ("deeper-" * 20)
    folder.mkdir(parents=True)
    target = folder / "pwned-file-name.txt"
    outcome = run(root, "write_file", str(target))
    assert outcome.status is WorkerStatus.FORBIDDEN
    assert "pwned-file-name.txt)" in outcome.message  # the end of the path is kept
    assert str(target)[:40] in outcome.message  # and its start
    assert not target.exists()


def test_a_refusal_counts_even_when_the_code_swallows_it(root: Path, tmp_path: Path) -> None:
    outcome = run(root, "write_then_swallow", str(tmp_path / "pwned.txt"))
    assert outcome.status is WorkerStatus.FORBIDDEN
    assert "wrote a file" in outcome.message


def test_starting_a_process_is_refused(root: Path) -> None:
    outcome = run(root, "spawn")
    assert outcome.status is WorkerStatus.FORBIDDEN
    assert "started a process (['true'])" in outcome.message


def test_opening_a_connection_is_refused(root: Path) -> None:
    outcome = run(root, "connect")
    assert outcome.status is WorkerStatus.FORBIDDEN
    assert "created a network socket (AF_INET)" in outcome.message


def test_the_worker_has_no_network_where_namespaces_are_available(root: Path) -> None:
    outcome = run(root, "network_interfaces")
    if not outcome.isolation.startswith("network namespace"):
        pytest.skip(f"this machine gives workers no network namespace: {outcome.isolation}")
    assert outcome.value == ["lo"]  # only a loopback, and it is down


def test_flooding_stdout_is_stopped_and_reported(root: Path) -> None:
    outcome = run(root, "flood", wall_seconds=30)
    assert outcome.status is WorkerStatus.FORBIDDEN
    assert "flooded its standard output" in outcome.message


def test_temporary_files_go_to_the_scratch_folder_in_scratch_mode(root: Path) -> None:
    strict = run(root, "temporary_file")
    assert strict.status is WorkerStatus.FORBIDDEN
    outcome = run_in_worker(
        "helpers:temporary_file", None, root=root, limits=Limits(), tripwire=Tripwire.SCRATCH
    )
    assert outcome.status is WorkerStatus.OK
    assert "perfloop-worker-" in outcome.value and not Path(outcome.value).exists()


def test_scratch_mode_refuses_writes_outside_without_condemning_the_worker(
    root: Path, tmp_path: Path
) -> None:
    outcome = run_in_worker(
        "helpers:write_then_swallow",
        str(tmp_path / "outside.txt"),
        root=root,
        limits=Limits(),
        tripwire=Tripwire.SCRATCH,
    )
    assert outcome.status is WorkerStatus.OK and outcome.value == "looks fine"
    assert not (tmp_path / "outside.txt").exists()


def test_writing_to_devnull_is_allowed(root: Path) -> None:
    assert run(root, "write_to_devnull").value == "ok"


def test_workers_are_fewer_when_their_memory_would_not_fit() -> None:
    assert plan_workers(None, 2048, cpus=2, available_mb=32_000).count == 2
    small = plan_workers(None, 2048, cpus=2, available_mb=3000)
    assert small.count == 1 and "would not fit" in small.note
    tiny = plan_workers(None, 2048, cpus=2, available_mb=1000)
    assert tiny.count == 1 and tiny.memory_mb == 800 and "lowered" in tiny.note
    assert plan_workers(4, 512, cpus=2, available_mb=32_000).count == 4  # asked for: given


def test_workload_limits_come_from_what_the_profiled_run_needed() -> None:
    from perfloop.sandbox.runner import ChildUsage, workload_limits

    limits = workload_limits(
        ChildUsage(1.0, 100), ChildUsage(31.0, 900), 20.0, timeout=600, memory_mb=2048
    )
    assert limits.cpu_seconds == 301  # ten times the 30 CPU seconds used
    assert limits.memory_mb == 4 * 900 + 1024
    assert limits.wall_seconds == 200.0
    small = workload_limits(ChildUsage(0, 0), ChildUsage(0.5, 40), 0.5, timeout=30, memory_mb=2048)
    assert (small.cpu_seconds, small.memory_mb, small.wall_seconds) == (60, 3072, 30)


def test_a_result_forged_inside_the_worker_is_refused_and_never_run(
    root: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    outcome = run(root, "forge_result", str(marker))
    assert outcome.status is WorkerStatus.REFUSED
    assert outcome.value is None
    assert "perfloop refused the worker's result: builtins.eval is not a perfloop" in (
        outcome.message
    )
    assert not marker.exists()


@pytest.mark.slow
def test_a_function_or_a_value_of_the_wrong_type_is_refused(root: Path) -> None:
    outcome = run(root, "a_function")
    assert outcome.status is WorkerStatus.REFUSED
    assert "posix.system is not a perfloop result type" in outcome.message
    typed = run_in_worker("helpers:echo", "41", root=root, limits=Limits(), returns=tuple[int, ...])
    assert typed.status is WorkerStatus.REFUSED
    assert "the value is '41' (str) where a tuple was expected" in typed.message


# Every sandboxed task starts a fresh interpreter that imports its entry's module:
# the bundled example starts hundreds. libcst (half a second to import) was imported by
# each through perfloop.qualnames, 0.82 s against 0.43 s per worker for the replay tier's
# module here, about 60 s of CPU in one run of the example.
WORKER_ENTRIES = [
    "perfloop.measure.timing",
    "perfloop.verification.fuzz",
    "perfloop.verification.replay",
    "perfloop.verification.interaction",
    "perfloop.verification.project_tests",
    "perfloop.sandbox.worker",
]


@pytest.mark.parametrize("module", WORKER_ENTRIES)
def test_a_worker_entry_does_not_import_the_rewriting_libraries(module: str) -> None:
    code = f"import sys, {module}; print(sorted({{'libcst', 'rich'}} & set(sys.modules)))"
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert shown.strip() == "[]", f"{module} imports {shown}"
