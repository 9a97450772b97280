"""`--proposer-cmd`: a real command per target, its candidates through the real pipeline.

One run of perfloop on a small project meets every case through one script
(proposer_scripts/scripted.py) that behaves by target: a faster version that is verified
and measured, a wrong one rejected with its counterexample and repaired from the repair
prompt, a hang killed at the time budget (with the child it started), an exit 1, and
garbage. Each failure is a note on its target; the run goes on.
"""

from __future__ import annotations

import json
import os
import shlex
import sqlite3
import sys
from pathlib import Path

import pytest

from perfloop.cli.main import main
from perfloop.config import ConfigError, load_settings
from perfloop.llm.command import program_name, read_cost
from perfloop.llm.proposer import proposers_for
from perfloop.model import VerdictStatus
from perfloop.pipeline import optimize
from perfloop.results import TargetStatus

SCRIPTS = Path(__file__).parent / "proposer_scripts"
LIB = '''
def total(xs):
    t = 0
    for i in range(len(xs)):
        t += xs[i]
    return t


def count_common(a, b):
    """How many items of a (with repeats) are also in b."""
    n = 0
    for x in a:
        if x in b:
            n += 1
    return n


def largest(xs):
    best = xs[0]
    for x in xs:
        if x > best:
            best = x
    return best


def smallest(xs):
    best = xs[0]
    for x in xs:
        if x < best:
            best = x
    return best


def squares(n):
    out = []
    for i in range(n):
        out.append(i * i)
    return out
'''
BENCH = """
import random
from lib import count_common, largest, smallest, squares, total

rng = random.Random(1)
b = list(range(0, 3000, 3))
print(sum(count_common([rng.randrange(3000) for _ in range(400)], b) for _ in range(30)))
data = [[rng.randrange(-1000, 1000) for _ in range(rng.randrange(1, 3000))] for _ in range(30)]
print(sum(total(xs) for xs in data), sum(largest(xs) - smallest(xs) for xs in data))
print(sum(len(squares(n)) for n in range(300)))
"""
FUNCTIONS = ["lib:total", "lib:count_common", "lib:largest", "lib:smallest", "lib:squares"]


def command(script: str) -> str:
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPTS / script))}"


def settings(root: Path, **extra: object):
    return load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": FUNCTIONS,
            "rules": "str-join",  # no rule fires: every candidate is the command's
            # three processes, and budget for more: with two whose budget ends after
            # them, one process disturbed by a loaded machine leaves a Student's t
            # interval with df 1 (12.7x its spread) below min-speedup even for sum()'s
            # 3x (CI, at 7c59541: "total" not chosen, in both parametrisations)
            "measure_processes": 3,
            "candidate_timeout": 20.0,
            "fuzz_examples": 30,
            "mutants": 0,
            "rollout": False,
            "measure_budget": 6.0,
            "workload_runs": 2,
            "max_workload_runs": 2,
            "proposer_cmd": command("scripted.py"),
            "proposer_timeout": 3.0,
            **extra,
        },
    )


@pytest.mark.slow
def test_every_outcome_of_a_command_in_one_run(make_project) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    original = (root / "lib.py").read_text()
    config = settings(root)
    result = optimize(config, proposers=proposers_for(config))
    targets = {str(t.function): t for t in result.targets}

    total = targets["lib:total"]  # a faster version: verified, measured, chosen
    assert total.status is TargetStatus.IMPROVED, total
    assert total.best.candidate.origin == "cmd:scripted"
    assert "return sum(xs)" in total.best.candidate.function_source
    assert total.best.verdict.status is VerdictStatus.EQUIVALENT
    assert total.best.verdict.calls_checked == 30 and "fuzz" in total.best.verdict.tiers
    assert total.best.measurement.faster
    assert "written by the proposer command scripted (propose, total.py)" in (
        total.best.candidate.rationale
    )
    # the refinement run wrote nothing: a note, not a failure
    assert any("refine: it wrote nothing" in n for n in total.notes), total.notes

    common = targets["lib:count_common"]  # wrong, then repaired from the counterexample
    wrong, repaired = common.candidates
    assert wrong.verdict.status is VerdictStatus.DIFFERENT
    counterexample = wrong.verdict.difference.call
    assert counterexample.startswith("count_common(")
    assert repaired.verdict.status is VerdictStatus.EQUIVALENT and repaired.measurement.faster
    assert common.best is repaired and "(repair, fixed.py)" in repaired.candidate.rationale

    hang = targets["lib:largest"]  # killed at the budget, with the child it started
    assert hang.candidates == () and hang.status is TargetStatus.NO_FASTER_CANDIDATE
    assert "stopped after 3 s (proposer-timeout)" in hang.reason, hang.reason
    child = int((root / "child.pid").read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)

    failed = targets["lib:smallest"]  # exit 1: its error output in the note
    assert failed.candidates == ()
    assert "exited with status 1" in failed.notes[0]
    assert "the model refused (quota exceeded)" in failed.notes[0]

    garbage = targets["lib:squares"]
    assert garbage.candidates == ()
    assert "garbage.py: its code does not parse" in garbage.notes[0], garbage.notes

    assert (root / "lib.py").read_text() == original  # nothing written into the project
    usage = result.llm_usage  # cost as the command reported it, runs counted
    assert usage.command_runs == usage.calls == 7  # 5 proposals, 1 repair, 1 refinement
    assert (usage.prompt_tokens, usage.completion_tokens) == (120, 30)
    assert usage.cost == pytest.approx(0.002) and usage.failed_calls == 2

    run_dir = Path(result.run_dir)
    document = json.loads((run_dir / "results.json").read_text())
    assert document["llm"]["command_runs"] == 7 and document["llm"]["verified_speedups"] == 2
    by_name = {t["function"]: t for t in document["targets"]}
    assert "exited with status 1" in by_name["lib:smallest"]["notes"][0]
    report = (run_dir / "report.md").read_text()
    assert "proposer command: 7 runs" in report and "- note: cmd:scripted propose:" in report

    # what the command was given, kept in the run folder
    folders = sorted((run_dir / "proposer").iterdir())
    assert [f.name for f in folders][:2] == ["01-lib_total-propose", "02-lib_total-refine"]
    context = json.loads((folders[0] / "context.json").read_text())
    assert context["schema"] == "perfloop.proposer/1" and context["qualname"] == "total"
    assert context["path"] == "lib.py" and context["file"] == str(root / "lib.py")
    assert "for i in range(len(xs)):" in context["source"]
    assert context["calls"] and context["calls"][0].startswith("total([")
    assert context["parameter_types"] == {"xs": ["list[int]"]}
    assert context["hot_lines"] and 0 < context["share"] < 1
    assert "Make the Python function `total` faster" in (folders[0] / "prompt.txt").read_text()
    repair = next(f for f in folders if f.name.endswith("count_common-repair"))
    repair_context = json.loads((repair / "context.json").read_text())
    assert counterexample in repair_context["previous"]["outcome"]
    assert "len(set(a) & set(b))" in repair_context["previous"]["source"]

    db = sqlite3.connect(root / ".perfloop" / "perfloop.db")
    rows = db.execute("SELECT model, purpose, error FROM llm_calls ORDER BY rowid").fetchall()
    assert {r[0] for r in rows} == {"cmd:scripted"}
    assert [r[1] for r in rows if r[2]] == ["propose", "propose"]  # the hang and the exit 1


PRINTS = """
cat <<'ANSWER'
Index loops are slow; sum() runs in C:

```python
def total(xs):
    return sum(xs)
```
ANSWER
"""
EDITS_IN_PLACE = (
    'sed -i "s/    for i in range(len(xs)):/    return sum(xs)\\n    for i in range(len(xs)):/" '
    '"$PERFLOOP_FILE"'
)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("proposer", "taken_from"),
    [(PRINTS, "standard output"), (EDITS_IN_PLACE, "lib.py")],
    ids=["printed", "edited-in-place"],
)
def test_an_answer_printed_or_written_into_the_module_is_a_candidate_too(
    make_project, proposer: str, taken_from: str
) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    original = (root / "lib.py").read_text()
    config = settings(root, functions=["lib:total"], proposer_cmd=proposer, proposer_rounds=0)
    result = optimize(config, proposers=proposers_for(config))
    (target,) = result.targets
    assert target.best is not None
    assert target.best.candidate.origin in {"cmd:sed", "cmd:cat"}
    assert f"(propose, {taken_from})" in target.best.candidate.rationale
    assert "return sum(xs)" in target.best.candidate.function_source
    assert (root / "lib.py").read_text() == original  # an edit in place is put back
    if taken_from == "lib.py":
        assert "perfloop put the file back as it was" in target.notes[0]


def test_a_missing_program_stops_the_command_before_the_run(make_project, capsys) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    code = main(
        [
            "optimize",
            "--root",
            str(root),
            "--workload",
            "python bench.py",
            "--proposer-cmd",
            "no-such-agent -p",
        ]
    )
    assert code == 2
    out = capsys.readouterr().out
    assert "'no-such-agent' is not a program on PATH" in out
    assert not (root / ".perfloop" / "runs").exists()  # nothing ran


def test_the_origin_names_the_program_and_a_bad_name_is_refused(tmp_path: Path) -> None:
    assert program_name("claude -p --output-format text") == "claude"
    assert program_name("python3 tools/propose.py --fast") == "propose"
    assert program_name("OLLAMA_HOST=1 uvx llm -m gpt-4o-mini") == "llm"
    assert program_name("aider --yes-always --message-file x") == "aider"
    assert program_name(command("scripted.py")) == "scripted"
    with pytest.raises(ConfigError, match="proposer-name 'a b' must be letters"):
        proposers_for(load_settings(tmp_path, {"proposer_cmd": "true", "proposer_name": "a b"}))


def test_a_cost_report_is_read_and_a_bad_one_is_named(tmp_path: Path) -> None:
    path = tmp_path / "cost.json"
    path.write_text('{"prompt_tokens": 812, "completion_tokens": 240, "cost": 0.0031}')
    cost, problem = read_cost(path)
    assert (cost.prompt_tokens, cost.completion_tokens, cost.dollars) == (812, 240, 0.0031)
    assert cost.seconds is None and problem is None
    for bad in ('{"prompt_tokens": -1}', '{"cost": "cheap"}', "[1, 2]", "not json"):
        path.write_text(bad)
        cost, problem = read_cost(path)
        assert cost.prompt_tokens == 0 and "cost report ($PERFLOOP_COST) was not used" in problem
    assert read_cost(tmp_path / "absent.json")[1] is None


@pytest.mark.slow
def test_the_command_line_prints_a_failed_command_as_a_note_on_its_target(
    make_project, capsys
) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    code = main(
        [
            "optimize",
            "--root",
            str(root),
            "--workload",
            "python bench.py",
            "--function",
            "lib:total",
            "--rules",
            "str-join",
            "--proposer-cmd",
            "echo 'no credits left' >&2; exit 3",
            "--proposer-name",
            "broken",
        ]
    )
    assert code == 0  # the run completes
    out = capsys.readouterr().out
    assert "lib:total: cmd:broken propose: exited with status 3" in " ".join(out.split())
    assert "no credits left" in out
