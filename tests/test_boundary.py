"""The kernel's boundary holds where the tripwire is bypassed.

Each escape (perfloop.sandbox.boundary_checks, which `perfloop doctor` runs too) first
disarms the tripwire the way code in the worker can (through `sys.modules`), then
tries one escape directly: a write into the project, a raw `fork`, `exec` or
`socket` through ctypes, a symlink planted in the scratch folder, reading
credentials or another process's environment, writing its own memory, signalling
perfloop. The kernel must refuse each one (the helper reports the errno it got),
and the project must be byte-identical afterwards. A layer this machine lacks is
skipped with the reason the worker gave, never passed silently.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from perfloop.config import ConfigError, load_settings
from perfloop.model import Limits
from perfloop.sandbox import boundary
from perfloop.sandbox.boundary import Policy, Prepared, enter
from perfloop.sandbox.runner import WorkerStatus, run_in_worker
from perfloop.workload import run_workload

# the escapes themselves are perfloop.sandbox.boundary_checks (`perfloop doctor` runs them too);
# only what checks that ordinary code still works inside is written here
HELPERS = """
import threading

def threads_and_socketpairs_still_work(_):
    import asyncio
    seen = []
    thread = threading.Thread(target=seen.append, args=("thread",))
    thread.start()
    thread.join()
    loop = asyncio.new_event_loop()  # needs a socketpair
    seen.append(loop.run_until_complete(asyncio.sleep(0, "event loop")))
    loop.close()
    return seen
"""


@pytest.fixture
def root(make_project) -> Path:
    return make_project({"helpers.py": HELPERS, "victim.py": "SECRET = 1\n"})


def run(root: Path, name: str, argument: object = None) -> object:
    module = (
        "helpers"
        if name == "threads_and_socketpairs_still_work"
        else "perfloop.sandbox.boundary_checks"
    )
    outcome = run_in_worker(f"{module}:{name}", argument, root=root, limits=Limits(30, 30))
    assert outcome.status is WorkerStatus.OK, outcome.message
    return outcome


def needs(outcome, layer: str) -> None:
    for part in outcome.isolation.split("; "):
        if part.startswith(f"{layer}: none"):
            pytest.skip(f"this machine has no such layer for workers: {part}")


def test_the_worker_reports_every_layer(root: Path) -> None:
    isolation = run(root, "threads_and_socketpairs_still_work").isolation
    for layer in ("files: ", "system calls: ", "signals: "):
        assert layer in isolation, isolation


@pytest.mark.parametrize("helper", ["write_project", "symlink_into_project"])
def test_the_project_cannot_be_written_past_the_tripwire(root: Path, helper: str) -> None:
    victim = root / "victim.py"
    before = sorted(p.name for p in root.iterdir())
    outcome = run(root, helper, str(victim))
    needs(outcome, "files")
    assert outcome.value == "refused (EACCES)"
    assert victim.read_text() == "SECRET = 1\n"
    assert sorted(p.name for p in root.iterdir()) == before  # nothing new beside it


@pytest.mark.slow
def test_credentials_in_the_home_folder_cannot_be_read(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".ssh").mkdir(parents=True)
    (home / ".ssh" / "id_ed25519").write_text("PRIVATE KEY")
    (home / "notes.txt").write_text("fine to read")
    monkeypatch.setenv("HOME", str(home))
    outcome = run(root, "read_credential", str(home / ".ssh" / "id_ed25519"))
    needs(outcome, "files")
    assert outcome.value == "refused (EACCES)"
    assert run(root, "read_credential", str(home / "notes.txt")).value == "done"
    if Path("/etc/shadow").exists():  # the machine's own (readable by root without Landlock)
        assert run(root, "read_credential", "/etc/shadow").value == "refused (EACCES)"


def test_another_process_environment_cannot_be_read(root: Path) -> None:
    outcome = run(root, "read_perfloop_environment", "")
    needs(outcome, "files")
    assert outcome.value == "refused (EACCES)"


def test_the_worker_cannot_write_process_memory(root: Path) -> None:
    outcome = run(root, "write_own_memory", "")
    needs(outcome, "files")
    assert outcome.value == "refused (EACCES)"


@pytest.mark.parametrize("helper", ["raw_fork", "raw_exec", "raw_socket"])
def test_processes_and_sockets_are_refused_by_the_kernel(root: Path, helper: str) -> None:
    outcome = run(root, helper, "")
    needs(outcome, "system calls")
    assert outcome.value == "refused (EPERM)"


def test_the_worker_cannot_signal_perfloop(root: Path) -> None:
    outcome = run(root, "signal_perfloop", "")
    needs(outcome, "signals")
    assert outcome.value == "refused (EPERM)"


def test_threads_and_event_loops_still_work_inside(root: Path) -> None:
    assert run(root, "threads_and_socketpairs_still_work").value == ["thread", "event loop"]


def entered_in_a_child(prepared: Prepared, then: Callable[[], str]) -> list[str]:
    """Enter `prepared` in a forked child, run `then` there; the layers and its answer."""
    reader, writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(reader)
            lines = [layer.describe() for layer in enter(prepared)] + [then()]
            os.write(writer, "\n".join(lines).encode())
        finally:
            os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answers:
        lines = answers.read().splitlines()
    os.waitpid(pid, 0)
    return lines


def test_a_missing_layer_is_reported_and_the_others_still_hold(tmp_path: Path) -> None:
    inside, outside = tmp_path / "inside", tmp_path / "outside.txt"
    inside.mkdir()
    prepared = Prepared(Policy((str(inside),)), no_filter="libseccomp is not available (test)")

    def write_both() -> str:
        (inside / "ok.txt").write_text("ok")
        try:
            outside.write_text("pwned")
        except PermissionError:
            return "outside refused"
        return "outside written"

    files, syscalls, _, answer = entered_in_a_child(prepared, write_both)
    assert syscalls == "system calls: none: libseccomp is not available (test)"
    assert (inside / "ok.txt").read_text() == "ok"
    if files.startswith("files: none"):
        pytest.skip(f"no Landlock here: {files}")
    assert answer == "outside refused" and not outside.exists()


WRITES_OUTPUT = """
import pathlib, tempfile
with tempfile.NamedTemporaryFile("w") as scratch:  # its own TMPDIR: always allowed
    scratch.write("x")
pathlib.Path("out/result.txt").write_text("42")
print(pathlib.Path("out/result.txt").read_text())
"""


def test_a_workload_with_candidate_code_writes_only_where_it_is_documented_to(
    tmp_path: Path,
) -> None:
    root = tmp_path / "project"
    (root / "out").mkdir(parents=True)
    (root / "bench.py").write_text(WRITES_OUTPUT)
    confined = run_workload("python bench.py", root, candidate_code=True)
    if "files: Landlock" not in confined.boundary:
        pytest.skip(f"no Landlock for workloads here: {confined.boundary}")
    assert not confined.succeeded
    assert "PermissionError" in confined.stderr
    assert "--workload-writes" in confined.failure_message()
    assert not (root / "out" / "result.txt").exists()
    allowed = run_workload("python bench.py", root, candidate_code=True, writes=["out"])
    assert allowed.succeeded, allowed.failure_message()
    assert allowed.stdout == "42\n"
    assert "out" in allowed.boundary  # the layer names where it may write
    # perfloop's launcher (limits, boundary) is left out of the run's time and CPU
    assert allowed.launcher_cpu_seconds > 0
    original = run_workload("python bench.py", root)  # the user's own code: no boundary
    assert original.succeeded and original.boundary == ""


def test_workload_writes_is_a_setting_of_the_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.perfloop]\nworkload-writes = ["out"]\n')
    assert load_settings(tmp_path, {}).workload_writes == ("out",)
    assert load_settings(tmp_path, {"workload_writes": ["a", "b"]}).workload_writes == ("a", "b")
    (tmp_path / "pyproject.toml").write_text("[tool.perfloop]\nworkload-writes = 3\n")
    with pytest.raises(ConfigError, match="workload-writes must be a path or a list of paths"):
        load_settings(tmp_path, {})


SECCOMP_ONLY = """
import os, pickle, sys
from perfloop.sandbox import boundary

prepared = pickle.loads(open(sys.argv[1], "rb").read())
boundary._set_no_new_privileges()
print(boundary._load_filter(prepared).describe())  # the filter alone: no Landlock scope
for target in sys.argv[2:]:
    try:
        os.kill(int(target), 0)
        print(target, "done")
    except PermissionError:
        print(target, "refused")
"""


def test_without_landlock_scopes_seccomp_refuses_signals_to_perfloop_and_the_warm_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A kernel older than Landlock ABI 6 has no signal scope: the seccomp filter is what
    keeps a warm worker's fork from signalling the warm worker (its parent), perfloop and
    their process groups, while other processes stay reachable."""
    pytest.importorskip("pyseccomp")
    sleepers = [
        subprocess.Popen(["sleep", "60"], start_new_session=True) for _ in ("warm", "other")
    ]
    try:
        warm_worker, other = (process.pid for process in sleepers)
        monkeypatch.setattr(boundary, "landlock_abi", lambda: 5)
        prepared = boundary.prepare(Policy((str(tmp_path),)), protected=(warm_worker,))
        assert prepared.filter, prepared.no_filter
        (tmp_path / "prepared.pkl").write_bytes(pickle.dumps(prepared))
        targets = [warm_worker, -warm_worker, os.getpid(), -os.getpgid(0), -1, other]
        done = subprocess.run(
            [sys.executable, "-c", SECCOMP_ONLY, str(tmp_path / "prepared.pkl")]
            + [str(t) for t in targets],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        first, *answers = done.stdout.splitlines()
        assert first.startswith("system calls: seccomp"), first
        assert answers == [
            f"{warm_worker} refused",
            f"{-warm_worker} refused",
            f"{os.getpid()} refused",
            f"{-os.getpgid(0)} refused",
            "-1 refused",
            f"{other} done",  # without Landlock scopes, other processes stay reachable
        ]
    finally:
        for process in sleepers:
            process.kill()
            process.wait()


@pytest.mark.slow
def test_doctor_shows_every_layer_and_every_escape_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "doctor"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
        timeout=300,
    )
    for layer in ("network", "files", "system calls", "signals"):
        assert layer in done.stdout
    if "missing" in done.stdout:
        assert done.returncode == 1 and "to have it:" in done.stdout
        pytest.skip("this machine lacks a layer; doctor said which")
    assert done.returncode == 0, done.stdout + done.stderr
    # nine from a fresh worker, the same nine from a warm worker's fork, one from a workload
    assert done.stdout.count("refused (") == 19
    assert "send its warm worker a signal" in done.stdout
    assert "every layer is active and every escape tried was stopped" in done.stdout
    assert list(tmp_path.iterdir()) == []  # it touched nothing where it was run


@pytest.mark.slow
def test_doctor_json_gives_the_same_findings(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "doctor", "--json"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    document = json.loads(done.stdout)
    assert document["schema"] == "perfloop.doctor/1"
    assert {layer["layer"] for layer in document["layers"]} >= {
        "network",
        "files",
        "system calls",
        "signals",
    }
    assert len(document["escapes"]) == 19 and {e["from"] for e in document["escapes"]} == {
        "worker",
        "warm fork",
        "workload",
    }
    contained = not document["missing"] and all(e["stopped"] for e in document["escapes"])
    assert document["contained"] is contained and done.returncode == (0 if contained else 1)
    for missing in document["missing"]:
        assert missing["how_to_get"]


USES_MULTIPROCESSING = """
import multiprocessing, os, sys

def square(x):
    return x * x

if __name__ == "__main__":
    with multiprocessing.Pool(2) as pool:  # semaphores in /dev/shm
        print(sum(pool.map(square, range(10))))
    print(os.path.exists(sys.argv[1]))  # another program's shared memory
"""


def test_a_workload_with_candidate_code_has_shared_memory_of_its_own(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    (root / "bench.py").write_text(USES_MULTIPROCESSING)
    planted = Path("/dev/shm") / f"perfloop-test-{os.getpid()}"
    planted.write_text("another program's")
    try:
        run = run_workload(f"python bench.py {planted}", root, candidate_code=True)
    finally:
        planted.unlink()
    if "shared memory: a private" not in run.boundary:
        pytest.skip(f"no mount namespace for workloads here: {run.boundary}")
    assert run.succeeded, run.failure_message()
    assert run.stdout == "285\nFalse\n"
