"""`perfloop` as a user runs it: a real process, its exit code and its output."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "shop"


def perfloop(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "perfloop", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.slow
def test_a_failing_workload_exits_1_and_says_why(make_project) -> None:
    root = make_project({"bench.py": "raise SystemExit('the data file is missing')\n"})
    done = perfloop("optimize", "--workload", "python bench.py", cwd=root)
    assert done.returncode == 1
    assert "the workload failed" in done.stdout
    assert "the data file is missing" in done.stdout


def test_bad_flags_exit_2(tmp_path: Path) -> None:
    done = perfloop("optimize", "--top", "many", cwd=tmp_path)
    assert done.returncode == 2
    assert "invalid int value" in done.stderr


@pytest.mark.slow
def test_the_bundled_example_gets_verified_speedups_and_applies_cleanly(tmp_path: Path) -> None:
    project = tmp_path / "shop"
    shutil.copytree(EXAMPLE, project, ignore=shutil.ignore_patterns(".perfloop", "__pycache__"))
    before = subprocess.run(
        [sys.executable, "bench.py"], cwd=project, capture_output=True, text=True
    )

    done = perfloop("optimize", "--apply", "--json", cwd=project)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    # piped, not a terminal: the progress is a line per step on stderr, with the time taken
    progress = [line for line in done.stderr.splitlines() if line.startswith("perfloop [")]
    assert progress[0] == "perfloop [0:00] Profiling the workload", done.stderr
    assert any(
        line.endswith("] Target 1 of 5: " + results["targets"][0]["function"]) for line in progress
    ), progress
    assert any(": verifying rule:" in line for line in progress), progress

    # "improved": the interval's lower end clears the threshold (how far above it is a
    # figure for benchmarks/rule_sets_on_example.py, not for a test on a shared machine)
    improved = [t for t in results["targets"] if t["status"] == "improved"]
    assert len(improved) >= 3, results
    for target in improved:  # verified on the recorded calls, then by fuzzing
        assert target["best"]["verified_calls"] > 0
        assert target["best"]["tiers"][:2] == ["replay", "fuzz"], target
    assert results["workload_speedup"]["output_unchanged"] is True
    assert results["workload_speedup"]["ratio"] > 1.0
    assert results["applied"] is True

    after = subprocess.run(
        [sys.executable, "bench.py"], cwd=project, capture_output=True, text=True
    )
    assert after.returncode == 0
    assert after.stdout == before.stdout
    run_dir = project / ".perfloop" / "runs" / results["run_id"]
    assert (run_dir / "patch.diff").read_text().startswith("--- a/shoplib/")
