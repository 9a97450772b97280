"""What a target's line in the summary says when nothing was made faster.

cachetools 5.3.3: the one verified candidate of `Cache.__setitem__` could not be timed
(the timing worker failed to load the package), and the summary said "1 candidate
verified, none faster beyond the threshold", as if it had been timed and lost. A user
reads that as a measured verdict; it must say that timing failed, and why.
"""

from __future__ import annotations

from perfloop.model import (
    Candidate,
    CandidateResult,
    FunctionRef,
    GateResult,
    Measurement,
    Speedup,
    Verdict,
    VerdictStatus,
)
from perfloop.pipeline.candidates import select_best

REF = FunctionRef("cachetools", "Cache.__setitem__")
LOAD_FAILED = (
    "the original cachetools:Cache.__setitem__ could not be loaded: ImportError: cannot "
    "import name 'keys' from partially initialized module 'cachetools'"
)


def _verified(origin: str, measurement: Measurement) -> CandidateResult:
    candidate = Candidate(REF, origin, "a rewrite", "def f(): pass\n", "", "src/c/__init__.py")
    verdict = Verdict(VerdictStatus.EQUIVALENT, ("replay",), 200, 1.0)
    return CandidateResult(candidate, GateResult(True), verdict, measurement)


def _timed(ratio: float) -> Measurement:
    speedup = Speedup(ratio, ratio - 0.02, ratio + 0.02, 20, 1.0, 1.0, "micro A/B", threshold=1.05)
    return Measurement(speedup, False)


def test_a_verified_candidate_that_could_not_be_timed_says_timing_failed() -> None:
    tried = [_verified("rule:hoist-attribute-lookup", Measurement(None, False, LOAD_FAILED))]
    result = select_best(REF, 0.096, 200, tried)
    assert result.reason is not None
    assert "none faster" not in result.reason
    assert result.reason.startswith("1 candidate verified, but timing it failed: ")
    assert "could not be loaded: ImportError" in result.reason


def test_timed_and_untimed_candidates_say_both() -> None:
    tried = [
        _verified("rule:a", _timed(1.0)),
        _verified("rule:b", Measurement(None, False, LOAD_FAILED)),
    ]
    reason = select_best(REF, 0.096, 200, tried).reason or ""
    assert reason.startswith("2 candidates verified, none faster beyond the threshold")
    assert "(1 could not be timed: the original" in reason


def test_timed_candidates_that_lost_say_none_faster() -> None:
    tried = [_verified("rule:a", _timed(1.0))]
    assert select_best(REF, 0.096, 200, tried).reason == (
        "1 candidate verified, none faster beyond the threshold"
    )


def test_a_threshold_the_noise_floor_raised_is_named_with_its_figure() -> None:
    # xmltodict 0.13.0: `_DictSAXHandler.startElement`'s A/A run spread to 66.6x, and the
    # target said only "1 candidate verified, none faster beyond the threshold"
    speedup = Speedup(
        0.96, 0.95, 0.96, 9, 1.0, 1.0, "micro A/B", noise_floor=66.631, threshold=66.631
    )
    tried = [_verified("rule:hoist-attribute-lookup", Measurement(speedup, False))]
    reason = select_best(REF, 0.153, 200, tried).reason or ""
    assert reason.startswith("1 candidate verified, none faster beyond the threshold (66.6x")
    assert "nothing short of it could be told from noise on this machine now" in reason
    assert "with more processes, measure-processes" in reason


def test_a_plausible_noise_floor_says_the_original_varied_that_much() -> None:
    speedup = Speedup(1.1, 1.06, 1.14, 9, 1.0, 1.0, "micro A/B", noise_floor=1.18, threshold=1.18)
    tried = [_verified("rule:hoist-global-lookup", Measurement(speedup, False))]
    reason = select_best(REF, 0.153, 200, tried).reason or ""
    assert reason.startswith("1 candidate verified, none faster beyond the threshold (1.18x")
    assert "the original timed against itself varied that much" in reason


SAME_CODE = (
    "not timed: on each of its 68 recorded calls it runs the very instructions the original "
    "runs (its edit is in code those calls never reach), so a timing could show only noise"
)


def test_candidates_that_run_the_originals_instructions_say_so_not_none_faster() -> None:
    """pyparsing 3.1.4's `Forward.parseImpl`: `set-membership` edits a branch that no
    recorded call takes; it is not timed, and the summary must not read as a lost race."""
    alike = _verified("rule:set-membership", Measurement(None, False, untimed=SAME_CODE))
    reason = select_best(REF, 0.05, 68, [alike]).reason or ""
    assert reason.startswith("1 candidate verified, none timed: on the recorded calls it runs")
    assert "none faster" not in reason and "failed" not in reason
    both = [alike, _verified("rule:a", _timed(1.0))]
    reason = select_best(REF, 0.05, 68, both).reason or ""
    assert reason.startswith("2 candidates verified, none faster beyond the threshold (1 ran")
    failed = [alike, _verified("rule:b", Measurement(None, False, LOAD_FAILED))]
    reason = select_best(REF, 0.05, 68, failed).reason or ""
    assert reason.startswith("2 candidates verified, none timed (1 could not be timed: the orig")
    assert reason.endswith("; 1 ran the original's very instructions, so was not timed)")
