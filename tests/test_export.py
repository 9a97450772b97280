"""`perfloop export`: a project's runs as datasets, each line valid against its schema."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Sequence
from pathlib import Path

import jsonschema
import pytest

from perfloop.cli.main import main
from perfloop.config import load_settings
from perfloop.export import SCHEMAS, reward_of
from perfloop.model import Candidate, FunctionRef
from perfloop.pipeline import optimize
from perfloop.propose import propose_rule_candidates

pytestmark = pytest.mark.slow  # one real run of the pipeline, shared by the module

LIB = """
STOP = ["a", "the", "of", "and", "to", "in"]


def content(tokens):
    words = []
    for token in tokens:
        if token not in STOP:
            words.append(token)
    return words
"""
BENCH = """
from lib import content

tokens = ("the cat sat in a corner of the room and then went to sleep " * 40).split()
print(sum(len(content(tokens)) for _ in range(400)))
"""
WRONG = """
def content(tokens):
    return [token for token in tokens if token not in STOP][:-1]
"""


def wrong_version(ref: FunctionRef, path: str, source: str) -> Sequence[Candidate]:
    original = textwrap.dedent(LIB).split("\n\n\ndef content")[1]
    new_source = source.replace("def content" + original.rstrip("\n"), WRONG.strip())
    return [Candidate(ref, "test:wrong", "drops the last word", new_source, WRONG, path)]


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("export") / "project"
    root.mkdir()
    (root / "lib.py").write_text(textwrap.dedent(LIB).lstrip())
    (root / "bench.py").write_text(textwrap.dedent(BENCH).lstrip())
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "rules": ["set-membership", "list-comprehension"],
            "mutants": 5,
            "measure_processes": 2,
        },
    )
    optimize(settings, proposers=(propose_rule_candidates, wrong_version))
    return root


def exported(project: Path, capsys: pytest.CaptureFixture[str], *args: str) -> list[dict]:
    assert main(["export", "--root", str(project), *args]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("format", ["pie", "reward", "diffs"])
def test_every_line_is_valid_against_its_documented_schema(
    project: Path, capsys: pytest.CaptureFixture[str], format: str
) -> None:
    lines = exported(project, capsys, "--format", format)
    assert lines
    schema = json.loads(
        (main(["export", "--format", format, "--schema"]), capsys.readouterr().out)[1]
    )
    assert schema == SCHEMAS[format]
    for line in lines:
        jsonschema.validate(line, schema)
        assert line["schema"] == f"perfloop.export.{format}/1"
        assert line["function"] == "lib:content" and line["path"] == "lib.py"


def test_pairs_hold_the_original_a_faster_version_and_what_judged_them(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pairs = exported(project, capsys, "--format", "pie")
    assert {p["origin"] for p in pairs} >= {"rule:set-membership"}
    for pair in pairs:
        assert pair["slow"].startswith("def content(tokens):") and "words.append" in pair["slow"]
        assert pair["fast"] != pair["slow"]
        assert pair["ci"][0] > 1.0 and pair["ci"][0] <= pair["speedup"] <= pair["ci"][1]
        assert [t["tier"] for t in pair["verification"]][:2] == ["replay", "fuzz"]
        assert pair["calls"] and pair["calls"][0].startswith("content([")
    assert not any(p["origin"] == "test:wrong" for p in pairs)


def test_a_wrong_candidate_has_reward_minus_one_and_its_difference(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rewards = {r["origin"]: r for r in exported(project, capsys, "--format", "reward")}
    wrong = rewards["test:wrong"]
    assert wrong["verdict"] == "different" and wrong["reward"] == -1.0
    assert wrong["first_difference"].startswith("content([")
    assert wrong["speedup"] is None  # never timed
    faster = rewards["rule:set-membership"]
    assert faster["verdict"] == "equivalent" and 0.5 < faster["reward"] <= 1.0


def test_a_chosen_change_is_a_sequence_of_diffs_that_rebuilds_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (change,) = exported(project, capsys, "--format", "diffs")
    rules = change["origin"].removeprefix("rules:").removeprefix("rule:").split("+")
    assert [s["origin"] for s in change["steps"]] == [f"rule:{r}" for r in rules]
    version = change["original"]
    for step in change["steps"]:
        version = apply_diff(version, step["diff"])
    assert version == change["final"]


def test_a_run_that_is_not_there_is_a_usage_error(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["export", "--root", str(project), "--format", "pie", "20990101-x"]) == 2
    assert "no run 20990101-x" in capsys.readouterr().err


def test_output_goes_to_a_file_when_asked(project: Path, capsys: pytest.CaptureFixture[str]):
    target = project / "out" / "rewards.jsonl"
    target.parent.mkdir()
    assert (
        main(["export", "--root", str(project), "--format", "reward", "--output", str(target)]) == 0
    )
    assert "records written to" in capsys.readouterr().err
    assert all(json.loads(line) for line in target.read_text().splitlines())


def test_the_reward_orders_verdicts_and_speedups() -> None:
    from perfloop.model import GateResult, Measurement, Speedup, Verdict, VerdictStatus

    ref = FunctionRef("lib", "f")
    candidate = Candidate(ref, "x", "", "", "", "lib.py")

    def result(status: VerdictStatus, ratio: float | None = None):
        from perfloop.model import CandidateResult

        speedup = None if ratio is None else Speedup(ratio, ratio, ratio, 5, 1.0, 1.0 / ratio, "t")
        measurement = Measurement(speedup, bool(ratio and ratio > 1))
        return CandidateResult(
            candidate, GateResult(True), Verdict(status, ("replay",), 1, 0.1), measurement
        )

    assert reward_of(result(VerdictStatus.DIFFERENT)) == ("different", -1.0)
    assert reward_of(result(VerdictStatus.FAILED)) == ("failed", -1.0)
    assert reward_of(result(VerdictStatus.EQUIVALENT)) == ("equivalent", 0.5)
    assert reward_of(result(VerdictStatus.EQUIVALENT, 2.0)) == ("equivalent", 1.0)
    assert reward_of(result(VerdictStatus.EQUIVALENT, 8.0)) == ("equivalent", 1.0)
    assert reward_of(result(VerdictStatus.EQUIVALENT, 0.5)) == ("equivalent", 0.0)


def apply_diff(text: str, diff: str) -> str:
    """Apply a unified diff of one hunk sequence to `text` (what `patch` would do)."""
    lines = text.splitlines(keepends=True)
    out, position = [], 0
    for line in diff.splitlines(keepends=True)[2:]:
        if line.startswith("@@"):
            start = int(line.split()[1].split(",")[0].lstrip("-")) - 1
            out.extend(lines[position:start])
            position = start
        elif line.startswith("-"):
            position += 1
        elif line.startswith("+"):
            out.append(line[1:])
        else:
            out.append(lines[position])
            position += 1
    out.extend(lines[position:])
    return "".join(out)
