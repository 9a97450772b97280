"""The rollout tier on a real maintainer's rewrite that per-call sampling misses.

humanize 4.13.0 made `naturalsize` faster with `math.log` (python-humanize/humanize
#253, bb99238); on sizes like 2,050 bytes it prints "2.0 kB" where 4.12.3 printed
"2.1 kB" (fixed later, #329). A directory listing's workload formats every size from 0
to 89,999 bytes: 194 of the 90,000 calls differ. Capture keeps 200 of them, which
miss every one; the workload's own output does not.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.results import Decision

WORKLOAD = """
import zlib

from humanize import naturalsize

shown = [naturalsize(size) for size in range(90_000)]
print(len(shown), f"{zlib.crc32(chr(10).join(shown).encode()):08x}")
"""

# the function as humanize 4.13.0 has it (bb99238)
WITH_LOG = """
from math import log


def naturalsize(
    value: float | str,
    binary: bool = False,
    gnu: bool = False,
    format: str = "%.1f",
) -> str:
    if gnu:
        suffix = suffixes["gnu"]
    elif binary:
        suffix = suffixes["binary"]
    else:
        suffix = suffixes["decimal"]

    base = 1024 if (gnu or binary) else 1000
    bytes_ = float(value)
    abs_bytes = abs(bytes_)

    if abs_bytes == 1 and not gnu:
        return f"{int(bytes_)} Byte"

    if abs_bytes < base:
        return f"{int(bytes_)}B" if gnu else f"{int(bytes_)} Bytes"

    exp = int(min(log(abs_bytes, base), len(suffix)))
    ret: str = format % (bytes_ / (base**exp)) + suffix[exp - 1]
    return ret
"""


@pytest.mark.slow
def test_humanize_naturalsize_with_log_is_caught_by_the_workloads_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = unpacked(cached_sdist("humanize==4.12.3", "humanize-4.12.3.tar.gz"), tmp_path)
    (root / "workload.py").write_text(WORKLOAD.lstrip())
    monkeypatch.setenv("PYTHONPATH", str(root / "src"))  # its src layout, not installed
    quick = {"workload": "python workload.py", "mutants": 0, "root": root}

    sampled = perfloop.verify("humanize.filesize:naturalsize", WITH_LOG, tiers=("replay",), **quick)
    assert sampled.decision is Decision.EQUIVALENT  # 200 recorded calls, none of the 194
    assert sampled.calls_seen == 90_000 and sampled.calls_recorded == 200

    result = perfloop.verify(
        "humanize.filesize:naturalsize",
        WITH_LOG,
        tiers=("replay", "rollout"),
        run=sampled.run_id,
        **quick,
    )
    assert result.decision is Decision.DIFFERENT, result.reason
    assert result.counterexample is not None and result.counterexample.tier == "rollout"
    assert "where the original printed '90000 46184126'" in result.counterexample.description
