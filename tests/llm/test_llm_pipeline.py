"""The LLM proposer in the whole pipeline, against a real OpenAI-style server on loopback:
a wrong answer is rejected with a counterexample, the counterexample goes back in the repair
prompt, the repaired answer is verified and measured; a re-run is answered from the cache."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAI, answer

from perfloop.cli.main import main
from perfloop.config import load_settings
from perfloop.llm.proposer import proposers_for
from perfloop.model import VerdictStatus
from perfloop.pipeline import optimize

LIB = '''
def count_common(a, b):
    """How many items of a (with repeats) are also in b."""
    n = 0
    for x in a:
        if x in b:
            n += 1
    return n
'''
BENCH = """
import random
from lib import count_common

rng = random.Random(1)
b = list(range(0, 3000, 3))
print(sum(count_common([rng.randrange(3000) for _ in range(400)], b) for _ in range(30)))
"""
WRONG = """Using sets makes this O(n):

```python
def count_common(a, b):
    return len(set(a) & set(b))
```
"""
REPAIRED = """You are right, repeats in a count. Here is a fixed version:

```python
def count_common(a, b):
    lookup = set(b)
    return sum(1 for x in a if x in lookup)
```
"""


@pytest.fixture
def project(make_project) -> Path:
    return make_project({"lib.py": LIB, "bench.py": BENCH})


def settings(root: Path, url: str, **extra: object):
    return load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["lib:count_common"],
            "measure_processes": 2,
            "mutants": 5,
            "rules": ["math-sqrt"],  # fires on nothing here: the model's answers alone
            "candidate_timeout": 20.0,
            "llm": "openai:fake-model",
            "llm_base_url": url,
            "llm_rounds": 1,
            **extra,
        },
    )


@pytest.mark.slow
def test_a_rejected_answer_is_repaired_with_its_counterexample_then_verified(
    project: Path,
) -> None:
    with FakeOpenAI([answer(WRONG), answer(REPAIRED)]) as server:
        config = settings(project, server.base_url)
        result = optimize(config, proposers=proposers_for(config))
        first, second = server.user_prompts()

    assert "def count_common(a, b):" in first and "if x in b:" in first
    assert "a membership test in a loop" in first  # the hot line, from the line profile
    assert "of the function's time" in first and "a: list[int]" in first
    assert "count_common([" in first  # a captured call

    target = result.targets[0]
    by_origin = {c.candidate.origin: c for c in target.candidates}
    wrong = by_origin["llm:propose"]
    assert wrong.verdict.status is VerdictStatus.DIFFERENT
    counterexample = wrong.verdict.difference.call
    assert counterexample in second  # the counterexample went back to the model
    assert "behaves differently" in second and "len(set(a) & set(b))" in second

    repaired = by_origin["llm:repair"]
    assert repaired.verdict.status is VerdictStatus.EQUIVALENT
    assert repaired.measurement.speedup is not None and repaired.measurement.faster
    assert "repeats in a count" in repaired.candidate.rationale

    assert result.llm_usage.calls == 2 and result.llm_usage.cached_calls == 0
    assert result.llm_usage.prompt_tokens == 200
    report = json.loads((Path(result.run_dir) / "results.json").read_text())
    assert report["llm"]["verified_speedups"] >= 1
    assert report["llm"]["tokens_per_verified_speedup"] > 0
    assert "per verified speedup" in (Path(result.run_dir) / "report.md").read_text()

    db = sqlite3.connect(project / ".perfloop" / "perfloop.db")
    rows = db.execute("SELECT purpose, cached, candidate_id, prompt FROM llm_calls").fetchall()
    assert [(r[0], r[1]) for r in rows] == [("propose", 0), ("repair", 0)]
    assert rows[1][2] == repaired.candidate.candidate_id and counterexample in rows[1][3]

    # the same run again: every request is answered from the store, none reaches the server
    with FakeOpenAI([answer("```python\nthe server must not be asked\n```")] * 2) as server:
        config = settings(project, server.base_url)
        again = optimize(config, proposers=proposers_for(config))
        assert server.requests == []
    assert again.llm_usage.cached_calls == 2 and again.llm_usage.tokens == 0
    origins = {c.candidate.origin for c in again.targets[0].candidates}
    assert {"llm:propose", "llm:repair"} <= origins

    # unless the cache is switched off
    with FakeOpenAI([answer(WRONG), answer(REPAIRED)]) as server:
        config = settings(project, server.base_url, llm_cache=False)
        optimize(config, proposers=proposers_for(config))
        assert len(server.requests) == 2


def test_a_wrong_key_stops_the_command_before_the_run_with_what_to_fix(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEAM_KEY", "wrong")
    with FakeOpenAI([], api_key="right") as server:
        code = main(
            [
                "optimize",
                "--root",
                str(project),
                "--workload",
                "python bench.py",
                "--llm",
                "openai:fake-model",
                "--llm-base-url",
                server.base_url,
                "--llm-api-key-env",
                "TEAM_KEY",
            ]
        )
        assert server.requests == []
    assert code == 2
    out = capsys.readouterr().out
    assert "refused the API key" in out and "TEAM_KEY" in out
    assert not (project / ".perfloop").exists()  # nothing ran


def test_a_bad_llm_spec_is_a_usage_error(project: Path, capsys) -> None:
    code = main(["optimize", "--root", str(project), "--workload", "x", "--llm", "gpt4"])
    assert code == 2
    assert "openai:MODEL" in capsys.readouterr().out


@pytest.mark.slow
def test_the_command_prints_prompts_and_answers_with_llm_log(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with FakeOpenAI([answer(REPAIRED)]) as server:
        code = main(
            [
                "optimize",
                "--root",
                str(project),
                "--workload",
                "python bench.py",
                "--function",
                "lib:count_common",
                "--llm",
                "openai:fake-model",
                "--llm-base-url",
                server.base_url,
                "--llm-rounds",
                "0",
                "--llm-log",
                "--llm-prices",
                "1.0,2.0",
                "--rules",
                "math-sqrt",  # fires on nothing here: the model's answer alone
                "--mutants",
                "5",
                "--measure-processes",
                "2",
            ]
        )
    assert code == 0
    out = capsys.readouterr().out
    assert "--- LLM propose for lib:count_common (openai:fake-model" in out
    assert "Make the Python function `count_common` faster." in out
    assert "lookup = set(b)" in out
    assert "LLM: 1 calls (0 from the cache)" in out and "$0.000" in out
