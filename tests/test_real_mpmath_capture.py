"""mpmath 1.3.0 from PyPI: its context methods are recorded and the workload is unchanged.

Recording `PythonMPContext.fdot` (given generators of mpf values by the quadrature
code) made mpmath's workload fail ("'MPContext' object has no attribute
'_prec_rounding'"); then its `self`, the context, pickled but did not load back (an
`mpq` in its caches, its constants, its interval context), and so did
`QuadratureRule.transform_nodes`'s. The shapes are in test_lazy_arguments.py and
test_real_library_shapes.py; this runs them on the library itself (about 30 s).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import FunctionRef, Limits, VerdictStatus
from perfloop.verification.replay import replay

WORKLOAD = """
import zlib

import mpmath
from mpmath import mp

mp.dps = 60
values = []
for k in range(2, 6):
    values.append(mpmath.zeta(k + mpmath.mpf(1) / 3))
    values.append(
        mpmath.quad(lambda x: mpmath.exp(-x * x) * mpmath.cos(k * x), [0, mpmath.inf])
    )
line = f"mpmath {len(values)} {zlib.crc32(repr([mpmath.nstr(v, 50) for v in values]).encode())}"
with open("outputs.txt", "a") as outputs:  # each run's checksum, the recorded run's too
    print(line, file=outputs)
"""
FDOT = FunctionRef("mpmath.ctx_mp_python", "PythonMPContext.fdot")
TRANSFORM = FunctionRef("mpmath.calculus.quadrature", "QuadratureRule.transform_nodes")


@pytest.mark.slow
def test_mpmath_fdot_and_transform_nodes_are_recorded_and_fdot_replays(tmp_path: Path) -> None:
    root = unpacked(cached_sdist("mpmath==1.3.0", "mpmath-1.3.0.tar.gz"), tmp_path)
    (root / "workload.py").write_text(textwrap.dedent(WORKLOAD).lstrip(), encoding="utf-8")
    reference = subprocess.run(
        [sys.executable, "workload.py"], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert reference.returncode == 0, reference.stderr

    captures = capture_calls(  # raises if recording makes the workload fail
        "python workload.py", root, [FDOT, TRANSFORM], CaptureSettings(max_calls=10)
    )
    for ref in (FDOT, TRANSFORM):
        assert captures[ref].problem is None, (ref, captures[ref].problem)
        assert captures[ref].records, ref

    fdot = captures[FDOT]
    verdict = replay(
        FDOT.module,
        FDOT.qualname,
        root / "mpmath" / "ctx_mp_python.py",
        None,
        fdot.records,
        root=root,
        limits=Limits(wall_seconds=120),
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == len(fdot.records)

    plain, recorded = (root / "outputs.txt").read_text().splitlines()
    assert recorded == plain  # recording changed nothing the workload computes
