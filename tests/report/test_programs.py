"""A counterexample of the interaction tier is a program of several lines: every renderer
keeps it pasteable (a code block in Markdown, each line indented in the terminal)."""

from __future__ import annotations

from perfloop.model import (
    Candidate,
    CandidateResult,
    Difference,
    FunctionRef,
    GateResult,
    TierRun,
    Verdict,
    VerdictStatus,
)
from perfloop.report.markdown import _candidate_line
from perfloop.report.terminal import counterexample_lines
from perfloop.results import Counterexample

PROGRAM = "\n".join(
    [
        "from prober import Prober",
        "obj = Prober('p0')",
        "obj.feed(b'ab')",
        "obj.confidence()  # differs here",
    ]
)


def test_markdown_shows_a_program_as_a_code_block() -> None:
    ref = FunctionRef("prober", "Prober.feed")
    candidate = Candidate(ref, "cmd:cp", "", "def feed(self, c): ...\n", "", "prober.py")
    difference = Difference(0, PROGRAM, "recorded history 1, call 2: result: ...", "interaction")
    runs = (TierRun("replay", "same", 20, 0.1), TierRun("interaction", "different", 1, 0.2))
    verdict = Verdict(
        VerdictStatus.DIFFERENT, ("replay", "interaction"), 20, 0.3, difference, None, runs
    )
    line = _candidate_line(CandidateResult(candidate, GateResult(True), verdict))
    assert line.startswith("- `cmd:cp`: **behaves differently** (interaction): recorded history 1")
    assert "\n\n  ```python\n  from prober import Prober\n  obj = Prober('p0')\n" in line
    assert line.endswith("  obj.confidence()  # differs here\n  ```\n")


def test_the_terminal_indents_every_line_of_a_program() -> None:
    example = Counterexample(
        PROGRAM, True, "it differs", 0, "a sequence of calls on one object", "interaction"
    )
    lines = counterexample_lines(example)
    assert lines[1:5] == [f"    {line}" for line in PROGRAM.splitlines()]
    assert lines[-1] == "    -> it differs"
