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
from perfloop.measure import MeasureSettings, measure_candidate
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
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
CALC_NODES = FunctionRef("mpmath.calculus.quadrature", "TanhSinh.calc_nodes")


@pytest.mark.slow
def test_mpmath_targets_recorded_together_replay_and_fdot_is_timed(tmp_path: Path) -> None:
    root = unpacked(cached_sdist("mpmath==1.3.0", "mpmath-1.3.0.tar.gz"), tmp_path)
    (root / "workload.py").write_text(textwrap.dedent(WORKLOAD).lstrip(), encoding="utf-8")
    reference = subprocess.run(
        [sys.executable, "workload.py"], cwd=root, capture_output=True, text=True, timeout=300
    )
    assert reference.returncode == 0, reference.stderr

    # TanhSinh.calc_nodes recorded too, as `optimize` records its ten targets at once: the
    # TanhSinh instances that mpmath's `fp` makes during the import were followed, and
    # perfloop looked for the package's singletons then, before `mp` existed; it did not
    # look again, and transform_nodes replayed at 53 bits, not the workload's 60 digits
    targets = [FDOT, TRANSFORM, CALC_NODES]
    captures = capture_calls(  # raises if recording makes the workload fail
        "python workload.py", root, targets, CaptureSettings(max_calls=10)
    )
    for ref in targets:
        assert captures[ref].problem is None, (ref, captures[ref].problem)
        assert captures[ref].records, ref

    fdot = captures[FDOT]
    for ref, path in [
        (FDOT, root / "mpmath" / "ctx_mp_python.py"),
        (TRANSFORM, root / "mpmath" / "calculus" / "quadrature.py"),
    ]:
        records = captures[ref].records
        verdict = replay(
            ref.module, ref.qualname, path, None, records, root=root,
            limits=Limits(wall_seconds=120),
        )  # fmt: skip
        assert verdict.status is VerdictStatus.EQUIVALENT, (ref, verdict.difference)
        assert verdict.calls_checked == len(records)

    plain, recorded = (root / "outputs.txt").read_text().splitlines()
    assert recorded == plain  # recording changed nothing the workload computes

    # timing loads the candidate as a copy of ctx_mp_python, which must hold the `mpf`
    # that mpmath's __init__ sets on the module at run time: the recorded mpf values
    # unpickle as `mpmath.ctx_mp_python.mpf` (once "Can't get attribute 'mpf'", and
    # fdot's verified rewrites were never timed)
    path = root / "mpmath" / "ctx_mp_python.py"
    original = path.read_text(encoding="utf-8")
    assert original.count("types = (ctx.mpf, ctx.mpc)") == 1
    source = original.replace("types = (ctx.mpf, ctx.mpc)", "types = {ctx.mpf, ctx.mpc}")
    candidate = Candidate(FDOT, "test", "a set of the two types", source, "", str(path))
    settings = MeasureSettings(
        processes=2, max_processes=2, budget_seconds=10, limits=Limits(wall_seconds=120)
    )
    measurement = measure_candidate(candidate, original, fdot.records, root=root, settings=settings)
    assert measurement.error is None, measurement.error
    assert measurement.speedup is not None and measurement.speedup.processes == 2


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
