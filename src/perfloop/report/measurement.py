"""How a measured speedup is shown in JSON: the one encoding.

results.json (each candidate's measurement and the whole-workload timing), the
verify/bench/check documents and so the MCP server's answers use this, with the same
field names: the ratio (original's time over the new version's), its 95% interval,
how it was measured, the p-value, the pairs and the seconds each side took, and the
noise floor, threshold and smallest detectable speedup where the A/A run set them.
Rounded to 4 decimals; a bound JSON cannot hold (infinity, NaN) is null.
"""

from __future__ import annotations

import math
from typing import Any

from perfloop.model import Speedup


def speedup_document(speedup: Speedup) -> dict[str, Any]:
    return {
        "ratio": rounded(speedup.ratio),
        "ci": [rounded(speedup.ci_low), rounded(speedup.ci_high)],
        "method": speedup.method,
        "p_value": speedup.p_value,
        "pairs": speedup.pairs,
        "processes": speedup.processes,
        "baseline_seconds": speedup.baseline_seconds,
        "candidate_seconds": speedup.candidate_seconds,
        "noise_floor": rounded(speedup.noise_floor),
        "threshold": rounded(speedup.threshold),
        "min_detectable": rounded(speedup.min_detectable),
    }


def rounded(value: float | None) -> float | None:
    """4 decimals; None for None, infinity and NaN."""
    return None if value is None or not math.isfinite(value) else round(value, 4)
