"""How a verdict and a target's verification strength are shown: JSON and one-line text.

The one encoding of these results: results.json, report.md, the terminal table and
the verify/check documents (and so the MCP server) all say the same thing, with the
same field names, about which tiers ran, how many inputs each tried, what differed
first, and how much "verified" is worth for each target.
"""

from __future__ import annotations

from typing import Any

from perfloop.model import Difference, TierRun, Verdict, VerdictStatus, VerificationStrength
from perfloop.verification.tiers import tier_named


def verdict_document(verdict: Verdict | None) -> dict[str, Any] | None:
    if verdict is None:
        return None
    return {
        "status": verdict.status.value,
        "tiers": list(verdict.tiers),
        "seconds": round(verdict.seconds, 3),
        "calls_checked": verdict.calls_checked,
        "runs": [
            {
                "tier": run.tier,
                "outcome": run.outcome,
                "inputs": run.inputs,
                "seconds": round(run.seconds, 3),
                "note": run.note,
            }
            for run in verdict.runs
        ],
        "difference": difference_document(verdict.difference),
        "reason": verdict.reason,
    }


def difference_document(difference: Difference | None) -> dict[str, Any] | None:
    if difference is None:
        return None
    return {
        "tier": difference.tier,
        "call": difference.call,
        "call_index": difference.call_index,
        "description": difference.description,
    }


def strength_document(strength: VerificationStrength | None) -> dict[str, Any] | None:
    if strength is None:
        return None
    score = strength.score
    return {
        "score": None if score is None else round(score, 4),
        "killed": strength.killed,
        "generated": strength.generated,
        "excluded_equivalent": strength.excluded,
        "threshold": strength.threshold,
        "weak": strength.weak,
        "killed_by": dict(strength.killed_by),
        "survivors": list(strength.survivors),
        "seconds": round(strength.seconds, 3),
        "note": strength.note,
    }


def tier_run_text(run: TierRun) -> str:
    """'fuzz: 211 inputs, same' / 'tests: skipped (the project has no tests)'."""
    if run.outcome == "skipped":
        return f"{run.tier}: skipped ({run.note})" if run.note else f"{run.tier}: skipped"
    text = f"{run.tier}: {run.inputs} {tier_named(run.tier).unit}, {run.outcome}"
    return f"{text} ({run.note})" if run.note else text


def tiers_text(verdict: Verdict) -> str:
    """Every tier considered, in order: what it tried and found."""
    if not verdict.runs:
        return f"{verdict.calls_checked} recorded calls replayed"
    return "; ".join(tier_run_text(run) for run in verdict.runs)


def strength_text(strength: VerificationStrength | None, verdict: Verdict | None = None) -> str:
    """One line: the mutation score, the threshold, and what survived.

    Without a score, the `verdict` it would rest on says why: nothing was verified, the
    self-check did not run, or the candidate was not found equivalent.
    """
    if strength is None:
        if verdict is None:
            return "verification strength: none, nothing was verified"
        if verdict.status is VerdictStatus.EQUIVALENT:
            return "verification strength unknown: the mutant self-check did not run"
        if verdict.status is VerdictStatus.UNVERIFIABLE:
            return "verification strength: none, nothing was verified (see the verdict's reason)"
        return "verification strength not measured: the candidate was not found equivalent"
    score = strength.score
    if score is None:
        return f"verification strength unknown: {strength.note or 'no mutant could be made'}"
    text = (
        f"verification strength {score:.0%}: {strength.killed} of {strength.generated} mutants "
        f"of the original told apart (a lower bound; threshold {strength.threshold:.0%})"
    )
    if strength.killed_by:
        text += " by " + ", ".join(f"{tier} {count}" for tier, count in strength.killed_by)
    if strength.weak:
        text += "; WEAKLY VERIFIED: a wrong rewrite could pass like the surviving mutants"
    if strength.note:
        text += f"; {strength.note}"
    if strength.survivors:
        text += "; surviving: " + "; ".join(strength.survivors[:3])
    return text
