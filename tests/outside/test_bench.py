"""`perfloop bench` on an outside rewrite: the A/B, its interval, the noise floor, the workload."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from outside_project import EDGE, HONEST

import perfloop
from perfloop.cli import main


def test_a_correct_rewrite_is_measured_with_its_noise_floor_and_the_whole_workload(
    shop: Path,
) -> None:
    result = perfloop.bench("shop:cheapest", HONEST, workload_level=True, root=shop)

    speedup = result.measurement.speedup
    assert speedup is not None, result.measurement.error
    assert speedup.ci_low <= speedup.ratio <= speedup.ci_high
    # sorting 20 lists of up to 2000 numbers against one min() over each: far beyond noise
    assert result.speed == "faster"
    assert result.exit_code == 0
    noise = result.noise_floor
    assert noise is not None and noise.speedup is not None
    assert noise.speedup.method  # timed the same way as the A/B, and it says how
    assert result.workload is not None and result.workload.output_unchanged is True

    db = sqlite3.connect(shop / ".perfloop" / "perfloop.db")
    subjects = {
        row[0]
        for row in db.execute("SELECT subject FROM measurements WHERE run_id=?", (result.run_id,))
    }
    assert subjects == {result.candidate.candidate_id, "noise-floor", "workload"}


def test_bench_prints_the_ratio_interval_and_noise_floor_and_reuses_a_run(
    shop: Path, capsys
) -> None:
    first = perfloop.verify("shop:cheapest", EDGE, root=shop, tiers=("replay",), mutants=0)
    candidate = shop / "candidate.py"
    candidate.write_text(EDGE)
    code = main(
        [
            *("bench", "shop:cheapest", "--candidate", str(candidate), "--run", first.run_id),
            *("--root", str(shop), "--workload", "exit 9"),  # not run: the calls come from the run
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "speedup: " in out and "(original time / candidate time, 95% CI)" in out
    assert "noise floor (A/A: the original against itself): " in out
    assert "\nmethod: " in out  # the method is stated next to the numbers
    assert "not verified here" in out


def test_a_candidate_that_crashes_on_the_recorded_calls_is_not_measured(shop: Path) -> None:
    broken = "def cheapest(prices):\n    return prices.lowest()\n"
    result = perfloop.bench("shop:cheapest", broken, root=shop)
    assert result.measurement.speedup is None
    assert result.exit_code == 1
    assert result.noise_floor is None  # no A/A either: there is no ratio to set it beside
    assert "AttributeError" in (result.measurement.error or "")
