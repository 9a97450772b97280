"""measure: how much faster a candidate is, with an interval a sceptic accepts.

Two A/B measurements: `measure_candidate` times the target function alone on
the recorded calls (micro), `measure_workload` times the user's whole workload
command with candidates in place. `measure_noise_floor` times the original
against itself (A/A): how far apart identical code looks on this machine now.

Why our own harness rather than pyperf or timeit: we compare two versions of one
function on the same captured inputs, and that needs things those tools do not
give together: both versions in one process (same interpreter state, same
inputs), paired and interleaved ABBA blocks so machine drift hits both sides
equally, a fresh copy of the inputs per call prepared outside the timed region
(functions mutate their arguments), a clock that does not charge either side
for the time other processes held the CPU, untrusted code confined to
sandboxed workers, and a decision on the ratio's confidence interval rather
than on two separate means. We keep pyperf's good habits: calibrated loop
counts, several fresh processes, warm-ups, and the method stated next to
every number. benchmarks/measurement_quality.py checks the result against
pyperf, timeit and a naive timer.

The names below are imported on first use, so a timing worker that imports
`perfloop.measure.timing` does not pay for the main process's side.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from perfloop.measure.micro import (
        NoiseFloor,
        NoiseFloors,
        measure_candidate,
        measure_noise_floor,
    )
    from perfloop.measure.settings import MeasureSettings, settings_from
    from perfloop.measure.whole_workload import (
        WorkloadComparison,
        judged_on_workload,
        measure_workload,
        workload_overrides,
    )

_EXPORTS = {
    "MeasureSettings": "perfloop.measure.settings",
    "NoiseFloor": "perfloop.measure.micro",
    "NoiseFloors": "perfloop.measure.micro",
    "settings_from": "perfloop.measure.settings",
    "WorkloadComparison": "perfloop.measure.whole_workload",
    "measure_candidate": "perfloop.measure.micro",
    "measure_noise_floor": "perfloop.measure.micro",
    "measure_workload": "perfloop.measure.whole_workload",
    "workload_overrides": "perfloop.measure.whole_workload",
    "judged_on_workload": "perfloop.measure.whole_workload",
}

__all__ = [
    "MeasureSettings",
    "NoiseFloor",
    "NoiseFloors",
    "WorkloadComparison",
    "judged_on_workload",
    "measure_candidate",
    "measure_noise_floor",
    "measure_workload",
    "settings_from",
    "workload_overrides",
]


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'perfloop.measure' has no attribute {name!r}")
