"""Candidates that try to escape, in one real run beside an honest one.

Each hostile candidate computes the right answer and also tries one escape
(writes a file, deletes one, starts a process, opens a socket, forks, loads
the C library, calls os._exit, segfaults, floods stdout, hangs, eats memory).
Each must be rejected with its reason and leave no trace, while the honest
candidate in the same run is verified, measured and chosen.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from pathlib import Path

import pytest
from shop_project import BENCH, HONEST, LIB, ORIGINAL, listening_socket, module, tried

from perfloop.config import load_settings
from perfloop.model import Candidate, FunctionRef, VerdictStatus
from perfloop.pipeline import optimize
from perfloop.results import TargetStatus

# serial: the escapes spin, fill memory and flood pipes, and the honest candidate must still
# be timed faster: alone, after the parallel pass (with a neighbour, a 5 s limit and a
# 2-process noise floor flipped verdicts: eats_memory timed out, honest was not faster)
pytestmark = [pytest.mark.slow, pytest.mark.serial]

# every hostile body does its escape, then answers exactly like the original
ESCAPES = {
    "writes_file": "open({marker!r}, 'w').write('pwned')",
    "writes_relative_file": "open('pwned.txt', 'w').write('pwned')",
    "deletes_file": "import os\nos.remove({bench!r})",
    "spawns_process": "import subprocess\nsubprocess.run(['touch', {marker!r}])",
    "os_system": "import os\nos.system('touch ' + {marker!r})",
    "forks": "import os\nos.fork()",
    "opens_socket": "import socket\nsocket.socket().connect(('127.0.0.1', {port}))",
    "writes_from_thread": (
        "import threading\nthread = threading.Thread(target=open, args=({marker!r}, 'w'))\n"
        "thread.start()\nthread.join()"
    ),
    "loads_libc": "import ctypes\nctypes.CDLL('libc.so.6').getpid()",
    "calls_os_exit": "import os\nos._exit(0)",
    "segfaults": "import ctypes\nctypes.string_at(0)",
    "floods_stdout": "while True:\n    print('x' * 10000)",
    "hangs": "while True:\n    pass",
    "eats_memory": "blocks = []\nwhile True:\n    blocks.append(bytearray(10**8))",
}
REASONS = {
    "writes_file": "wrote a file ({marker})",
    "writes_relative_file": "wrote a file (pwned.txt)",
    "deletes_file": "deleted a file ({bench})",
    "spawns_process": "started a process (['touch',",
    "os_system": "started a process (os.system) (touch ",
    "forks": "forked the process",
    "opens_socket": "created a network socket (AF_INET)",
    "writes_from_thread": "wrote a file ({marker})",
    "loads_libc": "loaded a native library with ctypes (libc.so.6)",
    "calls_os_exit": "called os._exit(0)",
    "segfaults": "killed by SIGSEGV",
    "floods_stdout": "flooded its output",
    "hangs": "did not finish within",
    "eats_memory": "memory",
}


class Setting:
    def __init__(self, root: Path, marker: Path, port: int) -> None:
        self.root, self.marker, self.port = root, marker, port
        self.bench = str(root / "bench.py")

    def fill(self, text: str) -> str:
        return text.format(marker=str(self.marker), bench=self.bench, port=self.port)


def proposer(setting: Setting):
    def hostile_and_honest(ref: FunctionRef, path: str, source: str) -> Sequence[Candidate]:
        bodies = {name: f"{setting.fill(e)}\n{ORIGINAL}" for name, e in ESCAPES.items()}
        bodies["honest"] = HONEST
        return [
            Candidate(ref, f"test:{name}", name, module(body), module(body), path)
            for name, body in bodies.items()
        ]

    return hostile_and_honest


listener = pytest.fixture(scope="module")(listening_socket)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, listener: socket.socket):
    base = tmp_path_factory.mktemp("hostile")
    root = base / "project"
    root.mkdir()
    (root / "shop.py").write_text(LIB.lstrip("\n"))
    (root / "bench.py").write_text(BENCH.lstrip("\n"))
    setting = Setting(root, base / "marker.txt", listener.getsockname()[1])
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["shop:cheapest"],
            "candidate_timeout": 5.0,
            "memory_mb": 600,
            "measure_processes": 2,
            "workload_runs": 2,
            "mutants": 0,
            "fuzz_examples": 0,
            "project_tests": False,
        },
    )
    before = {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}
    result = optimize(settings, proposers=(proposer(setting),))
    return result, setting, before


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_each_escape_is_contained_and_reported(name: str, run) -> None:
    result, setting, _ = run
    candidate = tried(result)[name]
    assert candidate.gate.passed, candidate.gate.reason
    verdict = candidate.verdict
    assert verdict.status is VerdictStatus.FAILED, (name, verdict)
    assert setting.fill(REASONS[name]) in verdict.reason, verdict.reason
    assert candidate.measurement is None  # never timed


def test_the_honest_candidate_in_the_same_run_is_verified_measured_and_chosen(run) -> None:
    result, _, _ = run
    (target,) = result.targets
    honest = tried(result)["honest"]
    assert honest.verdict.status is VerdictStatus.EQUIVALENT
    assert honest.measurement is not None and honest.measurement.speedup is not None
    assert target.status is TargetStatus.IMPROVED
    assert target.best.candidate.origin == "test:honest"


def test_no_escape_left_a_trace(run, listener: socket.socket) -> None:
    result, setting, before = run
    assert not setting.marker.exists()
    after = {p.name: p.read_bytes() for p in setting.root.iterdir() if p.is_file()}
    assert after == before  # bench.py still there, nothing written beside it
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
    report = (Path(result.run_dir) / "report.md").read_text()
    assert "called os._exit" in report and "killed by SIGSEGV" in report
