"""The rollout tier: the whole workload, run with the candidate in place, must print what
it printed with the original. It catches a difference on a call no other tier tried."""

from __future__ import annotations

from pathlib import Path

import pytest

import perfloop
from perfloop.cli.main import main
from perfloop.results import Decision

UNITS = """
def scale(n):
    return n * 2
"""

BENCH = """
from units import scale

total = 0
for i in range(3000):
    total += scale(i)
print("total", total)
print("last", scale(7777))
"""

PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
max-calls = 20
"""

# the same on every call but one the workload makes late, after the recorded ones
WRONG_LATE = """
def scale(n):
    if n == 7777:
        return 15553
    return n * 2
"""

RIGHT = """
def scale(n):
    return n + n
"""

QUICK = {"mutants": 0, "fuzz_examples": 0, "symbolic_seconds": 0, "project_tests": False}


@pytest.fixture
def units(make_project) -> Path:
    return make_project({"units.py": UNITS, "bench.py": BENCH, "pyproject.toml": PYPROJECT})


@pytest.mark.slow
def test_a_difference_on_a_call_no_recorded_call_covers_is_caught_by_the_workload(
    units: Path,
) -> None:
    replay_only = perfloop.verify("units:scale", WRONG_LATE, root=units, tiers=("replay",), **QUICK)
    assert replay_only.decision is Decision.EQUIVALENT  # 20 recorded calls, none is 7777

    result = perfloop.verify("units:scale", WRONG_LATE, root=units, **QUICK)

    assert result.decision is Decision.DIFFERENT, result.reason
    assert result.verdict is not None
    assert [(run.tier, run.outcome) for run in result.verdict.runs] == [
        ("replay", "same"),
        ("rollout", "different"),
    ]
    example = result.counterexample
    assert example is not None and example.tier == "rollout"
    assert example.code.startswith("python bench.py  # in ")
    assert example.description == (
        "the workload printed 'last 15553' where the original printed 'last 15554' "
        "(line 2 of its output)"
    )


@pytest.mark.slow
def test_a_right_rewrite_passes_the_rollout_and_says_so(units: Path, capsys) -> None:
    candidate = units / "candidate.py"
    candidate.write_text(RIGHT.lstrip("\n"))
    flags = ["--mutants", "0", "--fuzz-examples", "0"]
    code = main(
        ["verify", "units:scale", "--candidate", str(candidate), "--root", str(units), *flags]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "  rollout: same on 1 run of the workload (" in out


@pytest.mark.slow
def test_a_workload_whose_output_varies_cannot_judge_and_says_why(units: Path) -> None:
    (units / "bench.py").write_text(BENCH.lstrip("\n") + "import time\nprint(time.time())\n")
    result = perfloop.verify("units:scale", WRONG_LATE, root=units, **QUICK)
    assert result.verdict is not None
    rollout = next(run for run in result.verdict.runs if run.tier == "rollout")
    assert rollout.outcome == "skipped"
    assert "printed different output in two runs" in (rollout.note or "")
    assert result.decision is Decision.EQUIVALENT  # nothing else saw the late call


@pytest.mark.slow
def test_the_rollout_tier_is_a_setting(units: Path) -> None:
    result = perfloop.verify("units:scale", WRONG_LATE, root=units, rollout=False, **QUICK)
    assert result.verdict is not None
    assert "rollout" not in [run.tier for run in result.verdict.runs]
    assert result.decision is Decision.EQUIVALENT


@pytest.mark.slow
def test_optimize_runs_the_rollout_tier_on_its_own_candidates(make_project) -> None:
    root = make_project(
        {
            "shop.py": "def lowest(prices):\n    return sorted(prices)[0]\n",
            "bench.py": "from shop import lowest\n"
            "print([lowest([i % 7, 3, i % 5 + 1]) for i in range(200)])\n",
            "pyproject.toml": PYPROJECT,
        }
    )
    result = perfloop.optimize(root=root, functions=["shop:lowest"], **QUICK)
    best = result.targets[0].best or result.targets[0].candidates[0]
    assert best.verdict is not None
    assert ("rollout", "same") in [(run.tier, run.outcome) for run in best.verdict.runs]
