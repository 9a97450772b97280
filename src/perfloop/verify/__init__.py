"""Verification: decide whether a candidate behaves exactly like the original.

Tiers run cheap to expensive and stop at the first difference. `verify_candidate`
is the one entry point the search calls; each tier is a module of its own
(replay today), and the equivalence relation they share is in `compare`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from perfloop.model import CallRecord, Candidate, Limits, Verdict
from perfloop.verify.compare import DEFAULT_POLICY, ComparePolicy
from perfloop.verify.replay import replay_candidate


def verify_candidate(
    candidate: Candidate,
    records: Sequence[CallRecord],
    *,
    root: Path,
    limits: Limits,
    policy: ComparePolicy = DEFAULT_POLICY,
) -> Verdict:
    """Run the tiers in order; the verdict lists every tier that ran."""
    return replay_candidate(candidate, records, root=root, limits=limits, policy=policy)


__all__ = ["ComparePolicy", "verify_candidate"]
