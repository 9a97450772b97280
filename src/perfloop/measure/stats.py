"""The statistics of an A/B timing: the experimental order and the paired-ratio interval.

Pure functions of numbers, deterministic for a given seed, so they are tested
exactly. The design (see `perfloop.measure` for why we write our own):

- `abba_schedule`: blocks run A B B A A B B A ...; pair i is the two blocks
  2i and 2i+1, so a linear drift over four blocks cancels in the product of
  two neighbouring pair ratios, and both sides get equally many samples.
- `paired_ratio_interval`: r_i = A_i / B_i per pair (> 1: B is faster); the
  point estimate is the geometric mean exp(mean(log r_i)), which treats
  "twice as fast" and "twice as slow" symmetrically; the interval is a
  percentile bootstrap that resamples groups (worker processes) first and then
  pairs within each chosen group, because blocks of one process share its
  memory layout and hash seed and are not independent.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

DEFAULT_RESAMPLES = 2000
DEFAULT_SEED = 0


class Side(str, Enum):
    """Which version a timed block ran: A is the original (baseline), B the candidate."""

    BASELINE = "A"
    CANDIDATE = "B"


def abba_schedule(pairs: int) -> tuple[tuple[int, Side], ...]:
    """The block order for `pairs` pairs: (pair index, side), A B B A A B B A ...

    Even pairs run A then B, odd pairs B then A; every pair has one block of each.
    """
    if pairs < 1:
        raise ValueError(f"need at least one pair of blocks, got {pairs}")
    order: list[tuple[int, Side]] = []
    for pair in range(pairs):
        first, second = (
            (Side.BASELINE, Side.CANDIDATE) if pair % 2 == 0 else (Side.CANDIDATE, Side.BASELINE)
        )
        order += [(pair, first), (pair, second)]
    return tuple(order)


@dataclass(frozen=True)
class RatioInterval:
    """A geometric-mean ratio of paired times with its bootstrap interval."""

    ratio: float
    low: float
    high: float
    pairs: int
    groups: int
    confidence: float
    resamples: int

    def clears(self, threshold: float) -> bool:
        """True when the whole interval lies at or above `threshold`."""
        return self.low >= threshold


def log_ratios(pairs: Sequence[tuple[float, float]]) -> list[float]:
    """log(a / b) for each (a, b) pair of positive durations."""
    logs = []
    for a, b in pairs:
        if a <= 0 or b <= 0:
            raise ValueError(f"durations must be positive, got the pair ({a}, {b})")
        logs.append(math.log(a) - math.log(b))
    return logs


def geometric_mean_ratio(pairs: Sequence[tuple[float, float]]) -> float:
    """exp(mean(log(a_i / b_i))) over all pairs."""
    logs = log_ratios(pairs)
    if not logs:
        raise ValueError("need at least one pair")
    return math.exp(math.fsum(logs) / len(logs))


def hierarchical_bootstrap_means(
    groups: Sequence[Sequence[float]], *, resamples: int, rng: random.Random
) -> list[float]:
    """Bootstrap distribution of the pooled mean: resample groups, then values within each.

    With a single group this is the ordinary bootstrap over its values.
    """
    if not groups or any(not group for group in groups):
        raise ValueError("every group needs at least one value")
    means = []
    for _ in range(resamples):
        chosen = [groups[rng.randrange(len(groups))] for _ in groups]
        values = [group[rng.randrange(len(group))] for group in chosen for _ in group]
        means.append(math.fsum(values) / len(values))
    return means


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear-interpolated percentile of already sorted values (numpy's default rule)."""
    if not sorted_values:
        raise ValueError("no values")
    position = (len(sorted_values) - 1) * fraction
    below = math.floor(position)
    above = min(below + 1, len(sorted_values) - 1)
    weight = position - below
    return sorted_values[below] + (sorted_values[above] - sorted_values[below]) * weight


def paired_ratio_interval(
    groups: Sequence[Sequence[tuple[float, float]]],
    *,
    confidence: float = 0.95,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
) -> RatioInterval:
    """Geometric-mean ratio a/b over all pairs, with a hierarchical bootstrap interval.

    `groups` holds, per worker process (or one group for independent runs), the
    (baseline, candidate) durations of each pair.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    log_groups = [log_ratios(group) for group in groups]
    pooled = [value for group in log_groups for value in group]
    if not pooled:
        raise ValueError("need at least one pair")
    means = sorted(
        hierarchical_bootstrap_means(log_groups, resamples=resamples, rng=random.Random(seed))
    )
    tail = (1 - confidence) / 2
    return RatioInterval(
        ratio=math.exp(math.fsum(pooled) / len(pooled)),
        low=math.exp(percentile(means, tail)),
        high=math.exp(percentile(means, 1 - tail)),
        pairs=len(pooled),
        groups=len(log_groups),
        confidence=confidence,
        resamples=resamples,
    )
