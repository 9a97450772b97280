"""`perfloop bench` on an outside rewrite: the A/B, its interval, the noise floor, the workload."""

from __future__ import annotations

import json
import math
import re
import sqlite3
from pathlib import Path

import pytest
from outside_project import EDGE, HONEST

import perfloop
from perfloop.cli.main import main
from perfloop.measure import MeasureSettings, NoiseFloor
from perfloop.model import Candidate, FunctionRef, Measurement, RunId, Speedup
from perfloop.outside import BenchResult
from perfloop.report.json import bench_document
from perfloop.report.terminal import bench_text


@pytest.mark.slow
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
    assert noise is not None and noise.error is None, noise
    # optimize's A/A, same settings: 4 processes, more if they left the floor above 1.05
    assert noise.processes >= MeasureSettings.noise_processes
    assert noise.low <= noise.ratio <= noise.high
    # the A/B was decided against the threshold the A/A set, as in optimize
    assert result.threshold == noise.threshold == speedup.threshold >= 1.05
    assert speedup.noise_floor == noise.floor
    assert result.workload is not None and result.workload.output_unchanged is True

    db = sqlite3.connect(shop / ".perfloop" / "perfloop.db")
    subjects = {
        row[0]
        for row in db.execute("SELECT subject FROM measurements WHERE run_id=?", (result.run_id,))
    }
    assert subjects == {result.candidate.candidate_id, "workload"}
    (stored,) = db.execute("SELECT results_json FROM runs WHERE run_id=?", (result.run_id,))
    floor = json.loads(stored[0])["noise_floor"]  # the run keeps the A/A beside the A/B
    assert floor["floor"] == noise.floor and floor["processes"] == noise.processes
    assert floor["interval"] == [noise.low, noise.high] and floor["error"] is None


@pytest.mark.slow
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
    assert re.search(r"noise floor \(A/A: the original against itself, \d+ processes\): ", out)
    assert "; threshold " in out and ", detectable from " in out
    assert "\nmethod: " in out  # the method is stated next to the numbers
    assert "not verified here" in out


@pytest.mark.slow
def test_a_candidate_that_crashes_on_the_recorded_calls_is_not_measured(shop: Path) -> None:
    broken = "def cheapest(prices):\n    return prices.lowest()\n"
    result = perfloop.bench("shop:cheapest", broken, root=shop)
    assert result.measurement.speedup is None
    assert result.exit_code == 1
    assert "AttributeError" in (result.measurement.error or "")
    # the A/A runs first (it sets the A/B's threshold) and is reported all the same
    assert result.noise_floor is not None and result.noise_floor.error is None
    text = bench_text(result)
    assert re.search(r"noise floor \(A/A: the original against itself, \d+ processes\)", text)


def noisy_bench(noise: NoiseFloor, ci_low: float) -> BenchResult:
    """What bench hands back on a machine whose A/A strays `noise.floor` either way."""
    function = FunctionRef("shop", "cheapest")
    speedup = Speedup(
        ratio=ci_low + 0.05,
        ci_low=ci_low,
        ci_high=ci_low + 0.1,
        pairs=40,
        baseline_seconds=2e-3,
        candidate_seconds=1.6e-3,
        method="paired ABBA blocks",
        p_value=0.001,
        noise_floor=noise.floor if noise.error is None else None,
        threshold=noise.threshold,
        min_detectable=noise.min_detectable if noise.error is None else 1.2,
        processes=4,
    )
    return BenchResult(
        run_id=RunId("run-1"),
        function=function,
        candidate=Candidate(function, "file", "", "", "", "shop.py"),
        calls_recorded=21,
        measurement=Measurement(speedup, speedup.clears(noise.threshold)),
        noise_floor=noise,
        min_speedup=1.05,
    )


def test_on_a_noisy_machine_a_ratio_inside_the_noise_floor_is_not_called_faster() -> None:
    # identical code strayed 1.30x either way: an A/B of [1.20, 1.30] clears 1.05 but not that
    noisy = NoiseFloor(1.0, 0.77, 1.30, 1.30, 1.30, 1.45, 4, "A/A")
    result = noisy_bench(noisy, ci_low=1.20)
    assert result.speed == "faster, but below the threshold"  # significant, not noise
    assert result.threshold == 1.30

    text = bench_text(result)
    assert (
        "(original time / candidate time, 95% CI): faster by 25% [20%, 30%], significant, but "
        "the interval does not clear the 30% threshold (the A/A noise floor): not called faster\n"
    ) in text
    assert "noise floor (A/A: the original against itself, 4 processes): 1.00x [0.77, 1.30]" in text
    assert "noise floor 1.300x; threshold 1.300x, detectable from 1.450x" in text
    document = bench_document(result)
    assert document["speed"] == "faster, but below the threshold" and document["threshold"] == 1.30
    assert document["noise_floor"] == {
        "ratio": 1.0,
        "interval": [0.77, 1.30],
        "floor": 1.30,
        "threshold": 1.30,
        "min_detectable": 1.45,
        "processes": 4,
        "method": "A/A",
        "error": None,
    }
    assert noisy_bench(noisy, ci_low=1.35).speed == "faster"
    straddling = noisy_bench(noisy, ci_low=0.95)  # [0.95, 1.05]: p=0.001 is within processes
    assert straddling.speed == "no significant difference"
    assert (
        "no significant difference: the 95% interval includes 1.00x (the pairs' p=0.001 counts "
        "the noise within each process; the interval also counts the spread between processes)"
    ) in bench_text(straddling)


def test_a_failed_noise_floor_leaves_the_plain_threshold_and_says_why() -> None:
    failed = NoiseFloor(1.0, 0.0, math.inf, math.inf, 1.05, math.inf, 0, "", "worker killed")
    result = noisy_bench(failed, ci_low=1.20)
    assert result.speed == "faster" and result.threshold == 1.05
    assert (
        "noise floor (A/A: the original against itself): not measured, the threshold stays "
        "1.05: worker killed"
    ) in bench_text(result)
    floor = json.loads(json.dumps(bench_document(result), allow_nan=False))["noise_floor"]
    assert floor["error"] == "worker killed" and floor["threshold"] == 1.05
    assert floor["floor"] is None and floor["interval"] is None
