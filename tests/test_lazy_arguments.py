"""Generator and iterator arguments are recorded by the items the call took from them.

The shape is pypng 0.20220715's `Writer.write_packed(outfile, rows)` (half of a PNG
workload's time), which takes its rows as a generator: before, none of its calls could
be recorded ("cannot pickle 'generator' object").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import FunctionRef, Limits, VerdictStatus
from perfloop.patch import splice_function
from perfloop.verification.replay import replay

WRITER = """
import io


class Writer:
    def __init__(self, width):
        self.width = width
        self.rows_written = 0

    def write_packed(self, outfile, rows):
        for row in rows:
            line = bytearray()
            for value in row:
                line.append(value % 256)
            outfile.write(bytes(line))
            self.rows_written += 1
        return self.rows_written


def first_three(values):
    taken = []
    for value in values:
        taken.append(value)
        if len(taken) == 3:
            break
    return taken
"""

BENCH = """
import io

from png import Writer, first_three

for n in range(30):
    writer = Writer(8)
    out = io.BytesIO()
    writer.write_packed(out, ([x * y for x in range(8)] for y in range(n % 7 + 1)))
    print(writer.rows_written, out.getvalue().hex())
    numbers = iter(range(n, n + 10))
    print(first_three(numbers), next(numbers))
    print(first_three(map(str, range(n))))
"""

FASTER_WRITE = """
    def write_packed(self, outfile, rows):
        for row in rows:
            outfile.write(bytes([value % 256 for value in row]))
            self.rows_written += 1
        return self.rows_written
"""
# takes one row less than it was given: the caller's generator is left elsewhere
SHORT_WRITE = """
    def write_packed(self, outfile, rows):
        for index, row in enumerate(rows):
            outfile.write(bytes([value % 256 for value in row]))
            self.rows_written += 1
            if index == 0:
                break
        return self.rows_written
"""
GREEDY_FIRST_THREE = """
def first_three(values):
    return list(values)[:3]
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("project")
    (root / "png.py").write_text(WRITER)
    (root / "bench.py").write_text(BENCH)
    targets = [FunctionRef("png", "Writer.write_packed"), FunctionRef("png", "first_three")]
    captures = capture_calls("python bench.py", root, targets, CaptureSettings(max_calls=20))
    return root, captures


def verdict(root: Path, captures, qualname: str, source: str | None):
    capture = captures[FunctionRef("png", qualname)]
    return replay(
        "png",
        qualname,
        root / "png.py",
        source,
        capture.records,
        root=root,
        limits=Limits(wall_seconds=60),
    )


@pytest.mark.slow
def test_calls_with_generator_and_iterator_arguments_are_recorded(recorded) -> None:
    root, captures = recorded
    for qualname in ("Writer.write_packed", "first_three"):
        capture = captures[FunctionRef("png", qualname)]
        assert capture.problem is None, capture.problem
        # identical calls are kept once: the 20 places go to distinct calls
        assert len(capture.records) == min(20, capture.calls_seen - capture.repeats) > 0
        assert verdict(root, captures, qualname, None).status is VerdictStatus.EQUIVALENT


def test_a_rewrite_that_takes_the_same_items_is_verified(recorded) -> None:
    root, captures = recorded
    source = splice_function(WRITER, "Writer.write_packed", FASTER_WRITE)
    result = verdict(root, captures, "Writer.write_packed", source)
    assert result.status is VerdictStatus.EQUIVALENT, result.reason


def test_a_rewrite_that_takes_fewer_items_is_rejected(recorded) -> None:
    root, captures = recorded
    source = splice_function(WRITER, "Writer.write_packed", SHORT_WRITE)
    result = verdict(root, captures, "Writer.write_packed", source)
    assert result.status is VerdictStatus.DIFFERENT
    assert result.difference is not None


def test_a_rewrite_that_takes_more_items_than_the_original_is_rejected(recorded) -> None:
    root, captures = recorded
    source = splice_function(WRITER, "first_three", GREEDY_FIRST_THREE)
    result = verdict(root, captures, "first_three", source)
    assert result.status is VerdictStatus.DIFFERENT
    assert "IteratorOverrun" in result.difference.description, result.difference
