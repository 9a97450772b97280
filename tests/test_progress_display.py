"""What `perfloop optimize` shows while it works, as a user sees it: piped into a log, and in a
real pseudo-terminal with rich's live display."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from terminal_session import spawn

LIB = """
def known(skus, catalog):
    found = 0
    for sku in skus:
        if sku in catalog:
            found += 1
    return found
"""

BENCH = """
import random
from shop import known

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(300)] for _ in range(40)]
catalog = list(range(0, 4000, 3))
print(sum(known(b, catalog) for b in baskets))
"""

TESTS = """
from shop import known


def test_known():
    assert known([1, 2, 3], [2, 3, 4]) == 2
"""

# three tiers (replay, fuzz, the project's tests) on a small budget
PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
functions = ["shop:known"]
rules = ["set-membership"]
mutants = 0
fuzz-examples = 20
symbolic-seconds = 0
rollout = false
measure-processes = 1
measure-budget = 2
"""

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")
SPINNER = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


@pytest.fixture
def shop(make_project) -> Path:
    return make_project(
        {
            "shop.py": LIB,
            "bench.py": BENCH,
            "tests/test_shop.py": TESTS,
            "pyproject.toml": PYPROJECT,
        }
    )


@pytest.mark.slow
def test_a_piped_run_logs_each_tier_in_order(shop: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "optimize"],
        cwd=shop,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stderr.splitlines()
    assert all(re.match(r"perfloop \[\d+:\d\d\] ", line) for line in lines), lines
    steps = [line.split("] ", 1)[1] for line in lines]
    expected = [
        "Profiling the workload",
        "Capturing calls of 1 function",
        "Target 1 of 1: shop:known",
        "shop:known: preparing its verification (running the project's tests once)",
        "shop:known: verifying rule:set-membership",
        "shop:known: verifying rule:set-membership: replay tier",
        "shop:known: verifying rule:set-membership: fuzz tier",
        "shop:known: verifying rule:set-membership: tests tier",
        "shop:known: timing the original against itself (noise)",
        "shop:known: timing rule:set-membership",
        "Timing the whole workload, original against patched",
    ]
    assert [s for s in steps if s in expected] == expected, steps
    assert "1 of 1 functions made faster" in done.stdout  # the result on stdout, alone
    assert "perfloop [" not in done.stdout


@pytest.mark.slow
def test_the_live_display_shows_the_tiers_and_leaves_the_summary_whole(shop: Path) -> None:
    child = spawn(shop, "optimize", term="xterm-256color")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    screen = child.before

    live, _, after = screen.rpartition("\x1b[?25h")  # rich shows the cursor again at the end
    shown = ANSI.sub("", live)
    # the stage line with the run's time, the step under it with its own
    assert re.search(r"Target 1 of 1: shop:known +\d:\d\d:\d\d\r\n", shown), shown[-2000:]
    for tier in ("replay", "fuzz", "tests"):
        assert re.search(rf"verifying rule:set-membership: {tier} tier \d:\d\d:\d\d", shown)
    assert not any(glyph in after for glyph in SPINNER)
    assert "perfloop [" not in screen  # no log lines on a terminal

    # the summary after the live display is exactly `perfloop show RUN` in the same terminal
    (run_id,) = [p.name for p in (shop / ".perfloop" / "runs").iterdir()]
    again = spawn(shop, "show", run_id, term="xterm-256color")
    again.expect(pexpect.EOF)
    again.close()
    summary = ANSI.sub("", after).strip()
    assert "1 of 1 functions made faster" in summary
    assert summary == ANSI.sub("", again.before).strip()
