"""Datasets of verified edits from a project's runs: `perfloop export --format FORMAT`.

Each run of `perfloop optimize` leaves, in `.perfloop/perfloop.db`, every candidate it
proposed with its verdict per tier and its measurement; this turns them into JSON Lines
that a user can train or evaluate on (the schemas, as JSON Schema, are `SCHEMAS`; the
README says what each field means):

- `pie`: slow/fast pairs, the original function and a verified version measured faster,
  with the speedup, its interval, the verification that defines "the same" (tiers,
  strength) and up to 20 recorded calls as the inputs it was judged on;
- `reward`: every candidate that reached verification, with a reward that combines
  correctness (the verdict) and efficiency (the measured ratio): -1 for a behaviour
  difference or a failed check, 0 when undecided, and for a verified candidate
  0.5 + 0.5 * clamp(log2(speedup), -1, 1) (0.5 when not timed);
- `diffs`: each target's chosen candidate as a sequence of small unified diffs of the
  function, one per rule applied (`rules:a+b` gives two steps; any other origin one).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from perfloop.model import CandidateResult, FunctionRef, RunId, VerdictStatus, verified
from perfloop.propose import combine_rules, in_combination_order
from perfloop.qualnames import function_source
from perfloop.results import CacheState, RunResult, TargetResult
from perfloop.store.checkpoints import SOURCES_STEP
from perfloop.store.runs import RunStore

FORMATS = ("pie", "reward", "diffs")
CALLS_KEPT = 20  # recorded calls per pair, as the inputs the pair was judged on

_STRING = {"type": "string"}
_NUMBER = {"type": "number"}
_RATIO = {"type": ["number", "null"]}
_INTERVAL = {
    "type": ["array", "null"],
    "items": _NUMBER,
    "minItems": 2,
    "maxItems": 2,
}
_TIERS = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["tier", "outcome", "inputs"],
        "properties": {
            "tier": _STRING,
            "outcome": _STRING,
            "inputs": {"type": "integer"},
            "note": {"type": ["string", "null"]},
        },
    },
}
_COMMON = {
    "schema": _STRING,
    "run_id": _STRING,
    "python": _STRING,
    "function": _STRING,
    "path": _STRING,
    "origin": _STRING,
}


def _schema(name: str, required: dict[str, Any]) -> dict[str, Any]:
    properties = {**_COMMON, **required}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": f"perfloop.export.{name}/1",
        "type": "object",
        "required": list(properties),
        "properties": properties,
    }


SCHEMAS: dict[str, dict[str, Any]] = {
    "pie": _schema(
        "pie",
        {
            "slow": _STRING,
            "fast": _STRING,
            "speedup": _NUMBER,
            "ci": _INTERVAL,
            "p_value": _RATIO,
            "verification": _TIERS,
            "strength": _RATIO,
            "calls": {"type": "array", "items": _STRING},
        },
    ),
    "reward": _schema(
        "reward",
        {
            "original": _STRING,
            "candidate": _STRING,
            "verdict": {"enum": ["equivalent", "different", "failed", "undecided"]},
            "first_difference": {"type": ["string", "null"]},
            "speedup": _RATIO,
            "ci": _INTERVAL,
            "reward": {"type": "number", "minimum": -1, "maximum": 1},
        },
    ),
    "diffs": _schema(
        "diffs",
        {
            "original": _STRING,
            "final": _STRING,
            "speedup": _RATIO,
            "steps": {
                "type": "array",
                "minItems": 1,
                "items": {
                    "type": "object",
                    "required": ["origin", "diff"],
                    "properties": {"origin": _STRING, "diff": _STRING},
                },
            },
        },
    ),
}


class ExportError(Exception):
    """A run to export that is not there or kept nothing to export; the message says."""


@dataclass(frozen=True)
class OptimizeRun:
    """One optimize run as the store keeps it: its targets and the sources it read."""

    run_id: str
    python: str
    targets: tuple[TargetResult, ...]
    sources: dict[FunctionRef, tuple[str, str]]  # (path, module source) as the run read it


def export_lines(store: RunStore, format: str, run_ids: Sequence[str] = ()) -> Iterator[dict]:
    """The records of `format` for `run_ids` (default: every completed optimize run)."""
    if format not in FORMATS:
        raise ExportError(f"unknown format {format!r}; use one of {', '.join(FORMATS)}")
    runs = list(optimize_runs(store, run_ids))
    exported = {run.run_id for run in runs}
    for run in runs:
        for target in run.targets:
            source = run.sources.get(target.function)
            if source is None:
                continue  # passed over or skipped: the run never read its source
            if reused_from(target) in exported:
                continue  # the run that computed it gives its records, once
            path, module_source = source
            original = function_source(module_source, target.function.qualname)
            if format == "pie":
                yield from _pie(store, run, target, path, original)
            elif format == "reward":
                yield from _reward(run, target, path, original)
            else:
                yield from _diffs(run, target, path, module_source, original)


def verified_faster(target: TargetResult) -> list[CandidateResult]:
    """The target's candidates that verified and measured faster: the slow/fast pairs."""
    return [c for c in target.candidates if verified(c) and c.measurement and c.measurement.faster]


def reused_from(target: TargetResult) -> str | None:
    """The run whose verdicts and measurements a target reused from the result cache."""
    cache = target.cache
    if cache is None or cache.state is not CacheState.REUSED:
        return None
    return cache.run_id


def optimize_runs(store: RunStore, run_ids: Sequence[str]) -> Iterator[OptimizeRun]:
    known = {row.run_id: row for row in store.runs()}
    for run_id in run_ids:
        if run_id not in known:
            raise ExportError(f"no run {run_id} in this project; `perfloop runs` lists them")
    chosen = list(run_ids) or [r for r, row in known.items() if row.status == "completed"]
    for run_id in chosen:
        steps = store.steps(RunId(run_id))
        sources = steps.get(SOURCES_STEP)
        if not isinstance(sources, dict):
            if run_ids:  # asked for by name: say why there is nothing
                raise ExportError(
                    f"run {run_id} is not a `perfloop optimize` run (verify, bench and check "
                    "runs have no candidates of their own to export)"
                )
            continue
        result = store.load_result(RunId(run_id))
        if isinstance(result, RunResult):
            targets, python = result.targets, result.python
        else:  # a run of an earlier perfloop, or a stopped one: its finished targets
            targets = tuple(v for k, v in steps.items() if k.startswith("target:"))
            info = store.run_info(RunId(run_id))
            python = info.python if info else ""
        yield OptimizeRun(
            run_id, python, tuple(t for t in targets if isinstance(t, TargetResult)), sources
        )


def _header(name: str, run: OptimizeRun, target: TargetResult, path: str, origin: str) -> dict:
    return {
        "schema": f"perfloop.export.{name}/1",
        "run_id": run.run_id,
        "python": run.python,
        "function": str(target.function),
        "path": path,
        "origin": origin,
    }


def _interval(result: CandidateResult) -> list[float] | None:
    speedup = result.measurement.speedup if result.measurement else None
    return None if speedup is None else [speedup.ci_low, speedup.ci_high]


def _ratio(result: CandidateResult) -> float | None:
    speedup = result.measurement.speedup if result.measurement else None
    return None if speedup is None else speedup.ratio


def _pie(store: RunStore, run: OptimizeRun, target: TargetResult, path: str, original: str):
    faster = verified_faster(target)
    if not faster:
        return
    capture = store.load_capture(RunId(run.run_id), str(target.function))
    calls = [r.call_repr for r in capture.records[:CALLS_KEPT]] if capture else []
    strength = target.strength.score if target.strength else None
    for result in faster:
        speedup = result.measurement.speedup  # type: ignore[union-attr]
        assert speedup is not None and result.verdict is not None
        yield {
            **_header("pie", run, target, path, result.candidate.origin),
            "slow": original,
            "fast": result.candidate.function_source,
            "speedup": speedup.ratio,
            "ci": [speedup.ci_low, speedup.ci_high],
            "p_value": speedup.p_value,
            "verification": [
                {"tier": t.tier, "outcome": t.outcome, "inputs": t.inputs, "note": t.note}
                for t in result.verdict.runs
            ],
            "strength": strength,
            "calls": calls,
        }


def reward_of(result: CandidateResult) -> tuple[str, float]:
    """The verdict word and the reward in [-1, 1] (see the module docstring)."""
    verdict = result.verdict
    assert verdict is not None
    if verdict.status is VerdictStatus.DIFFERENT or verdict.status is VerdictStatus.FAILED:
        return verdict.status.value, -1.0
    if verdict.status is not VerdictStatus.EQUIVALENT:
        return "undecided", 0.0
    ratio = _ratio(result)
    if ratio is None or ratio <= 0:
        return "equivalent", 0.5
    return "equivalent", 0.5 + 0.5 * max(-1.0, min(1.0, math.log2(ratio)))


def _reward(run: OptimizeRun, target: TargetResult, path: str, original: str):
    for result in target.candidates:
        if result.verdict is None:
            continue  # stopped at the gate: never judged
        word, reward = reward_of(result)
        difference = result.verdict.difference
        yield {
            **_header("reward", run, target, path, result.candidate.origin),
            "original": original,
            "candidate": result.candidate.function_source,
            "verdict": word,
            "first_difference": (
                f"{difference.call}: {difference.description}" if difference else None
            ),
            "speedup": _ratio(result),
            "ci": _interval(result),
            "reward": reward,
        }


def _diffs(run: OptimizeRun, target: TargetResult, path: str, module_source: str, original: str):
    best = target.best
    if best is None:
        return
    ref, origin = target.function, best.candidate.origin
    versions: list[tuple[str, str]] = []  # (what was applied, the function after it)
    if origin.startswith("rules:"):
        rule_ids = in_combination_order(origin.removeprefix("rules:").split("+"))
        for count in range(1, len(rule_ids) + 1):
            step = combine_rules(ref, path, module_source, rule_ids[:count])
            if step is None:  # a rule no longer fires on this Python: one step instead
                versions = []
                break
            versions.append((f"rule:{rule_ids[count - 1]}", step.function_source))
    if not versions or versions[-1][1] != best.candidate.function_source:
        versions = [(origin, best.candidate.function_source)]  # the steps do not retrace it
    steps, before = [], original
    for applied, after in versions:
        steps.append({"origin": applied, "diff": _unified(before, after, str(ref))})
        before = after
    yield {
        **_header("diffs", run, target, path, origin),
        "original": original,
        "final": best.candidate.function_source,
        "speedup": _ratio(best),
        "steps": steps,
    }


def _unified(before: str, after: str, name: str) -> str:
    return "".join(
        difflib.unified_diff(
            before.splitlines(keepends=True),
            after.splitlines(keepends=True),
            f"a/{name}",
            f"b/{name}",
        )
    )
