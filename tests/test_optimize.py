"""The whole pipeline on small real projects: what a user sees from one run."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from perfloop.cli.main import main
from perfloop.config import load_settings
from perfloop.model import Candidate, FunctionRef, VerdictStatus
from perfloop.pipeline import optimize
from perfloop.propose import propose_rule_candidates
from perfloop.results import TargetStatus

LIB = '''
def cheapest(prices):
    """The lowest price; IndexError for an empty basket."""
    return sorted(prices)[0]


def ways(amount, coins):
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])
'''

BENCH = """
import random
from shop import cheapest, ways

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(3000)] for _ in range(40)] + [[]]
total = 0
for basket in baskets:
    try:
        total += cheapest(basket)
    except IndexError:
        total -= 1
print(total, sum(ways(n, (1, 2, 5, 10)) for n in range(60, 66)))
"""

HONEST = '''
def cheapest(prices):
    """The lowest price; IndexError for an empty basket."""
    if not prices:
        raise IndexError("list index out of range")
    return min(prices)
'''
HANGS = """
def cheapest(prices):
    while True:
        pass
"""
HOGS = """
def cheapest(prices):
    blocks = []
    while True:
        blocks.append(bytearray(10**8))
"""


@pytest.fixture
def shop(make_project) -> Path:
    return make_project({"shop.py": LIB, "bench.py": BENCH})


def hostile_then_honest(ref: FunctionRef, path: str, source: str) -> Sequence[Candidate]:
    if ref.qualname != "cheapest":
        return []
    original = LIB.split("\n\n\ndef ways")[0]
    return [
        Candidate(
            ref, f"test:{name}", name, source.replace(original.strip(), body.strip()), body, path
        )
        for name, body in (("hangs", HANGS), ("hogs", HOGS), ("honest", HONEST))
    ]


def run(root: Path, **overrides: object):
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "candidate_timeout": 5.0,
            "memory_mb": 600,
            "measure_processes": 2,
            **overrides,
        },
    )
    return optimize(settings, proposers=(propose_rule_candidates, hostile_then_honest))


@pytest.mark.slow
def test_a_run_rejects_what_differs_survives_what_hangs_and_keeps_what_is_faster(
    shop: Path,
) -> None:
    result = run(shop)
    by_name = {t.function.qualname: t for t in result.targets}
    cheapest = by_name["cheapest"]
    tried = {c.candidate.origin: c for c in cheapest.candidates}

    rule = tried["rule:sorted-min-max"].verdict
    assert rule.status is VerdictStatus.DIFFERENT
    assert rule.difference.call == "cheapest([])"
    assert "ValueError" in rule.difference.description

    assert tried["test:hangs"].verdict.status is VerdictStatus.FAILED
    assert "did not finish" in tried["test:hangs"].verdict.reason
    assert tried["test:hogs"].verdict.status is VerdictStatus.FAILED
    assert "memory" in tried["test:hogs"].verdict.reason

    assert cheapest.status is TargetStatus.IMPROVED
    assert cheapest.best.candidate.origin == "test:honest"
    assert cheapest.best.measurement.speedup.ci_low > 1.2

    ways = by_name["ways"]
    assert ways.status is TargetStatus.IMPROVED
    assert ways.best.candidate.origin == "rule:memoize-recursive"

    run_dir = Path(result.run_dir)
    results = json.loads((run_dir / "results.json").read_text())
    assert {t["function"]: t["status"] for t in results["targets"]} == {
        "shop:cheapest": "improved",
        "shop:ways": "improved",
    }
    report = (run_dir / "report.md").read_text()
    assert "behaves differently** on recorded call #" in report and "`cheapest([])`" in report
    diff = (run_dir / "patch.diff").read_text()
    assert "+    return min(prices)" in diff and "+import functools" in diff
    assert results["workload_speedup"]["output_unchanged"] is True
    assert (shop / "shop.py").read_text() == LIB.lstrip("\n")  # not applied without --apply

    db = sqlite3.connect(shop / ".perfloop" / "perfloop.db")
    assert db.execute("SELECT status FROM runs").fetchone() == ("completed",)
    # 41 calls of cheapest; ways recurses, and its inner calls count too: max-calls (200) kept
    assert db.execute("SELECT COUNT(*) FROM call_records").fetchone()[0] == 41 + 200
    statuses = dict(
        db.execute(
            "SELECT origin, status FROM candidates JOIN verdicts USING (run_id, candidate_id)"
        )
    )
    assert statuses["test:hangs"] == "failed" and statuses["test:honest"] == "equivalent"


@pytest.mark.slow
def test_apply_refuses_when_a_file_changed_during_the_run(shop: Path) -> None:
    edited = "# edited while perfloop was running\n" + (shop / "shop.py").read_text()

    def edit_before_apply(stage: str) -> None:
        if stage.startswith("Applying"):
            (shop / "shop.py").write_text(edited)

    settings = load_settings(
        shop,
        {
            "workload": "python bench.py",
            "apply": True,
            "functions": ["shop:ways"],
            "measure_processes": 2,
        },
    )
    result = optimize(settings, progress=edit_before_apply)
    assert not result.applied
    assert any(
        "shop.py changed since this run read it; nothing was written" in n for n in result.notes
    )
    assert (shop / "shop.py").read_text() == edited


@pytest.mark.slow
def test_apply_writes_the_patch_and_the_workload_output_is_unchanged(shop: Path) -> None:
    import subprocess
    import sys

    before = subprocess.run(
        [sys.executable, "bench.py"], cwd=shop, capture_output=True, text=True
    ).stdout
    settings = load_settings(
        shop,
        {
            "workload": "python bench.py",
            "apply": True,
            "functions": ["shop:ways"],
            "measure_processes": 2,
        },
    )
    result = optimize(settings)
    assert result.applied
    assert "functools.cache" in (shop / "shop.py").read_text()
    assert (Path(result.run_dir) / "backup" / "shop.py").read_text() == LIB.lstrip("\n")
    after = subprocess.run(
        [sys.executable, "bench.py"], cwd=shop, capture_output=True, text=True
    ).stdout
    assert after == before
    assert result.workload_speedup is not None and result.workload_speedup.output_unchanged


def test_a_missing_target_is_a_usage_error_that_suggests_the_right_name(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(
        [
            "optimize",
            "--root",
            str(shop),
            "--workload",
            "python bench.py",
            "--function",
            "shop:cheapst",
        ]
    )
    assert code == 2
    err = capsys.readouterr().out
    assert "no function 'cheapst' in shop" in err and "did you mean shop:cheapest" in err
    assert not (shop / ".perfloop").exists()


def test_a_missing_module_is_a_usage_error(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "optimize",
            "--root",
            str(shop),
            "--workload",
            "python bench.py",
            "--function",
            "shopp:cheapest",
        ]
    )
    assert code == 2
    assert "no module 'shopp'" in capsys.readouterr().out


def test_no_workload_is_a_usage_error(shop: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["optimize", "--root", str(shop)]) == 2
    assert "no workload" in capsys.readouterr().out


def test_a_syntax_error_in_a_target_is_reported_with_its_line(
    shop: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (shop / "shop.py").write_text(LIB + "\ndef broken(:\n")
    code = main(
        [
            "optimize",
            "--root",
            str(shop),
            "--workload",
            "python bench.py",
            "--function",
            "shop:cheapest",
        ]
    )
    assert code == 2
    assert "syntax error" in capsys.readouterr().out
