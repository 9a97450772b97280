"""The statistics of the A/B: exact, seeded, no clocks."""

from __future__ import annotations

import math

import pytest

from perfloop.measure.stats import (
    RatioInterval,
    Side,
    abba_schedule,
    geometric_mean_ratio,
    paired_ratio_interval,
    percentile,
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
