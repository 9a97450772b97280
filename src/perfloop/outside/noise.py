"""The noise floor of a micro A/B: the original timed against an identical copy of itself.

Until `perfloop.measure` offers an A/A measurement of its own, this is it: the
same harness, settings and inputs as the A/B, with the original's source on both
sides. Its interval is how far apart two identical versions look on this machine
right now; an A/B ratio inside it is no evidence of a difference. Replace the
body of `measure_noise_floor` when the measure stage grows one.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from perfloop.measure import MeasureSettings, measure_candidate
from perfloop.model import CallRecord, Candidate, FunctionRef, Measurement


def measure_noise_floor(
    function: FunctionRef,
    path: str,
    original_source: str,
    records: Sequence[CallRecord],
    *,
    root: Path,
    settings: MeasureSettings,
) -> Measurement:
    """A/A through `measure_candidate`: its ratio's interval is the noise floor. Never raises."""
    same = Candidate(
        function=function,
        origin="noise-floor",
        rationale="the original against an identical copy of itself",
        module_source=original_source,
        function_source="",
        path=path,
    )
    return measure_candidate(same, original_source, records, root=root, settings=settings)
