"""Measurement settings from [tool.perfloop] and flags, and how results show the figures."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from perfloop.config import ConfigError, load_settings
from perfloop.measure import MeasureSettings, settings_from
from perfloop.measure.flags import MEASURE_FLAGS, add_measure_arguments
from perfloop.model import InstructionCounts, Limits, Measurement, MemoryPeaks, Speedup
from perfloop.report.json import measurement_extras, speedup_document
from perfloop.report.summary import measurement_details


def test_settings_reach_the_measurement(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.perfloop]\nobjective = "memory"\nmax-slowdown = 1.1\nmeasure-budget = 4\n'
    )
    run = load_settings(tmp_path, {"measure_processes": 4, "counters": True})
    settings = settings_from(run)
    assert settings.objective == "memory" and settings.max_slowdown == 1.1
    assert settings.budget_seconds == 4 and settings.processes == 4 and settings.counters
    assert settings.max_processes >= settings.processes


def test_timing_gets_cpu_time_for_its_whole_wall_clock(tmp_path: Path) -> None:
    """A heavy function's candidate gets tight check limits (10x the original's time); its
    timing process, dozens of passes of both versions, must not be killed by SIGXCPU (it
    was, on pyperformance's bm_float, with 15 CPU seconds under a 120 s wall clock)."""
    check = Limits(wall_seconds=10, cpu_seconds=15, memory_mb=512)
    timing = settings_from(load_settings(tmp_path, {}), check).limits
    assert timing.wall_seconds >= 120 and timing.cpu_seconds >= timing.wall_seconds
    assert timing.memory_mb == 512


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("objective", "speed", "objective must be 'time' or 'memory'"),
        ("max_slowdown", 0.9, "max-slowdown must be a number of at least 1.0"),
        ("measure_budget", 0, "measure-budget must be a positive number"),
        ("measure_processes", 0, "measure-processes must be a whole number"),
    ],
)
def test_bad_measurement_settings_say_what_to_write(
    tmp_path: Path, key: str, value: object, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(tmp_path, {key: value})


def test_the_flags_parse_into_the_settings_keys() -> None:
    parser = argparse.ArgumentParser()
    add_measure_arguments(parser)
    args = parser.parse_args(["--objective", "memory", "--measure-budget", "3", "--counters"])
    assert {key: getattr(args, key) for key in MEASURE_FLAGS} == {
        "objective": "memory",
        "max_slowdown": None,
        "measure_budget": 3.0,
        "measure_processes": None,
        "counters": True,
    }


def test_measure_settings_refuse_nonsense() -> None:
    with pytest.raises(ValueError, match="objective"):
        MeasureSettings(objective="speed")
    with pytest.raises(ValueError, match="max_processes"):
        MeasureSettings(processes=5, max_processes=3)


SPEEDUP = Speedup(1.31, 1.22, 1.4, 40, 0.002, 0.0015, "the method", 0.0004, 1.021, 1.05, 1.08, 4)


def test_the_figures_beside_the_ratio() -> None:
    measurement = Measurement(
        SPEEDUP,
        True,
        memory=MemoryPeaks(2 * 1024 * 1024, 1024, 20),
        instructions=InstructionCounts(2.6e6, 2e6, "callgrind", "three runs"),
        notes=("a note",),
    )
    text = measurement_details(measurement)
    assert "p=0.0004" in text and "noise floor 1.021x" in text
    assert "threshold 1.050x, detectable from 1.080x" in text
    assert "peak memory per call 2.0 MB -> 1.0 KB" in text
    assert "instructions 1.30x (callgrind)" in text and text.endswith("a note")
    document = {**speedup_document(SPEEDUP), **measurement_extras(measurement)}
    assert document["p_value"] == 0.0004 and document["noise_floor"] == 1.021
    assert document["memory"]["candidate_peak_bytes"] == 1024
    assert document["instructions"]["ratio"] == 1.3
    assert document["measurement_notes"] == ["a note"]


def test_unavailable_counters_and_unknown_floors_stay_honest() -> None:
    measurement = Measurement(
        SPEEDUP,
        False,
        instructions=InstructionCounts(None, None, None, "", "perf stat cannot count here"),
    )
    assert measurement_extras(measurement)["instructions"]["unavailable"] == (
        "perf stat cannot count here"
    )
    infinite = Speedup(1.0, 0.0, float("inf"), 2, 1.0, 1.0, "m", None, None, 1.05, float("inf"))
    assert speedup_document(infinite)["min_detectable"] is None


def test_a_memory_win_is_called_less_memory_not_faster() -> None:
    from perfloop.model import Candidate, CandidateResult, FunctionRef, GateResult
    from perfloop.report.summary import verdict_text
    from perfloop.results import TargetResult, TargetStatus

    ref = FunctionRef("m", "f")
    best = CandidateResult(
        Candidate(ref, "rule:x", "", "", "", "m.py"),
        GateResult(True),
        measurement=Measurement(
            SPEEDUP, True, memory=MemoryPeaks(4096, 1024, 3), better=True, objective="memory"
        ),
    )
    target = TargetResult(ref, 0.5, TargetStatus.IMPROVED, None, 3, (best,), best)
    assert verdict_text(target).startswith("less memory, verified")
