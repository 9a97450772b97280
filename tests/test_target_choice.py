"""Which hot functions get a target place: with rules alone, the ones a rule applies to.

A target place costs a recording of calls, a replay and the verification set-up; a
function no rule applies to gets nothing from them. On real libraries the hottest
functions are often such (pyparsing 3.1.4: three of the five hottest), and the places
went to them while functions further down, which rules do rewrite, were never tried.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfloop.config import load_settings
from perfloop.pipeline import optimize
from perfloop.results import TargetStatus

LIB = """
class Box:
    def __init__(self, n):
        self.n = n


def mix(box):  # an object argument: cache-pure-function leaves it alone too
    x = 0
    for i in range(box.n):
        x = (x * 31 + i) % 1000003
    return x


def lengths(words):
    out = []
    for word in words:
        out.append(len(word))
    return out
"""

BENCH = """
from lib import Box, lengths, mix

words = [str(i) * (i % 7) for i in range(2000)]
total = 0
for n in range(30):
    total += mix(Box(60_000))  # the hottest function: no rule applies to it
    total += sum(lengths(words))
print(total)
"""


def run(root: Path, **overrides: object):
    settings = load_settings(
        root,
        {"workload": "python bench.py", "top": 1, "measure_processes": 2, **overrides},
    )
    return optimize(settings)


@pytest.mark.slow
def test_a_function_no_rule_applies_to_gives_its_place_to_one_a_rule_does(
    make_project,
) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    result = run(root)

    by_name = {t.function.qualname: t for t in result.targets}
    assert set(by_name) == {"mix", "lengths"}
    mix, lengths = by_name["mix"], by_name["lengths"]
    assert mix.share > lengths.share  # mix is hotter, yet lengths took the one place
    assert mix.status is TargetStatus.NO_FASTER_CANDIDATE
    assert mix.reason == "no rule applies to this function"
    assert mix.calls_recorded == 0 and mix.candidates == ()  # nothing was spent on it
    assert lengths.calls_recorded > 0
    assert {c.candidate.origin for c in lengths.candidates} >= {"rule:list-comprehension"}
    assert [t.function.qualname for t in result.targets] == ["mix", "lengths"]  # by share
    assert any("1 hot function that no rule applies to" in n for n in result.notes)

    shown = json.loads((Path(result.run_dir) / "results.json").read_text())
    assert [t["function"] for t in shown["targets"]] == ["lib:mix", "lib:lengths"]


@pytest.mark.slow
def test_named_functions_are_tried_even_when_no_rule_applies(make_project) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    result = run(root, functions=["lib:mix"])

    (mix,) = result.targets
    assert mix.function.qualname == "mix"
    assert mix.calls_recorded > 0  # recorded and replayed: the user asked for it
    assert mix.reason == "no rule applies to this function"
    assert not any("did not take a target place" in n for n in result.notes)
