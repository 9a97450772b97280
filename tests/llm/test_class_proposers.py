"""A whole class as the target of `perfloop optimize`, given to the proposers that work in
rounds: a real OpenAI-style server on loopback (the LLM) and a real proposer command. The
prompt holds the whole class, its hot methods with their shares and its recorded histories'
shapes; the answer is a whole new class, judged as `perfloop verify pkg.mod:Class` judges
one (the interaction tier, the workload's output). A wrong class is rejected with what the
interaction tier found, which goes back in the repair prompt; the repaired class, which
changes how the instances keep their state and three methods together, is verified, timed
on the recorded histories and applied."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fake_openai_server import FakeOpenAI, answer

TALLY = '''
"""Byte statistics kept chunk after chunk."""


class Tally:
    LIMIT = 200

    def __init__(self, name):
        self.name = name
        self._low = 0
        self._high = 0
        self.done = False

    def feed(self, chunk):
        for byte in chunk:
            if byte < self.LIMIT:
                self._low += 1
            else:
                self._high += 1
        if self._low + self._high > 40000:
            self.done = True
        return self.done

    def ratio(self):
        total = self._low + self._high
        return self._low / total if total else 0.0

    def checksum(self, chunk):
        total = 0
        for byte in chunk:
            total += byte
        return total
'''

BENCH = """
from tally import Tally

for number in range(12):
    t = Tally(f"t{number}")
    sums = []
    data = bytes((i * 7 + number) % 256 for i in range(6000))
    for start in range(0, len(data), 2000):
        t.feed(data[start : start + 2000])
        sums.append(t.checksum(data[start : start + 2000]))
    print(t.name, t.done, round(t.ratio(), 6), sum(sums))
"""

PYPROJECT = """
[tool.perfloop]
fuzz_examples = 40
fuzz_seconds = 2
workload_runs = 2
max_workload_runs = 3
"""

# the counts kept as "low" and "total", the low bytes counted by `bytes.translate` in C,
# `sum` for the checksum: __init__, feed, ratio and checksum change together
RIGHT = """
class Tally:
    LIMIT = 200
    HIGH = bytes(range(200, 256))

    def __init__(self, name):
        self.name = name
        self._low = 0
        self._total = 0
        self.done = False

    def feed(self, chunk):
        self._low += len(chunk.translate(None, self.HIGH))
        self._total += len(chunk)
        if self._total > 40000:
            self.done = True
        return self.done

    def ratio(self):
        total = self._total
        return self._low / total if total else 0.0

    def checksum(self, chunk):
        return sum(chunk)
"""
# counts byte 200 as low: the ratio differs
WRONG = RIGHT.replace("range(200, 256)", "range(201, 256)")

LLM_WRONG = f"Keep the counts as low and total and count in C:\n\n```python\n{WRONG}```\n"
LLM_RIGHT = f"You are right, 200 is not below the limit:\n\n```python{RIGHT}```\n"

COMMAND = f"""
import json, os, sys
from pathlib import Path

context = json.loads(Path(os.environ["PERFLOOP_CONTEXT"]).read_text())
prompt = sys.stdin.read()
out = Path(os.environ["PERFLOOP_OUT"])
log = Path(os.environ["PERFLOOP_ROOT"], "asked.jsonl")
with log.open("a") as handle:
    handle.write(json.dumps({{"context": context, "prompt": prompt}}) + "\\n")
if context["function"] == "tally:Tally" and context["purpose"] == "propose":
    (out / "wrong.py").write_text({WRONG!r})
elif context["function"] == "tally:Tally" and context["purpose"] == "repair":
    (out / "right.py").write_text({RIGHT!r})
"""


def optimize(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    # 3 processes and room to add more while undecided: with 2 and a 2 s budget, one
    # disturbed process on a loaded machine widens the interval (Student's t, df 1) past
    # the threshold and a clear speedup reads "no significant difference"
    return subprocess.run(
        [sys.executable, "-m", "perfloop", "optimize", "--function", "tally:Tally",
         "--workload", "python bench.py", "--root", str(root), "--mutants", "8",
         "--rules", "math-sqrt", "--measure-budget", "8", "--measure-processes", "3",
         "--no-project-tests", "--format", "json", *flags],
        capture_output=True, text=True, timeout=400,
        env={**os.environ, "OPENAI_API_KEY": "test-key"},
    )  # fmt: skip


def workload_output(root: Path) -> str:
    done = subprocess.run(
        [sys.executable, "bench.py"], cwd=root, capture_output=True, text=True, check=True
    )
    return done.stdout


def check_wrong_then_right(root: Path, result: dict, wrong: str, right: str, before: str) -> None:
    """The wrong class rejected by the interaction tier, the repaired one verified, faster,
    applied; the workload prints what it printed."""
    (target,) = result["targets"]
    assert target["function"] == "tally:Tally" and target["kind"] == "class"
    report = (root / ".perfloop" / "runs" / result["run_id"] / "report.md").read_text()
    # the ratio after the third chunk differs: the interaction tier's recorded history
    assert f"- `{wrong}`: **behaves differently** (interaction): recorded history" in report
    assert "call 7: result: expected 0.78" in report
    best = target["best"]
    assert target["status"] == "improved" and best["origin"] == right
    assert best["tiers"] == ["interaction", "rollout"]
    assert best["ci"][0] > 1.05  # improved: the lower bound clears the threshold
    assert target["strength"]["generated"] == 8
    assert result["applied"] is True
    applied = (root / "tally.py").read_text()
    assert applied.startswith('"""Byte statistics kept chunk after chunk."""')
    assert "self._total += len(chunk)" in applied and "return sum(chunk)" in applied
    assert workload_output(root) == before


@pytest.mark.slow
def test_the_llm_is_given_the_whole_class_and_its_class_is_repaired_verified_and_applied(
    make_project,
) -> None:
    root: Path = make_project({"tally.py": TALLY, "bench.py": BENCH, "pyproject.toml": PYPROJECT})
    before = workload_output(root)
    with FakeOpenAI([answer(LLM_WRONG), answer(LLM_RIGHT)]) as server:
        done = optimize(
            root, "--apply", "--llm", "openai:fake-model", "--llm-base-url", server.base_url,
            "--llm-rounds", "1",
        )  # fmt: skip
        prompts = server.user_prompts()
        systems = [str(r["messages"][0]["content"]) for r in server.requests]  # type: ignore[index]
    assert done.returncode == 0, done.stdout + done.stderr
    assert len(prompts) == 2, prompts
    first, second = prompts

    # asked about the whole class: its source, its hot methods, its instances' histories
    assert "Make the Python class `Tally` faster." in first
    assert "    def checksum(self, chunk):" in first and "class Tally:" in first
    assert "Its hot methods, each with its own share of the time:" in first
    assert "- `feed`: about" in first and "- `checksum`: " in first
    assert "- Tally('t0'), then 7 method calls: .feed(b" in first
    assert "x3, .checksum(b" in first and "x3, .ratio()" in first
    assert "Private attributes and private methods (a leading underscore) may change" in first
    assert all("You rewrite one class" in system for system in systems)
    # the repair prompt: the wrong class and what the interaction tier found
    assert "range(201, 256)" in second and "original class again" in second
    assert "call 7: result: expected 0.78" in second, second

    result = json.loads(done.stdout)
    check_wrong_then_right(root, result, "llm:propose", "llm:repair", before)
    assert result["llm"]["calls"] == 2


@pytest.mark.slow
def test_a_proposer_command_is_given_the_whole_class_and_its_class_is_applied(
    make_project,
) -> None:
    root: Path = make_project(
        {
            "tally.py": TALLY,
            "bench.py": BENCH,
            "pyproject.toml": PYPROJECT,
            "propose.py": COMMAND,
        }
    )
    before = workload_output(root)
    done = optimize(
        root, "--apply", "--proposer-cmd", "python propose.py", "--proposer-rounds", "1"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    asked = [json.loads(line) for line in (root / "asked.jsonl").read_text().splitlines()]
    assert [a["context"]["purpose"] for a in asked] == ["propose", "repair"]
    context = asked[0]["context"]
    assert context["kind"] == "class" and context["qualname"] == "Tally"
    assert context["source"].startswith("class Tally:") and "def ratio(self):" in context["source"]
    methods = [m["method"] for m in context["hot_methods"]]
    assert {"feed", "checksum"} <= set(methods) and all(
        m["share"] > 0 for m in context["hot_methods"]
    )
    assert context["calls"][0].startswith("Tally('t0'), then 7 method calls: .feed(b")
    repair = asked[1]
    assert repair["context"]["previous"]["source"].count("range(201, 256)") == 1
    assert "original class again" in repair["prompt"]

    result = json.loads(done.stdout)
    check_wrong_then_right(root, result, "cmd:propose", "cmd:propose", before)
