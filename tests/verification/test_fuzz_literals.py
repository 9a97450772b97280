"""Fuzzing draws the characters of the source's short literals, and edge cases on several
recorded calls.

The shape is pycodestyle 2.14's merged speedup of `module_imports_on_top_of_file`
(PR 1292): its new `_is_string_literal` reads `line[1]` after any of the prefixes
'uUbBrR', so the logical line `u` raises IndexError where 2.14.0 said "not a docstring".
The original's literals are 'uUbB' and 'rR', and the line is only checked before the
first statement of a file (an empty state). Replay of 200 calls and 236 fuzzed inputs
said EQUIVALENT: generated lines came from the workload's alphabet or the whole
literals, and the edge cases were tried on one recorded call only, whose state had
already seen a statement.
"""

from __future__ import annotations

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.verification import FuzzSettings, VerifySettings, prepare_target, verify_candidate

LIB = """
def classify(line, state):
    def is_string_literal(line):
        if line[0] in 'uUbB':
            line = line[1:]
        if line and line[0] in 'rR':
            line = line[1:]
        return line and (line[0] == '"' or line[0] == "'")

    if state.get("seen_code"):
        return "late"
    if line.startswith(("import ", "from ")):
        return "import"
    if is_string_literal(line):
        state["seen_doc"] = True
        return "doc"
    state["seen_code"] = True
    return "code"
"""

BENCH = """
from lib import classify

files = [
    ['"Doc."', "import os", "x = 1", "import sys", "y = 2"],
    ["import re", "from os import path", "CONSTANT = 3", "def f(): pass"],
    ["'Other doc.'", "z = 4", "w = 5", "v = 6", "u2 = 7", "t = 8"],
]
for n in range(12):
    state = {}
    for line in files[n % 3]:
        classify(line, state)
"""

FASTER = """
_PREFIXES = frozenset("uUbBrR")


def classify(line, state):
    if state.get("seen_code"):
        return "late"
    if line.startswith(("import ", "from ")):
        return "import"
    first = line[0]
    if first in _PREFIXES:
        first = line[1]
    if first == '"' or first == "'":
        state["seen_doc"] = True
        return "doc"
    state["seen_code"] = True
    return "code"
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)
FUZZ_ONLY = VerifySettings(tiers=("fuzz",), fuzz=FuzzSettings(200, 10.0))


@pytest.mark.slow
def test_a_literal_prefix_on_an_empty_state_is_tried_and_the_crash_found(tmp_path) -> None:
    (tmp_path / "lib.py").write_text(LIB)
    (tmp_path / "bench.py").write_text(BENCH)
    ref = FunctionRef("lib", "classify")
    capture = capture_calls("python bench.py", tmp_path, [ref])[ref]
    plan = prepare_target(
        ref, "lib.py", LIB, capture, root=tmp_path, settings=FUZZ_ONLY, limits=LIMITS
    )
    candidate = Candidate(ref, "test", "test", FASTER, FASTER, "lib.py")
    verdict = verify_candidate(candidate, plan, root=tmp_path, limits=LIMITS)
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference is not None
    assert "IndexError" in verdict.difference.description
    assert "classify('" in verdict.difference.call, verdict.difference.call
