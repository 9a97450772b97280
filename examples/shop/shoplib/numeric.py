"""Numeric summaries of daily sales series.

A series is a list of integers, one per day: the units of one product sold that
day. Prices are integers in cents.
"""


def selling_days(series):
    """The daily unit counts of the days on which anything sold, in order."""
    days = []
    for units in series:
        if units:
            days.append(units)
    return days


def days_meeting_target(series, target):
    """How many days sold at least ``target`` units."""
    count = 0
    for i in range(len(series)):
        if series[i] >= target:
            count += 1
    return count


def price_band(prices):
    """The lowest and the highest of a non-empty list of prices."""
    lowest = sorted(prices)[0]
    highest = sorted(prices)[-1]
    return lowest, highest


def weekly_totals(series):
    """Units sold per calendar week (the last week may be shorter)."""
    return [sum(series[start : start + 7]) for start in range(0, len(series), 7)]
