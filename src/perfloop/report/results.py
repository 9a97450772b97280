"""results.json: the machine-readable result. Its keys are a stable interface.

`schema` is bumped on any incompatible change.
"""

from __future__ import annotations

from typing import Any

from perfloop.model import CandidateResult, Measurement, RunResult, TargetResult
from perfloop.report.measurement import rounded, speedup_document
from perfloop.report.summary import llm_speedups
from perfloop.report.verification import strength_document, verdict_document

SCHEMA = "perfloop.results/1"


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
        "share": rounded(target.share),
        "status": target.status.value,
        "reason": target.reason,
        "best": _best(target.best),
        "candidates_tried": len(target.candidates),
        "calls_recorded": target.calls_recorded,
        "strength": strength_document(target.strength),
        "weakly_verified": target.weakly_verified,
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
    }
