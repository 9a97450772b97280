"""Scale out. `--executor ray`: the same project judged by local workers and by Ray tasks
on a real local Ray cluster (a head node and one more worker node, each a `ray start`
process of one CPU) gets the same verdicts; without Ray, the flag says how to install it.
`perfloop batch`: several projects, one summary, a failing project recorded and passed."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfloop.cli.main import main
from perfloop.model import Limits
from perfloop.sandbox.runner import UnseenFiles, run_in_worker

LIB = '''
def cheapest(prices):
    """The lowest price; IndexError for an empty basket."""
    return sorted(prices)[0]
'''
BENCH = """
import random
from shop import cheapest

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(3000)] for _ in range(40)] + [[]]
total = 0
for basket in baskets:
    try:
        total += cheapest(basket)
    except IndexError:
        total -= 1
print(total)
"""
# a proposer command (--proposer-cmd) that writes one wrong and one honest candidate
WRONG = "def cheapest(prices):\n    return sorted(prices)[1]\n"
HONEST = (
    "def cheapest(prices):\n"
    "    if not prices:\n"
    '        raise IndexError("list index out of range")\n'
    "    return min(prices)\n"
)
PROPOSER = 'cp "$PERFLOOP_ROOT"/candidates/*.py "$PERFLOOP_OUT"/\n'

# small budgets: the tiers that judge these candidates, none of the slow ones
FLAGS = [
    "--workload",
    "python bench.py",
    "--function",
    "shop:cheapest",
    "--proposer-cmd",
    "sh propose.sh",
    "--proposer-rounds",
    "0",
    "--no-cache",
    "--no-rollout",
    "--no-project-tests",
    "--symbolic-seconds",
    "0",
    "--mutants",
    "6",
    "--fuzz-examples",
    "30",
    "--measure-processes",
    "2",
    "--measure-budget",
    "3",
    "--memory-mb",
    "600",
    "--format",
    "json",
]


# a cluster on loopback for one test: no token authentication (Ray 2.5x turns it on for
# `ray start --head`, and a joining node or driver would need the token)
RAY_ENV = {**os.environ, "RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0"}


def project(root: Path) -> Path:
    root.mkdir()
    (root / "shop.py").write_text(LIB.lstrip("\n"))
    (root / "bench.py").write_text(BENCH.lstrip("\n"))
    (root / "propose.sh").write_text(PROPOSER)
    (root / "candidates").mkdir()
    (root / "candidates" / "a_wrong.py").write_text(WRONG)
    (root / "candidates" / "b_honest.py").write_text(HONEST)
    return root


def perfloop(root: Path, *flags: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "optimize", "--root", str(root), *FLAGS, *flags],
        capture_output=True,
        text=True,
        timeout=900,
        env=RAY_ENV,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def verdicts(result: dict) -> list[tuple[object, ...]]:
    """Each target's status and each candidate's verdict, as results.json lists them."""
    return [
        (
            target["function"],
            target["status"],
            target["reason"],
            target["strength"]["killed"] if target["strength"] else None,
        )
        for target in result["targets"]
    ]


def candidate_verdicts(root: Path, run_id: str) -> list[tuple[object, ...]]:
    db = sqlite3.connect(root / ".perfloop" / "perfloop.db")
    try:
        return db.execute(
            "SELECT origin, status, tiers, difference_call FROM candidates JOIN verdicts USING "
            "(run_id, candidate_id) WHERE run_id = ? ORDER BY candidates.rowid",
            (run_id,),
        ).fetchall()
    finally:
        db.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _ray_start(args: list[str], log: Path, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`ray start ... --block` in a session of its own: its processes are its children,
    so stopping its group stops exactly this node (never `ray stop`, which stops every
    Ray of the machine's user)."""
    ray = shutil.which("ray", path=str(Path(sys.executable).parent)) or "ray"
    with open(log, "wb") as out:
        return subprocess.Popen(
            [ray, "start", *args, "--block", "--disable-usage-stats"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )


def _wait_for(log: Path, process: subprocess.Popen[bytes], text: str, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while text not in log.read_text(errors="replace"):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"`ray start` did not start: {log.read_text(errors='replace')}")
        time.sleep(0.5)


def _stop(process: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The address of a real local Ray cluster: a head node and a worker node, one CPU each."""
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'perfloop[ray]'")
    base = tmp_path_factory.mktemp("ray")
    temp = Path("/tmp") / f"perfloop-ray-{os.getpid()}"  # Ray's socket paths must be short
    port = _free_port()
    address = f"127.0.0.1:{port}"
    env = RAY_ENV
    nodes: list[subprocess.Popen[bytes]] = []
    try:
        head = _ray_start(
            [
                "--head",
                f"--port={port}",
                "--node-ip-address=127.0.0.1",
                "--num-cpus=1",
                f"--temp-dir={temp}",
                "--include-dashboard=false",
            ],
            base / "head.log",
            env,
        )
        nodes.append(head)
        _wait_for(base / "head.log", head, "Ray runtime started", 120)
        worker = _ray_start(
            [f"--address={address}", "--node-ip-address=127.0.0.1", "--num-cpus=1"],
            base / "worker.log",
            env,
        )
        nodes.append(worker)
        _wait_for(base / "worker.log", worker, "Ray runtime started", 120)
        yield address
    finally:
        for node in reversed(nodes):
            _stop(node)
        shutil.rmtree(temp, ignore_errors=True)


@pytest.mark.slow
def test_a_ray_cluster_judges_every_candidate_as_local_workers_do(
    tmp_path: Path, cluster: str
) -> None:
    local_root = project(tmp_path / "local")
    ray_root = project(tmp_path / "ray")
    local = perfloop(local_root, "--workers", "2")
    on_ray = perfloop(ray_root, "--executor", "ray", "--ray-address", cluster)
    # the run says where its work went: both nodes passed the check, two tasks at once
    assert any(
        f"Ray tasks on the Ray cluster at {cluster} (2 node(s), 2 task(s) at once)" in note
        for note in on_ray["notes"]
    ), on_ray["notes"]
    assert not any("Ray" in note for note in local["notes"])
    assert verdicts(on_ray) == verdicts(local)
    local_candidates = candidate_verdicts(local_root, local["run_id"])
    ray_candidates = candidate_verdicts(ray_root, on_ray["run_id"])
    assert ray_candidates == local_candidates
    statuses = [status for _, status, _, _ in ray_candidates]
    # a real decision each way: the wrong one differs on a recorded call, the honest one not
    assert "different" in statuses and "equivalent" in statuses, ray_candidates


def test_without_ray_the_flag_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "p")
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray fails, as when not installed
    code = main(["optimize", "--root", str(root), *FLAGS, "--executor", "ray"])
    assert code == 2
    said = " ".join(capsys.readouterr().err.split())
    assert "pip install 'perfloop[ray]'" in said
    assert not (root / ".perfloop").exists()  # no run was started


def test_a_ray_address_without_the_ray_executor_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = project(tmp_path / "p")
    code = main(["optimize", "--root", str(root), *FLAGS, "--ray-address", "10.0.0.5:6379"])
    assert code == 2
    assert "add --executor ray" in " ".join(capsys.readouterr().err.split())


def test_a_worker_where_the_project_is_not_visible_is_a_clear_error(tmp_path: Path) -> None:
    missing = tmp_path / "not-on-this-node"
    with pytest.raises(UnseenFiles, match=r"cannot see the project .*not-on-this-node"):
        run_in_worker("perfloop.sandbox.runner:probe", None, root=missing, limits=Limits(30, 30))


BATCH_KEYS = (  # the small budgets of FLAGS, as [tool.perfloop] keys
    'workload = "python bench.py"\nfunctions = ["shop:cheapest"]\n'
    'proposer-cmd = "sh propose.sh"\nproposer-rounds = 0\ncache = false\n'
    "rollout = false\nproject-tests = false\nsymbolic-seconds = 0\n"
    "fuzz-examples = 30\nmeasure-processes = 2\nmeasure-budget = 3\nmemory-mb = 600\n"
)


def batch_file(tmp_path: Path, *entries: str) -> Path:
    path = tmp_path / "projects.toml"
    path.write_text("[defaults]\nmutants = 6\n\n" + "\n".join(entries))
    return path


@pytest.mark.slow
def test_batch_optimizes_each_project_and_records_the_one_that_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path / "one")
    project(tmp_path / "two")
    broken = project(tmp_path / "broken")
    (broken / "bench.py").write_text("raise SystemExit('the benchmark is broken')\n")
    keys = BATCH_KEYS
    path = batch_file(
        tmp_path,
        *(f'[[project]]\nroot = "{name}"\n{keys}' for name in ("one", "broken", "two")),
    )
    out = tmp_path / "summary"
    code = main(["batch", str(path), "--out", str(out), "--workers", "2"])
    assert code == 1  # one project failed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["schema"] == "perfloop.batch/1"
    by_name = {p["name"]: p for p in summary["projects"]}
    assert [p["name"] for p in summary["projects"]] == ["one", "broken", "two"]
    assert by_name["broken"]["status"] == "failed"
    assert "the benchmark is broken" in by_name["broken"]["error"]
    for name in ("one", "two"):
        done = by_name[name]
        assert done["status"] == "completed", done
        assert done["targets"] == 1
        results = json.loads((Path(done["run_dir"]) / "results.json").read_text())
        assert results["run_id"] == done["run_id"]
    table = (out / "summary.txt").read_text()
    assert "broken" in table and "failed" in table
    assert "summary:" in capsys.readouterr().out


def test_a_batch_file_without_projects_says_what_to_write(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = batch_file(tmp_path)
    assert main(["batch", str(path)]) == 2
    said = capsys.readouterr()
    assert "add one [[project]] table" in " ".join((said.out + said.err).split())


@pytest.mark.slow
def test_a_batch_on_the_ray_cluster(tmp_path: Path, cluster: str) -> None:
    project(tmp_path / "one")
    path = batch_file(tmp_path, f'[[project]]\nroot = "one"\n{BATCH_KEYS}')
    out = tmp_path / "summary"
    command = ["batch", str(path), "--out", str(out), "--executor", "ray"]
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", *command, "--ray-address", cluster, "--json"],
        capture_output=True,
        text=True,
        timeout=900,
        env=RAY_ENV,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    [one] = json.loads(done.stdout)["projects"]
    assert one["status"] == "completed" and one["targets"] == 1, one
    results = json.loads((Path(one["run_dir"]) / "results.json").read_text())
    assert any(f"on the Ray cluster at {cluster}" in note for note in results["notes"])


SLEEPER = """
import time

def nap(seconds):
    time.sleep(seconds)
    return seconds
"""


@pytest.mark.slow
def test_a_failing_task_stops_the_ray_tasks_of_the_others(
    tmp_path: Path, cluster: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As with local workers (tests/test_pool.py): the run stops, and the sandboxed worker
    a Ray task started on a node is killed there, not left to sleep out its 40 s."""
    from perfloop.sandbox.pool import side_by_side
    from perfloop.sandbox.ray_executor import ray_executor

    root = tmp_path / "naps"
    (root / ".perfloop").mkdir(parents=True)
    (root / "naps.py").write_text(SLEEPER)
    for name, value in RAY_ENV.items():
        monkeypatch.setenv(name, value)

    def naps() -> object:
        return run_in_worker("naps:nap", 40.0, root=root, limits=Limits(120, 120)).value

    def fails() -> object:
        deadline = time.monotonic() + 60
        while not sleeping(root) and time.monotonic() < deadline:
            time.sleep(0.2)  # until the other task's worker sleeps on a node
        raise RuntimeError("perfloop's own bug")

    started = time.monotonic()
    with ray_executor(root, 1, cluster, 2), pytest.raises(RuntimeError, match="own bug"):
        side_by_side([naps, fails])
    assert time.monotonic() - started < 35  # stopped, not waited for 40 s
    deadline = time.monotonic() + 15
    while sleeping(root) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not sleeping(root)


def sleeping(root: Path) -> bool:
    """Whether a sandboxed worker of this machine has the project's naps module loaded."""
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            text = environ.read_bytes()
            cmdline = (environ.parent / "cmdline").read_bytes()
        except OSError:
            continue
        if b"perfloop.sandbox.worker" in cmdline and str(root).encode() in text:
            return True
    return False
