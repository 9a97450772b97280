"""Candidates that switch the tripwire off first, in one real run beside an honest one.

The tripwire is an audit hook whose state code in the worker can reach through
`sys.modules`; the kernel's boundary (perfloop.sandbox.boundary) is what must hold then.
Each hostile candidate below turns the tripwire off (or patches perfloop's own module
in the worker), then tries one escape directly and raises if the escape failed, so a
refusal shows in its verdict: write into the project, write through a planted symlink,
open, fork or connect through ctypes, fork until limits hit, write its own memory,
read a planted key or perfloop's environment, signal perfloop. Each must be rejected
with the kernel's refusal shown in its first difference, leave no trace (the project byte-identical,
no marker, no connection, perfloop alive), and the honest candidate must still win.
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
from perfloop.sandbox.runner import isolation_gaps, worker_isolation

# serial: the escapes spin, fill memory and flood pipes, and the honest candidate must still
# be timed faster: alone, after the parallel pass (with a neighbour, a 5 s limit and a
# 2-process noise floor flipped verdicts: eats_memory timed out, honest was not faster)
pytestmark = [pytest.mark.slow, pytest.mark.serial]

# every hostile body switches the tripwire off, tries its escape (raising if the kernel
# refused it), then answers exactly like the original
SWITCH_OFF = (
    "import ctypes, os, signal, sys\nsys.modules['perfloop.sandbox.tripwire']._STATE.armed = False"
)
CHECKED = (
    "def checked(result):\n"
    "    if result < 0:\n"
    "        code = ctypes.get_errno()\n"
    "        raise OSError(code, os.strerror(code))\n"
    "    return result\n"
    "libc = ctypes.CDLL(None, use_errno=True)"
)
ESCAPES = {
    "writes_project": "open({bench!r}, 'a').write('# pwned')",
    "writes_through_symlink": (
        "os.symlink({bench!r}, 'planted')\nopen('planted', 'a').write('# pwned')"
    ),
    "raw_open": f"{CHECKED}\nchecked(libc.open({{marker!r}}.encode(), 0o101, 0o644))",
    "raw_fork": f"{CHECKED}\nif checked(libc.fork()) == 0:\n    os._exit(0)",
    "forks_until_limits": (
        f"{CHECKED}\nfor _ in range(64):\n    if checked(libc.fork()) == 0:\n        os._exit(0)"
    ),
    "raw_connect": (
        f"{CHECKED}\nimport socket\n"
        "checked(libc.socket(socket.AF_INET, socket.SOCK_STREAM, 0))\n"
        "socket.create_connection(('127.0.0.1', {port}))"
    ),
    "writes_own_memory": "open('/proc/self/mem', 'r+b')",
    "reads_planted_key": "open({key!r}).read()",
    "reads_perfloop_environment": "open(f'/proc/{{os.getppid()}}/environ', 'rb').read()",
    "signals_perfloop": "os.kill(os.getppid(), signal.SIGCONT)",
    "patches_perfloop_then_writes": (
        "sys.modules['perfloop.sandbox.tripwire'].violation = lambda: None\n"
        "open({marker!r}, 'w').write('pwned')"
    ),
}
REFUSALS = ("Permission denied", "Operation not permitted")


class Setting:
    def __init__(self, root: Path, marker: Path, key: Path, port: int) -> None:
        self.root, self.marker, self.key, self.port = root, marker, key, port
        self.bench = str(root / "bench.py")

    def fill(self, text: str) -> str:
        marker, key = str(self.marker), str(self.key)
        return text.format(marker=marker, bench=self.bench, key=key, port=self.port)


def proposer(setting: Setting):
    def hostile_and_honest(ref: FunctionRef, path: str, source: str) -> Sequence[Candidate]:
        bodies = {
            name: f"{SWITCH_OFF}\n{setting.fill(escape)}\n{ORIGINAL}"
            for name, escape in ESCAPES.items()
        }
        bodies["honest"] = HONEST
        return [
            Candidate(ref, f"test:{name}", name, module(body), module(body), path)
            for name, body in bodies.items()
        ]

    return hostile_and_honest


listener = pytest.fixture(scope="module")(listening_socket)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, listener: socket.socket):
    base = tmp_path_factory.mktemp("past-the-tripwire")
    root, home = base / "project", base / "home"
    root.mkdir()
    (home / ".ssh").mkdir(parents=True)
    key = home / ".ssh" / "id_ed25519"
    key.write_text("PLANTED KEY")
    (root / "shop.py").write_text(LIB.lstrip("\n"))
    (root / "bench.py").write_text(BENCH.lstrip("\n"))
    setting = Setting(root, base / "marker.txt", key, listener.getsockname()[1])
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
    before = files(root)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HOME", str(home))  # workers hide the credential stores of $HOME
        gaps = isolation_gaps(worker_isolation(root))
        if gaps:
            pytest.skip(f"this machine lacks layers of the boundary: {'; '.join(gaps)}")
        result = optimize(settings, proposers=(proposer(setting),))
    return result, setting, before


def files(root: Path) -> dict[str, bytes]:
    """Every entry of the project but perfloop's own folder, with its bytes."""
    return {p.name: p.read_bytes() for p in root.iterdir() if p.name != ".perfloop"}


@pytest.mark.parametrize("name", sorted(ESCAPES))
def test_each_escape_is_refused_by_the_kernel_and_rejected(name: str, run) -> None:
    result, _, _ = run
    candidate = tried(result)[name]
    assert candidate.gate.passed, candidate.gate.reason
    verdict = candidate.verdict
    # the kernel's refusal is an exception the original never raised: a difference
    assert verdict.status is VerdictStatus.DIFFERENT, (name, verdict)
    said = verdict.difference.description
    assert any(refusal in said for refusal in REFUSALS), said
    assert candidate.measurement is None  # never timed


def test_the_honest_candidate_in_the_same_run_still_wins(run) -> None:
    result, _, _ = run
    (target,) = result.targets
    assert tried(result)["honest"].verdict.status is VerdictStatus.EQUIVALENT
    assert target.status is TargetStatus.IMPROVED
    assert target.best.candidate.origin == "test:honest"


def test_no_escape_left_a_trace(run, listener: socket.socket) -> None:
    _, setting, before = run
    assert not setting.marker.exists()
    assert files(setting.root) == before  # byte-identical, no planted link, no new file
    with pytest.raises(BlockingIOError):
        listener.accept()  # nobody connected
