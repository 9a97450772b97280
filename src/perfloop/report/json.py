"""The JSON renderer: results.json of a run and the documents of verify, bench and check.

What `--format json` (`--json`) prints, what the run store keeps and what the MCP server
sends. Versioned (`schema`, bumped on any incompatible change), plain JSON types only;
the keys are a stable interface.
"""

from __future__ import annotations

import json
import math
from functools import singledispatch
from typing import Any

from perfloop.measure import NoiseFloor, WorkloadComparison
from perfloop.measure.speed import speed_word
from perfloop.model import CandidateResult, Measurement, Speedup
from perfloop.report.base import CommandResult, Renderer
from perfloop.report.measurement import rounded, speedup_document
from perfloop.report.summary import llm_speedups, speed_text
from perfloop.report.verification import strength_document, verdict_document
from perfloop.results import (
    BenchResult,
    CheckResult,
    Counterexample,
    FunctionCheck,
    RunResult,
    TargetResult,
    VerifyResult,
)

Document = dict[str, Any]
SCHEMA = "perfloop.results/1"  # results.json of an optimize run


def measurement_extras(measurement: Measurement | None) -> dict[str, Any]:
    """Memory peaks, instruction counts and notes of a measurement, for results.json."""
    if measurement is None:
        return {}
    memory, counts = measurement.memory, measurement.instructions
    return {
        "objective": measurement.objective,
        "memory": {
            "baseline_peak_bytes": memory.baseline_bytes,
            "candidate_peak_bytes": memory.candidate_bytes,
            "calls": memory.calls,
        }
        if memory
        else None,
        "instructions": {
            "ratio": rounded(counts.ratio),
            "baseline_per_pass": counts.baseline,
            "candidate_per_pass": counts.candidate,
            "tool": counts.tool,
            "method": counts.method,
            "unavailable": counts.unavailable,
        }
        if counts
        else None,
        "measurement_notes": list(measurement.notes),
    }


def _best(best: CandidateResult | None) -> dict[str, Any] | None:
    if best is None or best.measurement is None or best.measurement.speedup is None:
        return None
    speedup = best.measurement.speedup
    verdict = best.verdict
    return {
        "origin": best.candidate.origin,
        "speedup": rounded(speedup.ratio),
        "ci": [rounded(speedup.ci_low), rounded(speedup.ci_high)],
        "verified_calls": verdict.calls_checked if verdict else 0,
        "tiers": list(verdict.tiers) if verdict else [],
        "rationale": best.candidate.rationale,
        "candidate_id": best.candidate.candidate_id,
        "verification": verdict_document(verdict),
        "measurement": speedup_document(speedup),
        **measurement_extras(best.measurement),
    }


def _target(target: TargetResult) -> dict[str, Any]:
    return {
        "function": str(target.function),
        "kind": "class" if target.whole_class else "function",
        "share": rounded(target.share),
        "status": target.status.value,
        "reason": target.reason,
        "best": _best(target.best),
        "candidates_tried": len(target.candidates),
        "calls_recorded": target.calls_recorded,
        "strength": strength_document(target.strength),
        "weakly_verified": target.weakly_verified,
        "cache": (
            None
            if target.cache is None
            else {
                "state": target.cache.state.value,
                "why": target.cache.why,
                "run_id": target.cache.run_id,
            }
        ),
        "notes": list(target.notes),
    }


def _llm(result: RunResult) -> dict[str, Any] | None:
    usage = result.llm_usage
    if usage is None:
        return None
    wins = llm_speedups(result)
    return {
        "calls": usage.calls,
        "cached_calls": usage.cached_calls,
        "failed_calls": usage.failed_calls,
        "command_runs": usage.command_runs,
        "prompt_tokens": usage.prompt_tokens,
        "completion_tokens": usage.completion_tokens,
        "seconds": rounded(usage.seconds),
        "cost": usage.cost,
        "verified_speedups": wins,
        "tokens_per_verified_speedup": usage.tokens / wins if wins else None,
        "seconds_per_verified_speedup": rounded(usage.seconds / wins) if wins else None,
    }


def results_document(result: RunResult) -> dict[str, Any]:
    workload = result.workload_speedup
    return {
        "schema": SCHEMA,
        "run_id": result.run_id,
        "python": result.python,
        "workload": result.workload,
        "targets": [_target(t) for t in result.targets],
        "workload_speedup": (
            {
                "ratio": rounded(workload.speedup.ratio),
                "ci": [rounded(workload.speedup.ci_low), rounded(workload.speedup.ci_high)],
                "output_unchanged": workload.output_unchanged,
                "method": workload.speedup.method,
                "p_value": workload.speedup.p_value,
                "wall": speedup_document(workload.wall_speedup) if workload.wall_speedup else None,
                "note": workload.note,
            }
            if workload
            else None
        ),
        "applied": result.applied,
        "applied_without_tests": result.applied_without_tests,
        "notes": list(result.notes),
        "llm": _llm(result),
        "decisions": [
            {
                "function": str(d.function),
                "action": d.action.value,
                "candidate_id": d.candidate_id,
                "origin": d.origin,
                "outcome_id": d.outcome_id,
                "outcome": d.outcome,
                "hint": d.text or None,
            }
            for d in result.decisions
        ],
    }


def _speedup(speedup: Speedup | None) -> Document | None:
    return None if speedup is None else speedup_document(speedup)


def measurement_document(measurement: Measurement | None) -> Document | None:
    if measurement is None:
        return None
    return {
        "speedup": _speedup(measurement.speedup),
        "faster": measurement.faster,
        "error": measurement.error,
        "untimed": measurement.untimed,
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
        "speed_text": speed_text(result.measurement.speedup, result.threshold),
        "exit_code": result.exit_code,
        "min_speedup": result.min_speedup,
        "threshold": result.threshold,
        "calls_recorded": result.calls_recorded,
        "timed": result.timed,
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


@singledispatch
def document(result: CommandResult) -> Document:
    """The JSON document of any command's result."""
    raise TypeError(f"no JSON document for {type(result).__name__}")


document.register(RunResult, results_document)
document.register(VerifyResult, verify_document)
document.register(BenchResult, bench_document)
document.register(CheckResult, check_document)


def render(result: CommandResult) -> str:
    return json.dumps(document(result), indent=2) + "\n"


RENDERER = Renderer(
    name="json",
    description="the machine-readable document (results.json of a run)",
    render=render,
    run_file="results.json",
)
