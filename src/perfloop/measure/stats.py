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


# --- the interval perfloop decides on: a t-interval across independent groups ----------
#
# Why not the bootstrap above: with 3 worker processes (or 5 whole-workload pairs)
# a percentile bootstrap sees only 3 (5) distinct groups, and its interval is too
# narrow: it cannot know how far a fourth process might land. Student's t with
# groups - 1 degrees of freedom widens the interval by exactly that ignorance.
# Each group (a worker process) contributes one robust estimate, the
# Hodges-Lehmann median of its pairs' log ratios, so a burst of load that hits
# one block does not move it; the groups' estimates are independent (a fresh
# interpreter, hash seed and memory layout each), which is what t assumes.

INTERIM_CONFIDENCE = 0.999  # Haybittle-Peto: an early "faster" needs p < 0.001


class Decision(str, Enum):
    """What an interval says about "faster than the threshold"."""

    FASTER = "faster"
    NOT_FASTER = "not faster"
    UNDECIDED = "undecided"


@dataclass(frozen=True)
class GroupedRatio:
    """A ratio (baseline/candidate) with a t-interval across independent groups.

    `log_se` is the standard error of the mean log ratio and `df` its degrees of
    freedom; with them the interval can be recomputed at any confidence.
    """

    ratio: float
    low: float
    high: float
    pairs: int
    groups: int
    confidence: float
    log_se: float
    df: int
    estimates: tuple[float, ...] = ()  # each group's log-ratio estimate

    def clears(self, threshold: float) -> bool:
        """True when the whole interval lies at or above `threshold`."""
        return self.low >= threshold

    def at(self, confidence: float) -> tuple[float, float]:
        """The interval at another confidence level."""
        half = student_t_quantile(0.5 + confidence / 2, self.df) * self.log_se
        center = math.log(self.ratio)
        return math.exp(center - half), math.exp(center + half)


def hodges_lehmann(values: Sequence[float]) -> float:
    """The median of all pairwise averages (x_i + x_j) / 2, i <= j: a robust centre."""
    if not values:
        raise ValueError("need at least one value")
    walsh = [(values[i] + values[j]) / 2 for i in range(len(values)) for j in range(i, len(values))]
    return statistics_median(walsh)


def statistics_median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def grouped_ratio_interval(
    groups: Sequence[Sequence[tuple[float, float]]], *, confidence: float = 0.95
) -> GroupedRatio:
    """Ratio a/b with a t-interval over groups of (a, b) pairs; see the comment above.

    One group holding several pairs (a single process) is split into one group
    per pair, so the pairs themselves are then taken as independent.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must lie between 0 and 1, got {confidence}")
    log_groups = [log_ratios(group) for group in groups]
    if not log_groups or any(not group for group in log_groups):
        raise ValueError("need at least one pair in every group")
    if len(log_groups) == 1:
        log_groups = [[value] for value in log_groups[0]]
    estimates = [hodges_lehmann(group) for group in log_groups]
    center = math.fsum(estimates) / len(estimates)
    df = len(estimates) - 1
    pairs = sum(len(group) for group in log_groups)
    if df == 0:
        return GroupedRatio(
            math.exp(center), 0.0, math.inf, pairs, 1, confidence, math.inf, 0, tuple(estimates)
        )
    spread = math.sqrt(math.fsum((e - center) ** 2 for e in estimates) / df)
    log_se = spread / math.sqrt(len(estimates))
    half = student_t_quantile(0.5 + confidence / 2, df) * log_se
    return GroupedRatio(
        ratio=math.exp(center),
        low=math.exp(center - half),
        high=math.exp(center + half),
        pairs=pairs,
        groups=len(estimates),
        confidence=confidence,
        log_se=log_se,
        df=df,
        estimates=tuple(estimates),
    )


def decide(
    estimate: GroupedRatio, threshold: float, *, final: bool, more_groups: int = 0
) -> Decision:
    """Faster only if the lower bound clears `threshold`; see the module comment.

    At an interim look (more groups may follow) "faster" needs the stricter
    INTERIM_CONFIDENCE interval, so looking early and often does not inflate
    false "faster" verdicts; "not faster" may stop early whenever the upper
    bound lies below the threshold (stopping then cannot make a false "faster"),
    or when the `more_groups` still allowed could not lift the interval above it
    (`cannot_clear`). At the final look the interval at the estimate's own
    confidence decides, and an interval straddling the threshold is "not faster".
    """
    if final:
        return Decision.FASTER if estimate.clears(threshold) else Decision.NOT_FASTER
    if estimate.df > 0 and estimate.at(INTERIM_CONFIDENCE)[0] >= threshold:
        return Decision.FASTER
    if estimate.high < threshold or cannot_clear(estimate, threshold, more_groups):
        return Decision.NOT_FASTER
    return Decision.UNDECIDED


def cannot_clear(estimate: GroupedRatio, threshold: float, more_groups: int) -> bool:
    """True when going on is futile: even if each of `more_groups` further groups measured
    the ratio at the current interval's upper bound (the best it makes plausible), the
    final interval would still not lie above `threshold`.

    Stopping then (curtailment for futility) can only turn a late "faster" into "not
    faster", never the other way, so it does not add false "faster" verdicts. It spares
    the runs a candidate short of the threshold spends going to the limit. Simulated
    (300 sequential A/Bs each, 3 to 12 processes against 1.05, or 5 to 15 pairs against
    1.0 as for a cache on the whole workload): a true 1.03x took 4.2 processes instead of
    8.7, a cache at 1.00x 8.1 pairs instead of 14.4, at 0.99x 5.7 instead of 11.3; a true
    1.08x was found faster 253 times against 254. (Stopping when the runs left would
    clear the threshold less than one time in ten, were the ratio what it measures so
    far, spares more but lost 29 of those 254.)
    """
    if more_groups < 1 or estimate.df < 1 or not estimate.estimates:
        return False
    values = [*estimate.estimates, *[math.log(estimate.high)] * more_groups]
    center = math.fsum(values) / len(values)
    df = len(values) - 1
    spread = math.sqrt(math.fsum((v - center) ** 2 for v in values) / df)
    half = student_t_quantile(0.5 + estimate.confidence / 2, df) * spread / math.sqrt(len(values))
    return math.exp(center - half) < threshold


def minimum_detectable(
    log_se: float, df: int, threshold: float, *, confidence: float = 0.95, power: float = 0.8
) -> float:
    """The smallest true ratio whose interval clears `threshold` in `power` of measurements
    with this standard error and degrees of freedom (the usual power calculation on t)."""
    if df < 1 or not math.isfinite(log_se):
        return math.inf
    reach = student_t_quantile(0.5 + confidence / 2, df) + student_t_quantile(power, df)
    return threshold * math.exp(reach * log_se)


def signed_rank_p_value(groups: Sequence[Sequence[float]]) -> float:
    """Two-sided p-value of Wilcoxon's signed-rank test on log ratios, stratified by group.

    Within each group the absolute values are ranked (average ranks for ties,
    zeros dropped); the statistic is the sum over groups of the positive ranks,
    compared with its null mean and variance (tie-corrected) by the normal
    approximation with a continuity correction. H0: in every group a pair is as
    likely to favour either side. 1.0 when there is nothing to rank.
    """
    statistic = mean = variance = 0.0
    for group in groups:
        nonzero = [value for value in group if value != 0]
        n = len(nonzero)
        if n == 0:
            continue
        ranks = _average_ranks([abs(value) for value in nonzero])
        statistic += sum(rank for rank, value in zip(ranks, nonzero) if value > 0)
        mean += n * (n + 1) / 4
        ties = _tie_sizes([abs(value) for value in nonzero])
        variance += n * (n + 1) * (2 * n + 1) / 24 - sum(t**3 - t for t in ties) / 48
    if variance <= 0:
        return 1.0
    z = max(0.0, abs(statistic - mean) - 0.5) / math.sqrt(variance)
    return min(1.0, math.erfc(z / math.sqrt(2)))


def _average_ranks(values: Sequence[float]) -> list[float]:
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for position in range(start, end + 1):
            ranks[order[position]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def _tie_sizes(values: Sequence[float]) -> list[int]:
    counts: dict[float, int] = {}
    for value in values:
        counts[value] = counts.get(value, 0) + 1
    return [count for count in counts.values() if count > 1]


# --- Student's t without scipy -----------------------------------------------------------


def student_t_cdf(t: float, df: float) -> float:
    """P(T <= t) for Student's t with `df` degrees of freedom."""
    if df <= 0:
        raise ValueError(f"degrees of freedom must be positive, got {df}")
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * _regularized_incomplete_beta(df / 2, 0.5, df / (df + t * t))
    return 1 - tail if t > 0 else tail


def student_t_quantile(p: float, df: float) -> float:
    """The t with P(T <= t) = p, by bisection on the CDF (exact to ~1e-12)."""
    if not 0 < p < 1:
        raise ValueError(f"p must lie between 0 and 1, got {p}")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -student_t_quantile(1 - p, df)
    low, high = 0.0, 1.0
    while student_t_cdf(high, df) < p:
        high *= 2
    for _ in range(200):
        middle = (low + high) / 2
        if student_t_cdf(middle, df) < p:
            low = middle
        else:
            high = middle
        if high - low < 1e-12 * max(1.0, high):
            break
    return (low + high) / 2


def _regularized_incomplete_beta(a: float, b: float, x: float) -> float:
    """I_x(a, b) by Lentz's continued fraction (Numerical Recipes, betai/betacf)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1) / (a + b + 2):
        return math.exp(log_front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(log_front) * _beta_fraction(b, a, 1 - x) / b


def _beta_fraction(a: float, b: float, x: float) -> float:
    tiny = 1e-300
    c, d = 1.0, 1 - (a + b) * x / (a + 1)
    d = 1 / (d if abs(d) > tiny else tiny)
    result = d
    for m in range(1, 500):
        for numerator in (
            m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
            -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1)),
        ):
            d = 1 + numerator * d
            d = 1 / (d if abs(d) > tiny else tiny)
            c = 1 + numerator / c
            c = c if abs(c) > tiny else tiny
            result *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return result
