"""Fuzzing draws from the runtime types the recorder observed, not only from kept values."""

from __future__ import annotations

from dataclasses import replace

import pytest

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.verification import FuzzSettings, VerifySettings, prepare_target, verify_candidate
from perfloop.verification.shapes import (
    AtomShape,
    IntShape,
    OneOf,
    SeqShape,
    StrShape,
    described_shape,
    with_observed,
)

LIB = """
def widest(items):
    return max((len(str(item)) for item in items), default=0)
"""

# the empty calls come first and are kept; the long lists of words pass the capture's
# byte budget, so only their types are seen (as with a big real input and capture-mb)
BENCH = """
from lib import widest

for _ in range(6):
    widest([])
for n in range(6):
    widest([f"{'word' * 200}{i}" for i in range(n + 20)])
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)
SETTINGS = VerifySettings(tiers=("replay", "fuzz"), fuzz=FuzzSettings(200, 10.0))
REF = FunctionRef("lib", "widest")


def test_observed_type_descriptions_become_shapes_and_widen_the_inferred_ones() -> None:
    assert described_shape("list[int | str]") == SeqShape(
        "list", OneOf((IntShape(-8, 8), StrShape("abcdefgh", 8, ()))), 4
    )
    assert described_shape("dict[str, list[float]]") is not None
    assert described_shape("shop.Basket") is None  # a class of the user's: not generated
    assert described_shape("list[shop.Basket]") is None
    empty = SeqShape("list", None, 0)  # the kept calls only had []
    assert with_observed(empty, ["list", "list[str]"]) == SeqShape(
        "list", StrShape("abcdefgh", 8, ()), 4
    )
    assert with_observed(IntShape(1, 5), ["int", "NoneType"]) == OneOf(
        (IntShape(1, 5), AtomShape("none"))
    )
    assert with_observed(IntShape(1, 5), ["int"]) == IntShape(1, 5)


@pytest.mark.slow
def test_a_candidate_wrong_only_on_strings_is_caught_from_the_observed_item_type(
    tmp_path,
) -> None:
    (tmp_path / "lib.py").write_text(LIB)
    (tmp_path / "bench.py").write_text(BENCH)
    capture = capture_calls("python bench.py", tmp_path, [REF], CaptureSettings(max_bytes=2_000))[
        REF
    ]
    assert capture.records and len(capture.records) < capture.calls_seen
    assert all(record.call_repr == "widest([])" for record in capture.records)
    observed = {t.parameter: t.types for t in capture.parameter_types}
    assert observed == {"items": ("list", "list[str]")}

    # repr and str agree on ints (all fuzzing could draw for items it saw only empty)
    # and differ on strings (the quotes)
    new = "return max((len(repr(item)) for item in items), default=0)"
    source = LIB.replace("return max((len(str(item)) for item in items), default=0)", new)
    candidate = Candidate(REF, "test", "test", source, new, "lib.py")
    plan = prepare_target(
        REF, "lib.py", LIB, capture, root=tmp_path, settings=SETTINGS, limits=LIMITS
    )
    verdict = verify_candidate(candidate, plan, root=tmp_path, limits=LIMITS)
    assert verdict.status is VerdictStatus.DIFFERENT, verdict
    assert verdict.difference.tier == "fuzz"
    assert verdict.difference.call.startswith("lib:widest([")
    assert "'" in verdict.difference.call  # a list of strings, drawn from list[str]

    blind = verify_candidate(candidate, replace(plan, observed=()), root=tmp_path, limits=LIMITS)
    assert blind.status is VerdictStatus.EQUIVALENT, blind  # what fuzzing found before
