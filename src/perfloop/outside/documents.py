"""The JSON form of the outside results: `--json`, the run store, and the MCP server's answers.

Versioned like results.json (`schema`), plain JSON types only.
"""

from __future__ import annotations

import math

from perfloop.measure import NoiseFloor, WorkloadComparison
from perfloop.model import Measurement, Speedup
from perfloop.outside.results import (
    BenchResult,
    CheckResult,
    Counterexample,
    FunctionCheck,
    VerifyResult,
)
from perfloop.report.measurement import speedup_document
from perfloop.report.summary import speed_word
from perfloop.report.verification import strength_document, verdict_document

Document = dict[str, object]


def _speedup(speedup: Speedup | None) -> Document | None:
    return None if speedup is None else speedup_document(speedup)


def measurement_document(measurement: Measurement | None) -> Document | None:
    if measurement is None:
        return None
    return {
        "speedup": _speedup(measurement.speedup),
        "faster": measurement.faster,
        "error": measurement.error,
    }


def _finite(value: float) -> float | None:
    """JSON has no infinity: a bound the A/A could not set is null."""
    return value if math.isfinite(value) else None


def noise_floor_document(noise: NoiseFloor | None) -> Document | None:
    """The A/A run: its interval, the floor, the threshold it set and what it can detect."""
    if noise is None:
        return None
    measured = noise.error is None
    return {
        "ratio": noise.ratio if measured else None,
        "interval": [noise.low, _finite(noise.high)] if measured else None,
        "floor": _finite(noise.floor) if measured else None,
        "threshold": noise.threshold,
        "min_detectable": _finite(noise.min_detectable) if measured else None,
        "processes": noise.processes,
        "method": noise.method,
        "error": noise.error,
    }


def counterexample_document(example: Counterexample | None) -> Document | None:
    if example is None:
        return None
    return {
        "code": example.code,
        "exact": example.exact,
        "description": example.description,
        "call_index": example.call_index,
        "where": example.where,
        "tier": example.tier,
    }


def verify_document(result: VerifyResult) -> Document:
    return {
        "schema": "perfloop.verify/2",
        "run_id": result.run_id,
        "function": str(result.function),
        "candidate": {
            "origin": result.candidate.origin,
            "function_source": result.candidate.function_source,
        },
        "decision": result.decision.value,
        "exit_code": result.exit_code,
        "reason": result.reason,
        "gate": {"passed": result.gate.passed, "reason": result.gate.reason},
        "verdict": verdict_document(result.verdict),
        "verification_strength": strength_document(result.strength),
        "calls_seen": result.calls_seen,
        "calls_recorded": result.calls_recorded,
        "counterexample": counterexample_document(result.counterexample),
        "notes": list(result.notes),
    }


def workload_document(comparison: WorkloadComparison | None) -> Document | None:
    if comparison is None:
        return None
    return {
        "speedup": _speedup(comparison.speedup),
        "output_unchanged": comparison.output_unchanged,
        "error": comparison.error,
        "note": comparison.note,
    }


def bench_document(result: BenchResult) -> Document:
    return {
        "schema": "perfloop.bench/2",
        "run_id": result.run_id,
        "function": str(result.function),
        "candidate": {"origin": result.candidate.origin},
        "speed": result.speed,
        "speed_text": result.speed_text,
        "exit_code": result.exit_code,
        "min_speedup": result.min_speedup,
        "threshold": result.threshold,
        "calls_recorded": result.calls_recorded,
        "measurement": measurement_document(result.measurement),
        "noise_floor": noise_floor_document(result.noise_floor),
        "workload": workload_document(result.workload),
        "notes": list(result.notes),
        "steps": [{"step": step, "seconds": seconds} for step, seconds in result.steps],
    }


def function_check_document(
    check: FunctionCheck, min_speedup: float, max_slowdown: float
) -> Document:
    return {
        "function": str(check.function),
        "path": check.path,
        "status": check.status.name.lower(),
        "reason": check.reason,
        "calls_seen": check.calls_seen,
        "verdict": verdict_document(check.verdict),
        "measurement": measurement_document(check.measurement),
        "speed": speed_word(
            check.measurement.speedup if check.measurement else None, min_speedup, max_slowdown
        ),
        "counterexample": counterexample_document(check.counterexample),
    }


def check_document(result: CheckResult) -> Document:
    return {
        "schema": "perfloop.check/2",
        "run_id": result.run_id,
        "base": result.base,
        "workload": result.workload,
        "max_slowdown": result.max_slowdown,
        "min_speedup": result.min_speedup,
        "exit_code": result.exit_code,
        "functions": [
            function_check_document(f, result.min_speedup, result.max_slowdown)
            for f in result.functions
        ],
        "markdown_path": result.markdown_path,
        "notes": list(result.notes),
    }
