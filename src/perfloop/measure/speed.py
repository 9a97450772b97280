"""What a measured ratio means: faster, slower, or neither, decided by its interval.

One classification for every place that reads a speedup (optimize's verdicts, bench,
check); the words are the ones the reports print.
"""

from __future__ import annotations

from perfloop.model import Speedup

FASTER = "faster"
SLOWER = "slower"
BELOW_THRESHOLD = "faster, but below the threshold"
NO_DIFFERENCE = "no significant difference"
NOT_MEASURED = "not measured"


def speed_word(speedup: Speedup | None, min_speedup: float, max_slowdown: float = 1.0) -> str:
    """How a ratio (baseline over candidate time) reads: decided by its interval, not its middle.

    faster: the lower bound clears `min_speedup`; slower: the upper bound times
    `max_slowdown` stays under 1; faster, but below the threshold: the interval
    lies above 1 (significant) but its lower bound misses `min_speedup`.
    """
    if speedup is None:
        return NOT_MEASURED
    if speedup.ci_low >= min_speedup:
        return FASTER
    if speedup.ci_high < 1.0 and speedup.ci_high * max_slowdown <= 1.0:
        return SLOWER
    if speedup.ci_low > 1.0:
        return BELOW_THRESHOLD
    return NO_DIFFERENCE
