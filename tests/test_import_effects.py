"""Import-time effects of the user's modules do not make the original unreproducible.

The shape comes from requests 2.31 (through urllib3): importing it binds a socket to
probe for IPv6, the tripwire in verification workers forbids binding sockets, and so
every function of it was "undecided: replaying the original does not reproduce its
recorded calls". The original module and what it imports now load with the tripwire
paused (the workload ran them anyway); candidate code still runs armed.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TargetCapture, VerdictStatus
from perfloop.verification.replay import replay, replay_candidate

PROBE = """
import socket


def _has_ipv6(host):
    # urllib3.util.connection._has_ipv6, as imported by requests 2.31
    sock = None
    try:
        sock = socket.socket(socket.AF_INET6)
        sock.bind((host, 0))
        return True
    except OSError:
        return False
    finally:
        if sock is not None:
            sock.close()


HAS_IPV6 = _has_ipv6("::1")
"""

LIB = """
import probe


def join(parts):
    return "/".join(part.strip("/") for part in parts)
"""

BENCH = """
from lib import join

for n in range(1, 6):
    join(["a/", "/b"] * n)
"""

LIMITS = Limits(wall_seconds=30, memory_mb=1024)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TargetCapture]:
    root = tmp_path_factory.mktemp("effects")
    (root / "probe.py").write_text(PROBE)
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    ref = FunctionRef("lib", "join")
    return root, capture_calls("python bench.py", root, [ref])[ref]


def test_the_original_replays_although_its_imports_bind_a_socket(project) -> None:
    root, capture = project
    verdict = replay("lib", "join", root / "lib.py", None, capture.records, root=root,
                     limits=LIMITS)  # fmt: skip
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    assert verdict.calls_checked == 5


def candidate(project, body: str):
    root, capture = project
    source = LIB.replace('    return "/".join(part.strip("/") for part in parts)', body)
    assert source != LIB
    made = Candidate(FunctionRef("lib", "join"), "test", "", source, "", "lib.py")
    return replay_candidate(made, capture.records, root=root, limits=LIMITS)


def test_a_candidate_replays_too(project) -> None:
    verdict = candidate(project, '    return "/".join([part.strip("/") for part in parts])')
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    assert verdict.calls_checked == 5


def test_a_candidate_that_binds_a_socket_itself_is_still_stopped(project) -> None:
    verdict = candidate(
        project, '    probe._has_ipv6("::1")\n    return "/".join(p.strip("/") for p in parts)'
    )
    assert verdict.status is VerdictStatus.FAILED
    assert "created a network socket (AF_INET6)" in verdict.reason
