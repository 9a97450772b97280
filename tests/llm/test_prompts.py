"""Prompts: what perfloop tells the model, and templates a user overrides."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from perfloop.config import ConfigError
from perfloop.llm.prompts import (
    load_templates,
    problem_text,
    propose_prompt,
    refine_prompt,
    repair_prompt,
)
from perfloop.model import (
    Candidate,
    CandidateResult,
    Difference,
    FunctionRef,
    GateResult,
    LineProfile,
    LineTiming,
    Measurement,
    ObservedType,
    RunId,
    Speedup,
    TargetContext,
    Verdict,
    VerdictStatus,
)

MODULE = """import bisect

LIMIT = 10


def clamp(x):
    return min(x, LIMIT)


def common(a, b):
    n = 0
    for x in a:
        if x in b:
            n += clamp(x)
    return n
"""
REF = FunctionRef("lib", "common")
LINES = LineProfile(
    REF,
    1.0,
    (
        LineTiming(12, 300, 0.05, 0.05, "for x in a:"),
        LineTiming(13, 300, 0.61, 0.61, "if x in b:"),
        LineTiming(14, 40, 0.34, 0.34, "n += clamp(x)"),
    ),
)


def context(share: float = 0.42, lines: LineProfile | None = LINES) -> TargetContext:
    return TargetContext(
        RunId("r"),
        REF,
        "lib.py",
        MODULE,
        share,
        (ObservedType("a", ("list[int]",)), ObservedType("b", ("list[int]",))),
        ("int",),
        ("common([1, 2, 3], [2, 3, 4])", "common([" + "9, " * 200 + "], [])"),
        lines,
    )


def test_the_propose_prompt_holds_what_perfloop_knows() -> None:
    system, user = propose_prompt(load_templates(), context()).messages
    assert system.role == "system" and "```python" in system.content
    text = user.content
    assert "def common(a, b):\n    n = 0" in text
    assert "about 40% of the time of the workload (file lib.py)" in text
    assert "line 13 `if x in b:`: about 60% of the function's time, run 300 times" in text
    assert "a membership test in a loop" in text
    assert "line 12" not in text  # under 10%: not a hot line
    assert "- a: list[int]" in text and "- returns int" in text
    assert "common([1, 2, 3], [2, 3, 4])" in text
    assert "..." in text and "9, " * 60 not in text  # long reprs are trimmed
    assert "set-membership" in text  # the rule catalogue's hint
    assert "import bisect" in text and "def clamp(x):" in text  # imports and helpers
    assert "same exception types" in text and "standard library" in text


def test_the_cache_text_leaves_out_measured_figures_only() -> None:
    first = propose_prompt(load_templates(), context(0.42))
    second = propose_prompt(load_templates(), context(0.61))
    assert first.messages != second.messages
    assert first.cache_text == second.cache_text
    other = TargetContext(RunId("r"), REF, "lib.py", MODULE.replace("n = 0", "n = 1"), 0.42)
    assert propose_prompt(load_templates(), other).cache_text != first.cache_text


def rejected(kind: str) -> CandidateResult:
    c = Candidate(REF, "llm:propose", "", MODULE, "def common(a, b):\n    return 0\n", "lib.py")
    if kind == "gate":
        return CandidateResult(c, GateResult(False, "the candidate imports numpy"))
    difference = Difference(3, "common([2, 2], [2])", "returned 0, expected 4")
    return CandidateResult(
        c, GateResult(True), Verdict(VerdictStatus.DIFFERENT, ("replay",), 4, 0.1, difference)
    )


def test_the_repair_prompt_carries_the_counterexample_and_the_wrong_code() -> None:
    text = repair_prompt(load_templates(), context(), rejected("different")).messages[1].content
    assert "On the recorded call `common([2, 2], [2])` it behaves differently" in text
    assert "returned 0, expected 4" in text
    assert "def common(a, b):\n    return 0" in text
    assert "It was rejected before running: the candidate imports numpy" in problem_text(
        rejected("gate")
    )


def test_the_refine_prompt_carries_the_speedup() -> None:
    best = rejected("different")
    speedup = Speedup(2.04, 1.9, 2.2, 30, 1.0, 0.5, "test")
    best = CandidateResult(
        best.candidate,
        GateResult(True),
        Verdict(VerdictStatus.EQUIVALENT, ("replay",), 4, 0.1),
        Measurement(speedup, True),
    )
    text = refine_prompt(load_templates(), context(), best).messages[1].content
    assert "is about 2.0x faster" in text and "Make it faster still" in text


def test_a_user_template_replaces_the_bundled_one(tmp_path: Path) -> None:
    (tmp_path / "propose.txt").write_text("Speed up $name; $share.\n$source\n")
    text = propose_prompt(load_templates(tmp_path), context()).messages[1].content
    assert text.startswith("Speed up common; about 40%.\ndef common(a, b):")
    assert "expert Python" in load_templates(tmp_path).system  # the others stay bundled


def test_template_mistakes_are_reported_with_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "propose.txt").write_text("Speed up $function\n")
    with pytest.raises(ConfigError, match=r"uses \$function.*\$source"):
        propose_prompt(load_templates(tmp_path), context())
    (tmp_path / "propsoe.txt").write_text("typo in the file name")
    with pytest.raises(ConfigError, match=r"propsoe.*propose\.txt"):
        load_templates(tmp_path)


def test_a_persons_hint_reaches_every_prompt_and_the_cache_key(tmp_path: Path) -> None:
    """optimize --interactive: `m HINT` is sent as typed, also with a template that leaves
    $request out (it goes at the end), and a hinted request is not answered from the cache
    of the plain one."""
    hint = "the lists are sorted: try bisect"
    hinted = replace(context(), request=hint)
    plain = propose_prompt(load_templates(), context())
    asked = propose_prompt(load_templates(), hinted)
    ending = f"The engineer reviewing your rewrites asks for this:\n{hint}\n"
    assert asked.messages[1].content.endswith(ending)
    assert "reviewing your rewrites" not in plain.messages[1].content
    assert asked.cache_text != plain.cache_text
    repair = repair_prompt(load_templates(), hinted, rejected("different"))
    assert repair.messages[1].content.endswith(ending)

    (tmp_path / "propose.txt").write_text("Speed up $name.$request\n\n$source\n")
    placed = propose_prompt(load_templates(tmp_path), hinted).messages[1].content
    assert placed.startswith(f"Speed up common.\n\n{ending}\ndef common(a, b):")
