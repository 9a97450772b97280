"""Whole runs on awkward code: odd targets are handled or skipped with the reason, the
patch goes to a new git branch on request, and a patch that breaks on disk is undone."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from safety_helpers import perfloop

from perfloop.config import load_settings
from perfloop.pipeline import optimize

pytestmark = pytest.mark.slow

LIB = """
import threading


def ways(amount, coins):
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])


class Base:
    def score(self, values):
        return sum(values)


class Child(Base):
    def score(self, values):
        return super().score(values) + 1


def locked_total(lock, values):
    with lock:
        return sum(values)


def longest(values):
    return max(len(v) for v in values)


def depth(count):
    return 0 if count == 0 else 1 + depth(count - 1)
"""
BENCH = """
import sys
import threading
from shop import Child, depth, locked_total, longest, ways

sys.setrecursionlimit(30_000)
print(sum(ways(n, (1, 2, 5, 10)) for n in range(60, 66)))
print(sum(Child().score(list(range(n))) for n in range(200)))
print(locked_total(threading.Lock(), list(range(1000))))
print(longest([["x"] * 3_000_000, ["y"]]))  # an argument far over the capture budget
print(depth(5000))  # deeper than the worker's limit of 3000
"""
PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
functions = ["shop:ways", "shop:Child.score", "shop:locked_total", "shop:longest", "shop:depth"]
mutants = 0
fuzz-examples = 0
project-tests = false
measure-processes = 2
workload-runs = 2
capture-mb = 4
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def test_odd_targets_get_reasons_and_the_patch_goes_to_a_new_branch(make_project) -> None:
    root = make_project({"shop.py": LIB, "bench.py": BENCH, "pyproject.toml": PYPROJECT})
    git(root, "init", "-q", "-b", "main")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "start")

    done = perfloop("optimize", "--branch", "perfloop/faster", "--json", cwd=root)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads(done.stdout)
    by_name = {t["function"]: t for t in results["targets"]}

    assert by_name["shop:ways"]["status"] == "improved"
    assert by_name["shop:Child.score"]["status"] == "no_faster_candidate"  # super(): handled
    assert by_name["shop:Child.score"]["reason"] == "no rule applies to this function"
    unpicklable = by_name["shop:locked_total"]
    assert unpicklable["status"] == "unverifiable"
    assert "arguments cannot be pickled" in unpicklable["reason"]
    assert "_thread.lock" in unpicklable["reason"]
    enormous = by_name["shop:longest"]
    assert enormous["status"] == "unverifiable"
    assert "capture byte budget was used up" in enormous["reason"]
    recursion = by_name["shop:depth"]
    assert recursion["status"] == "unverifiable"
    assert "recursion limit" in recursion["reason"]

    assert results["applied"] is False
    assert any("committed to the new branch perfloop/faster" in n for n in results["notes"])
    assert "functools.cache" in git(root, "show", "perfloop/faster:shop.py")
    assert (root / "shop.py").read_text() == LIB.lstrip("\n")  # the working tree: untouched
    assert git(root, "status", "--porcelain") == "?? .perfloop/\n"


def test_a_patch_that_does_not_import_from_disk_is_undone_at_once(make_project) -> None:
    root = make_project({"shop.py": LIB, "bench.py": BENCH, "pyproject.toml": PYPROJECT})
    sabotaged = []

    def sabotage(stage: str) -> None:  # the file breaks between writing and re-verifying
        if stage.startswith("Verifying the patched modules"):
            with open(root / "shop.py", "a") as handle:
                handle.write("\nraise ImportError('broken on disk')\n")
            sabotaged.append(stage)

    settings = load_settings(root, {"apply": True, "functions": ["shop:ways"]})
    result = optimize(settings, progress=sabotage)
    assert sabotaged
    assert not result.applied
    (note,) = [n for n in result.notes if "applied and then undone" in n]
    assert "the patched modules (shop) do not import" in note and "broken on disk" in note
    assert (root / "shop.py").read_text() == LIB.lstrip("\n")
    journal = Path(result.run_dir) / "backup" / "journal.json"
    assert json.loads(journal.read_text())["state"] == "reverted"


def test_a_workload_that_fails_after_the_apply_gets_the_originals_back(make_project) -> None:
    # the whole-workload A/B serves the patch through the import hook, so this workload
    # passes there and fails only once the patch is on disk
    fussy = "import pathlib, sys\nif 'functools' in pathlib.Path('shop.py').read_text():\n"
    fussy += "    sys.exit('shop.py was edited on disk')\n"
    root = make_project({"shop.py": LIB, "bench.py": fussy + BENCH, "pyproject.toml": PYPROJECT})
    settings = load_settings(root, {"apply": True, "functions": ["shop:ways"]})
    result = optimize(settings)
    assert not result.applied
    (note,) = [n for n in result.notes if "applied and then undone" in n]
    assert "exited with code 1" in note and "shop.py was edited on disk" in note
    assert (root / "shop.py").read_text() == LIB.lstrip("\n")
