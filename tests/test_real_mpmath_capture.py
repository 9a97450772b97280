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


# the loop of its branch for [a, inf] (the workload's): a rewrite that is the same at 53
# bits but not at the workload's 60 digits, and one that is the same at any precision
BODY = "u = 2/(x+one)\n" + " " * 20 + "x = a1+u\n" + " " * 20 + "w *= half*u**2"
LOW_PRECISION = BODY.replace("u = 2/(x+one)", "u = ctx.mpf(2/float(x+one))")
SAME = BODY.replace("w *= half*u**2", "w = w*(half*u*u)")


@pytest.mark.slow
def test_mpmath_transform_nodes_replays_at_the_workloads_precision(tmp_path: Path) -> None:
    # its mpf arguments compute at the precision of their class's context, `mp`, which the
    # workload set to 60 digits (mp.dps = 60); a worker's `mp` has 53 bits unless the
    # recorded context settings are put in place
    root = unpacked(cached_sdist("mpmath==1.3.0", "mpmath-1.3.0.tar.gz"), tmp_path)
    (root / "workload.py").write_text(textwrap.dedent(WORKLOAD).lstrip(), encoding="utf-8")
    capture = capture_calls("python workload.py", root, [TRANSFORM], CaptureSettings(max_calls=8))[
        TRANSFORM
    ]
    assert capture.problem is None and capture.records, capture.problem
    path = root / "mpmath" / "calculus" / "quadrature.py"
    original = path.read_text(encoding="utf-8")

    def replayed(source: str | None):
        return replay(
            TRANSFORM.module, TRANSFORM.qualname, path, source, capture.records, root=root,
            limits=Limits(wall_seconds=120),
        )  # fmt: skip

    verdict = replayed(None)
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == len(capture.records)
    assert original.count(BODY) == 1
    verdict = replayed(original.replace(BODY, SAME))
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    verdict = replayed(original.replace(BODY, LOW_PRECISION))
    assert verdict.status is VerdictStatus.DIFFERENT
