"""Tier 4: CrossHair finds a boundary the workload never reached, confirmed concretely."""

from __future__ import annotations

import pytest

from perfloop.capture import capture_calls
from perfloop.model import FunctionRef, Limits
from perfloop.verification import VerifySettings, prepare_target
from perfloop.verification.shapes import infer
from perfloop.verification.symbolic import annotation, check_symbolic

LIB = """
def price(xs, n):
    if n > 1000:
        return sum(xs)
    return len(xs)
"""

BENCH = """
from lib import price

for n in range(1, 20):
    price(list(range(n)), n)
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)


def price_plan(root, symbolic_seconds: float):
    """LIB's `price` recorded with BENCH and prepared for replay and the symbolic tier."""
    pytest.importorskip("crosshair")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    ref = FunctionRef("lib", "price")
    capture = capture_calls("python bench.py", root, [ref])[ref]
    settings = VerifySettings(tiers=("replay", "symbolic"), symbolic_seconds=symbolic_seconds)
    return prepare_target(ref, "lib.py", LIB, capture, root=root, settings=settings, limits=LIMITS)


def test_observed_shapes_become_types_crosshair_can_generate() -> None:
    assert annotation(infer([[1, 2], [3]])) == list[int]
    assert annotation(infer([{"a": 1.5}, {"b": 2.5, "c": 0.5}])) == dict[str, float]
    assert annotation(infer([(1, "a")])) == tuple[int, str]
    assert annotation(infer([object()])) is None


@pytest.mark.slow
def test_a_boundary_difference_is_found_symbolically_and_printed_as_a_call(tmp_path) -> None:
    plan = price_plan(tmp_path, symbolic_seconds=5.0)
    check = check_symbolic(LIB.replace("n > 1000", "n >= 1000"), plan, tmp_path, LIMITS, 60.0)
    assert check.run.outcome == "different", check
    assert check.difference.tier == "symbolic"
    assert check.difference.call.startswith("lib:price([") and check.difference.call.endswith(
        ", 1000)"
    )
    same = check_symbolic(LIB, plan, tmp_path, LIMITS, 60.0)
    assert same.run.outcome == "same" and same.run.inputs > 0


@pytest.mark.slow
def test_the_search_ends_once_paths_stop_reaching_new_branches(tmp_path) -> None:
    # a budget is the most the search takes: with a minute, CrossHair stops on its own once
    # paths in a row reach nothing new, and still finds the boundary (the test above)
    plan = price_plan(tmp_path, symbolic_seconds=60.0)
    check = check_symbolic(LIB.replace("n > 1000", "n >= 1000"), plan, tmp_path, LIMITS, 200.0)
    assert check.run.outcome == "different", check
    same = check_symbolic(
        LIB.replace("return len(xs)", "return 0 + len(xs)"), plan, tmp_path, LIMITS, 200.0
    )
    assert same.run.outcome == "same", same
    assert same.run.note is not None
    assert "reached no branch" in same.run.note or "every path was explored" in same.run.note
