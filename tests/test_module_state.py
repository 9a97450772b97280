"""Module globals a target reads or writes are recorded state, restored and compared.

Before, a function that fills a module cache or bumps a module counter could not
be verified at all: replayed in a fresh worker, the original did not reproduce
its own recording ("it depends on state besides its arguments").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TargetCapture, VerdictStatus
from perfloop.verify.replay import replay, replay_candidate

LIB = """
_SEEN = {}
COUNT = 0
TABLE = []


def remember(key, value):
    if key in _SEEN:
        return _SEEN[key]
    _SEEN[key] = value * 2
    return _SEEN[key]


def bump():
    global COUNT
    COUNT += 1
    return COUNT


def record(item):
    TABLE.append(item)
    return len(TABLE)
"""

BENCH = """
import lib
from lib import bump, record, remember

# the workload changes the module state between calls too, as real callers do
for key, value in [("a", 1), ("b", 2), ("a", 5), ("b", 7), ("c", 3)]:
    remember(key, value)
    if key == "b":
        lib._SEEN.pop("a", None)
for _ in range(5):
    bump()
    lib.COUNT += 10
for item in "wxyz":
    record(item)
    if item == "x":
        lib.TABLE.clear()
"""

LIMITS = Limits(wall_seconds=30, memory_mb=1024)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, TargetCapture]]:
    root = tmp_path_factory.mktemp("state")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    names = ("remember", "bump", "record")
    captures = capture_calls("python bench.py", root, [FunctionRef("lib", q) for q in names])
    return root, {ref.qualname: capture for ref, capture in captures.items()}


@pytest.mark.parametrize(("qualname", "calls"), [("remember", 5), ("bump", 5), ("record", 4)])
def test_the_original_reproduces_calls_that_depend_on_module_state(
    project, qualname: str, calls: int
) -> None:
    root, captures = project
    verdict = replay(
        "lib", qualname, root / "lib.py", None, captures[qualname].records, root=root,
        limits=LIMITS,
    )  # fmt: skip
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == calls


def check(project, qualname: str, old: str, new: str):
    root, captures = project
    source = LIB.replace(old, new)
    assert source != LIB
    made = Candidate(FunctionRef("lib", qualname), "test", "", source, "", "lib.py")
    return replay_candidate(made, captures[qualname].records, root=root, limits=LIMITS)


def test_a_rewrite_that_stops_filling_the_module_cache_is_caught(project) -> None:
    verdict = check(
        project, "remember", "    _SEEN[key] = value * 2\n    return _SEEN[key]",
        "    return value * 2",
    )  # fmt: skip
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "module state after the call differs: global _SEEN" in verdict.difference.description


def test_a_rewrite_that_keeps_the_module_state_the_same_passes(project) -> None:
    verdict = check(project, "record", "    return len(TABLE)", "    return TABLE.__len__()")
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == 4
