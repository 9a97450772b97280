"""How hard the measurement stage works and what it calls faster."""

from __future__ import annotations

from dataclasses import dataclass

from perfloop.model import Limits

DEFAULT_LIMITS = Limits(wall_seconds=120)


@dataclass(frozen=True)
class MeasureSettings:
    """Settings of the micro A/B (`measure_candidate`) and the whole-workload A/B.

    `processes` worker processes run one after another (never in parallel, so
    they do not compete for the CPU); each runs `pairs_per_process` ABBA block
    pairs, a block lasting at least `min_block_seconds`. A candidate is faster
    when the lower end of the `confidence` interval of the ratio reaches
    `min_speedup`. `limits` apply to each timing process.
    """

    min_speedup: float = 1.05
    processes: int = 3
    pairs_per_process: int = 10
    min_block_seconds: float = 0.02
    confidence: float = 0.95
    limits: Limits = DEFAULT_LIMITS

    def __post_init__(self) -> None:
        if self.processes < 1:
            raise ValueError(f"processes must be at least 1, got {self.processes}")
        if self.pairs_per_process < 1:
            raise ValueError(f"pairs_per_process must be at least 1, got {self.pairs_per_process}")
        if self.min_block_seconds <= 0:
            raise ValueError(f"min_block_seconds must be positive, got {self.min_block_seconds}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must lie between 0 and 1, got {self.confidence}")
