"""Capture spends its budget on distinct calls: a call identical to a kept one is not kept
again, and the sample still reaches the calls the workload makes late."""

from __future__ import annotations

import pickle

import pytest

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import FunctionRef

LIB = """
def scale(n):
    return n * 2
"""

REPEATS_THEN_NEW = """
from lib import scale

for i in range(3000):
    scale(i % 7)       # seven distinct calls, made again and again
for i in range(7, 40):
    scale(i)           # late in the run, each once
"""

ONE_CALL_MANY_TIMES = """
from lib import scale

text = "x" * 4000
for i in range(100_000):
    scale(text)
"""


def kept(root, bench: str, max_calls: int):
    (root / "bench.py").write_text(bench)
    return capture_calls(
        "python bench.py", root, [FunctionRef("lib", "scale")], CaptureSettings(max_calls=max_calls)
    )[FunctionRef("lib", "scale")]


@pytest.fixture
def root(make_project):
    return make_project({"lib.py": LIB})


def test_repeated_calls_leave_their_slots_to_distinct_ones(root) -> None:
    capture = kept(root, REPEATS_THEN_NEW, max_calls=50)
    values = [pickle.loads(record.args)[0][0] for record in capture.records]
    assert sorted(values) == list(range(40))  # every distinct call, each once
    assert capture.calls_seen == 3033
    assert capture.repeats > 0


def test_a_full_sample_still_holds_no_call_twice(root) -> None:
    capture = kept(root, REPEATS_THEN_NEW, max_calls=20)
    values = [pickle.loads(record.args)[0][0] for record in capture.records]
    assert len(values) == 20 and len(set(values)) == 20
    assert max(values) >= 7  # the late calls are in the sample, not only the first ones


def test_a_large_call_made_again_and_again_is_not_pickled_each_time(root) -> None:
    capture = kept(root, ONE_CALL_MANY_TIMES, max_calls=200)
    assert len(capture.records) == 1 and capture.calls_seen == 100_000
    # 4 kB each: 32 MB of repeats pickled, then only reservoir odds of the rest
    assert 8_000 < capture.repeats < 10_000
