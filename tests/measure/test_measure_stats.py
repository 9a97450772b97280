"""The statistics of the A/B: exact, seeded, no clocks."""

from __future__ import annotations

import math
import random

import pytest

from perfloop.measure.stats import (
    Decision,
    GroupedRatio,
    RatioInterval,
    Side,
    abba_schedule,
    cannot_clear,
    decide,
    geometric_mean_ratio,
    grouped_ratio_interval,
    hodges_lehmann,
    minimum_detectable,
    paired_ratio_interval,
    percentile,
    signed_rank_p_value,
    student_t_cdf,
    student_t_quantile,
)

A, B = Side.BASELINE, Side.CANDIDATE


def pairs_with_ratios(*ratios: float) -> list[tuple[float, float]]:
    return [(ratio, 1.0) for ratio in ratios]


def test_abba_schedule_alternates_the_first_side_of_each_pair() -> None:
    schedule = abba_schedule(4)
    assert [side for _, side in schedule] == [A, B, B, A, A, B, B, A]
    assert [pair for pair, _ in schedule] == [0, 0, 1, 1, 2, 2, 3, 3]


@pytest.mark.parametrize("pairs", [1, 2, 3, 10, 31])
def test_abba_schedule_gives_both_sides_one_block_per_pair(pairs: int) -> None:
    schedule = abba_schedule(pairs)
    for pair in range(pairs):
        assert sorted(side.value for p, side in schedule if p == pair) == ["A", "B"]
    assert sum(side is A for _, side in schedule) == sum(side is B for _, side in schedule)


def test_abba_schedule_needs_a_pair() -> None:
    with pytest.raises(ValueError, match="at least one pair"):
        abba_schedule(0)


def test_geometric_mean_treats_twice_as_fast_and_twice_as_slow_symmetrically() -> None:
    assert geometric_mean_ratio([(2.0, 1.0), (1.0, 2.0)]) == pytest.approx(1.0)
    assert geometric_mean_ratio(pairs_with_ratios(1.0, 4.0)) == pytest.approx(2.0)


def test_constant_ratios_give_a_zero_width_interval() -> None:
    interval = paired_ratio_interval([pairs_with_ratios(2.0, 2.0, 2.0)])
    assert (interval.ratio, interval.low, interval.high) == pytest.approx((2.0, 2.0, 2.0))
    assert interval.pairs == 3 and interval.groups == 1 and interval.resamples == 2000


def test_two_pair_interval_matches_the_hand_computed_bootstrap() -> None:
    # Resampling two pairs with ratios 1 and 4 gives geometric means 1, 2 or 4 with
    # probabilities 1/4, 1/2, 1/4: the 2.5% and 97.5% percentiles are 1 and 4.
    interval = paired_ratio_interval([pairs_with_ratios(1.0, 4.0)])
    assert interval.ratio == pytest.approx(2.0)
    assert interval.low == pytest.approx(1.0)
    assert interval.high == pytest.approx(4.0)


def test_interval_is_deterministic_for_a_seed() -> None:
    groups = [pairs_with_ratios(1.3, 1.1, 1.6, 1.2), pairs_with_ratios(1.4, 1.25, 1.05, 1.5)]
    first = paired_ratio_interval(groups)
    assert paired_ratio_interval(groups) == first
    assert first.low < first.ratio < first.high
    all_ratios = [a / b for group in groups for a, b in group]
    expected = math.exp(sum(math.log(r) for r in all_ratios) / len(all_ratios))
    assert first.ratio == pytest.approx(expected)
    assert paired_ratio_interval(groups, seed=1) != first
    # Pinned: the same on Python 3.10 to 3.13 (random.Random(0).randrange is stable).
    assert (first.low, first.high) == pytest.approx((1.1714606002427566, 1.4138899375757668))


def test_resampling_processes_widens_the_interval_when_processes_disagree() -> None:
    # Process 1 saw ratio 1, process 2 ratio 4: the pairs agree within a process,
    # so only resampling the processes shows the real uncertainty.
    hierarchical = paired_ratio_interval(
        [pairs_with_ratios(*[1.0] * 10), pairs_with_ratios(*[4.0] * 10)]
    )
    flat = paired_ratio_interval([pairs_with_ratios(*[1.0] * 10, *[4.0] * 10)])
    assert hierarchical.ratio == pytest.approx(flat.ratio) == pytest.approx(2.0)
    assert hierarchical.low == pytest.approx(1.0) and hierarchical.high == pytest.approx(4.0)
    assert flat.low > 1.4 and flat.high < 2.9


def test_interval_straddling_the_threshold_is_not_faster() -> None:
    interval = paired_ratio_interval([pairs_with_ratios(1.0, 1.1) * 5])
    assert interval.low < 1.05 < interval.high
    assert interval.ratio > 1.04
    assert not interval.clears(1.05)
    assert interval.clears(interval.low)


def test_clears_needs_the_lower_bound_at_the_threshold() -> None:
    interval = RatioInterval(1.3, 1.05, 1.6, 10, 1, 0.95, 2000)
    assert interval.clears(1.05)
    assert not interval.clears(1.0500001)


def test_confidence_level_sets_the_width() -> None:
    groups = [pairs_with_ratios(1.0, 1.2, 1.4, 1.1, 1.3, 0.9, 1.5, 1.25)]
    narrow = paired_ratio_interval(groups, confidence=0.5)
    wide = paired_ratio_interval(groups, confidence=0.99)
    assert wide.low <= narrow.low and narrow.high <= wide.high


@pytest.mark.parametrize("pair", [(0.0, 1.0), (1.0, 0.0), (-1.0, 1.0)])
def test_non_positive_durations_are_rejected(pair: tuple[float, float]) -> None:
    with pytest.raises(ValueError, match="positive"):
        paired_ratio_interval([[pair]])


def test_no_pairs_is_rejected() -> None:
    with pytest.raises(ValueError):
        paired_ratio_interval([[]])


def test_percentile_interpolates_linearly() -> None:
    values = [0.0, 10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0.0) == 0.0
    assert percentile(values, 1.0) == 40.0
    assert percentile(values, 0.5) == 20.0
    assert percentile(values, 0.1) == pytest.approx(4.0)


# --- the t-interval across processes, the decision, the rank test ------------------------


def test_t_quantiles_match_the_tables() -> None:
    for df, expected in ((1, 12.7062), (2, 4.3027), (4, 2.7764), (9, 2.2622), (30, 2.0423)):
        assert student_t_quantile(0.975, df) == pytest.approx(expected, abs=1e-4)
    assert student_t_quantile(0.9995, 2) == pytest.approx(31.5991, abs=1e-3)
    assert student_t_quantile(0.025, 4) == pytest.approx(-2.7764, abs=1e-4)
    assert student_t_cdf(0.0, 3) == pytest.approx(0.5)


def test_hodges_lehmann_ignores_one_wild_value() -> None:
    assert hodges_lehmann([1.0, 2.0, 3.0]) == pytest.approx(2.0)
    assert hodges_lehmann([0.01, 0.02, 0.015, 0.012, 5.0]) < 0.05


def groups_with(*estimates: float) -> list[list[tuple[float, float]]]:
    """One group per estimate, each of three pairs whose log ratios are all that estimate."""
    return [[(math.exp(e), 1.0)] * 3 for e in estimates]


def test_the_t_interval_is_the_textbook_one_across_groups() -> None:
    logs = [0.08, 0.10, 0.12]
    interval = grouped_ratio_interval(groups_with(*logs))
    mean = sum(logs) / 3
    se = math.sqrt(sum((x - mean) ** 2 for x in logs) / 2) / math.sqrt(3)
    half = 4.302652729749752 * se
    assert interval.ratio == pytest.approx(math.exp(mean))
    assert (interval.low, interval.high) == pytest.approx(
        (math.exp(mean - half), math.exp(mean + half))
    )
    assert (interval.groups, interval.pairs, interval.df) == (3, 9, 2)


def test_three_groups_give_a_wider_interval_than_the_bootstrap() -> None:
    # The known weakness of the bootstrap with few groups: it cannot widen for the groups unseen.
    groups = groups_with(0.08, 0.10, 0.12)
    t_interval = grouped_ratio_interval(groups)
    bootstrap = paired_ratio_interval(groups)
    assert t_interval.low < bootstrap.low and t_interval.high > bootstrap.high


def test_a_single_group_is_split_into_independent_pairs() -> None:
    interval = grouped_ratio_interval([pairs_with_ratios(1.1, 1.2, 1.15, 1.12)])
    assert interval.groups == 4 and interval.df == 3
    assert interval.low < 1.14 < interval.high


def test_a_single_pair_has_no_interval() -> None:
    interval = grouped_ratio_interval([pairs_with_ratios(1.5)])
    assert interval.low == 0 and interval.high == math.inf
    assert decide(interval, 1.05, final=True) is Decision.NOT_FASTER


def test_an_interval_straddling_the_threshold_is_not_significant() -> None:
    straddling = GroupedRatio(1.06, 1.02, 1.10, 30, 3, 0.95, 0.01, 2)
    assert not straddling.clears(1.05)
    assert decide(straddling, 1.05, final=True) is Decision.NOT_FASTER
    assert decide(straddling, 1.05, final=False) is Decision.UNDECIDED  # look again


def test_the_decision_needs_the_lower_bound_at_the_threshold() -> None:
    clear = GroupedRatio(1.2, 1.06, 1.3, 30, 3, 0.95, 0.01, 5)
    assert decide(clear, 1.05, final=True) is Decision.FASTER
    below = GroupedRatio(0.99, 0.97, 1.01, 30, 3, 0.95, 0.005, 5)
    assert decide(below, 1.05, final=False) is Decision.NOT_FASTER  # stop early: cannot reach


def test_an_early_faster_needs_the_stricter_interim_interval() -> None:
    # Clears at 95% but not at 99.9%: at an interim look the measurement goes on.
    estimate = grouped_ratio_interval(groups_with(0.10, 0.12, 0.14))
    assert estimate.clears(1.05)
    assert estimate.at(0.999)[0] < 1.05
    assert decide(estimate, 1.05, final=False) is Decision.UNDECIDED
    assert decide(estimate, 1.05, final=True) is Decision.FASTER


def test_going_on_is_futile_when_the_runs_left_could_not_lift_the_interval() -> None:
    """A cache judged on the whole workload at 0.99x: five pairs, ten more allowed. Even if
    the ten measured the interval's upper bound each, the final interval would straddle 1."""
    cache = grouped_ratio_interval([pairs_with_ratios(0.99, 0.975, 1.005, 0.985, 0.995)])
    assert cache.low < 1.0 < cache.high
    assert cannot_clear(cache, 1.0, more_groups=10)
    assert decide(cache, 1.0, final=False, more_groups=10) is Decision.NOT_FASTER
    assert decide(cache, 1.0, final=False) is Decision.UNDECIDED  # no runs left to weigh
    # near the threshold and going its way: the runs left could lift it, so it goes on
    promising = grouped_ratio_interval(groups_with(0.02, 0.04, 0.06))
    assert promising.low < 1.05 < promising.high
    assert not cannot_clear(promising, 1.05, more_groups=9)
    assert decide(promising, 1.05, final=False, more_groups=9) is Decision.UNDECIDED


def _sequential_run(
    true_log: float, spread: float, seed: int, futility: bool
) -> tuple[Decision, int]:
    """A micro A/B as run_micro_ab runs it: 3 processes, then one more while undecided, up
    to 12; each process's estimate drawn around the true log ratio."""
    rng = random.Random(seed)
    estimates: list[float] = []
    for number in range(1, 13):
        estimates.append(rng.gauss(true_log, spread))
        if number < 3:
            continue
        estimate = grouped_ratio_interval(groups_with(*estimates))
        more = 12 - number if futility else 0
        decision = decide(estimate, 1.05, final=number == 12, more_groups=more)
        if decision is not Decision.UNDECIDED:
            return decision, number
    raise AssertionError("the last look always decides")


@pytest.mark.parametrize(("true_ratio", "spread"), [(1.0, 0.1), (1.03, 0.03), (1.08, 0.03)])
def test_stopping_for_futility_spares_processes_not_verdicts(
    true_ratio: float, spread: float
) -> None:
    """Over 200 simulated A/Bs against a 1.05 threshold: stopping for futility never adds a
    "faster", keeps nearly every true one, and spares processes where none could help."""
    runs = {
        futility: [
            _sequential_run(math.log(true_ratio), spread, seed, futility) for seed in range(200)
        ]
        for futility in (False, True)
    }
    faster = {f: sum(d is Decision.FASTER for d, _ in runs[f]) for f in runs}
    processes = {f: sum(n for _, n in runs[f]) for f in runs}
    for (before, _), (after, _) in zip(runs[False], runs[True]):
        assert not (after is Decision.FASTER and before is not Decision.FASTER)
    assert faster[False] - faster[True] <= 0.02 * 200
    assert processes[True] <= processes[False]
    if true_ratio < 1.05:
        assert processes[True] < 0.6 * processes[False]  # measured: about half


def test_minimum_detectable_grows_with_the_standard_error() -> None:
    small = minimum_detectable(0.005, 5, 1.05)
    large = minimum_detectable(0.02, 5, 1.05)
    assert 1.05 < small < large
    expected = 1.05 * math.exp((student_t_quantile(0.975, 5) + student_t_quantile(0.8, 5)) * 0.005)
    assert small == pytest.approx(expected)
    assert minimum_detectable(math.inf, 0, 1.05) == math.inf


def test_signed_rank_p_value() -> None:
    assert signed_rank_p_value([[0.01 * i for i in range(1, 21)]]) < 0.001
    balanced = [[0.01, -0.01, 0.02, -0.02, 0.03, -0.03]]
    assert signed_rank_p_value(balanced) == pytest.approx(1.0)
    assert signed_rank_p_value([[0.0, 0.0]]) == 1.0
    # Stratified: two groups that agree give a smaller p than either alone.
    one = [0.02, 0.01, 0.03, -0.005, 0.015, 0.02]
    assert signed_rank_p_value([one, one]) < signed_rank_p_value([one])
