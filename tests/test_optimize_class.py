"""`perfloop optimize --function pkg.mod:Class`: a whole class as the target.

The rules rewrite each of the class's hot methods; each rewrite is a candidate for the
whole class, judged on the recorded histories of its instances (the interaction tier) and
the workload's output, timed on those histories, then the verified rewrites of different
methods combined into one class. The patch and --apply put the new class in place.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

TALLY = '''
"""Byte statistics kept chunk after chunk."""


class Tally:
    LIMIT = 200

    def __init__(self, name):
        self.name = name
        self.reset()

    def reset(self):
        self._low = 0
        self._high = 0
        self._last = 0
        self._pairs = 0
        self.done = False

    def feed(self, chunk):
        for byte in chunk:
            if byte < self.LIMIT:
                self._low += 1
            else:
                self._high += 1
            if byte == self._last:
                self._pairs += 1
            self._last = byte
        if self._low + self._high > 40000:
            self.done = True
        return self.done

    def ratio(self):
        total = self._low + self._high
        return self._low / total if total else 0.0

    def pairs(self):
        return self._pairs

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
    data = bytes((i * 7 + number) % 256 for i in range(3000))
    for start in range(0, len(data), 1000):
        t.feed(data[start : start + 1000])
        sums.append(t.checksum(data[start : start + 1000]))
    t.feed(b"\\x01\\x01\\x01")
    print(t.name, t.done, round(t.ratio(), 6), t.pairs(), sum(sums))
"""

# small budgets: the test is about what optimize does with a class, not about depth
PYPROJECT = """
[tool.perfloop]
fuzz_examples = 40
fuzz_seconds = 2
workload_runs = 2
max_workload_runs = 3
"""

FEED = "class:feed/rule:scalar-replace-attributes"
CHECKSUM = "class:checksum/rule:sum-loop"


def optimize(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    # 3 processes and room to add more while undecided: with 2 and a 2 s budget, one
    # disturbed process on a loaded machine (CI) widened the interval (Student's t, df 1)
    # past the threshold and the feed rewrite, 1.4x here, read "no significant difference"
    return subprocess.run(
        [sys.executable, "-m", "perfloop", "optimize", "--function", "tally:Tally",
         "--workload", "python bench.py", "--root", str(root), "--mutants", "8",
         "--rules", "scalar-replace-attributes,sum-loop", "--measure-budget", "8",
         "--measure-processes", "3", "--no-project-tests", "--format", "json", *flags],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_optimize_rewrites_the_hot_methods_of_a_class_judges_them_together_and_applies_it(
    make_project,
) -> None:
    root: Path = make_project({"tally.py": TALLY, "bench.py": BENCH, "pyproject.toml": PYPROJECT})
    before = subprocess.run(
        [sys.executable, "bench.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    # a proposer command that fails is a note on the class, as on a function
    done = optimize(root, "--apply", "--proposer-cmd", "exit 1")
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    (target,) = result["targets"]
    assert target["function"] == "tally:Tally" and target["kind"] == "class"
    assert any("exited with status 1" in note for note in target["notes"]), target["notes"]
    report = (root / ".perfloop" / "runs" / result["run_id"] / "report.md").read_text()
    # the class's share is its methods' own time together (the profile's table)
    shares = [
        float(line.split("|")[5].strip().rstrip("%")) / 100
        for line in report.splitlines()
        if line.startswith("| tally:Tally.")
    ]
    assert len(shares) == 6 and target["share"] > 0
    assert target["share"] == pytest.approx(sum(shares), abs=0.005)

    # one candidate per method a rule rewrote, then the two together
    for origin in (FEED, CHECKSUM, FEED + "+checksum/rule:sum-loop"):
        assert f"- `{origin}`: same behaviour [replay: skipped" in report
    assert target["candidates_tried"] == 3
    # the 12 recorded histories and sequences generated from them
    assert len(re.findall(r"interaction: (1[2-9]|[2-9]\d) sequences, same", report)) == 3
    assert "Tally.feed: A local is an index into the frame" in report

    # judged as a class: the interaction tier and the workload's output, with a strength
    # from mutants of its methods. How far beyond noise the feed rewrite measures depends on
    # the machine's load (CI saw a lower bound of 1.06 under load); "improved" already
    # means its interval cleared the noise floor, so only that is asserted here.
    best = target["best"]
    assert target["status"] == "improved" and best["origin"].startswith(FEED)
    assert best["tiers"] == ["interaction", "rollout"]
    assert best["ci"][0] > 1.0
    strength = target["strength"]
    assert strength["generated"] == 8 and set(strength["killed_by"]) == {"interaction"}
    assert "| tally:Tally |" in report and "histories |" in report

    # applied: the new class is in the file, the workload prints what it printed
    applied = (root / "tally.py").read_text()
    assert "try:\n            for byte in chunk:" in applied
    assert applied.startswith('"""Byte statistics kept chunk after chunk."""')
    assert result["applied"] is True
    after = subprocess.run(
        [sys.executable, "bench.py"], cwd=root, capture_output=True, text=True, check=True
    ).stdout
    assert after == before


GENERATED = """
from tally import Tally

for number in range(5):
    t = Tally(f"t{n}" for n in range(number))  # a generator: its values cannot be recorded
    t.feed(bytes(range(200)) * 20)
    print(t.ratio())
"""


@pytest.mark.slow
def test_a_class_whose_instances_cannot_be_followed_is_unverifiable_with_the_reason(
    make_project,
) -> None:
    root: Path = make_project(
        {"tally.py": TALLY, "bench.py": GENERATED, "pyproject.toml": PYPROJECT}
    )
    done = optimize(root, "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    (target,) = json.loads(done.stdout)["targets"]
    assert target["status"] == "unverifiable"
    assert target["reason"] == (
        "none of the 5 instances of Tally the workload made could be followed through a "
        "method call: its constructor's arguments cannot be recorded: TypeError: cannot "
        "pickle 'generator' object"
    )
    assert target["candidates_tried"] == 0 and target["best"] is None
    assert "class Tally:\n    LIMIT = 200" in (root / "tally.py").read_text()  # untouched


@pytest.mark.slow
def test_a_class_result_is_reused_on_a_rerun_and_recomputed_when_its_source_or_workload_changes(
    make_project,
) -> None:
    root: Path = make_project({"tally.py": TALLY, "bench.py": BENCH, "pyproject.toml": PYPROJECT})

    def run(*flags: str) -> dict:
        done = optimize(root, "--rules", "scalar-replace-attributes", *flags)  # the last wins
        assert done.returncode == 0, done.stdout + done.stderr
        result = json.loads(done.stdout)
        (target,) = result["targets"]
        assert target["kind"] == "class"
        return {**result, "progress": done.stderr}

    first = run()
    (target,) = first["targets"]
    assert target["cache"] == {"state": "computed", "why": "not in the cache", "run_id": None}
    assert target["best"]["origin"] == FEED

    again = run()  # nothing changed: the verdicts and measurements come from the first run
    (reused,) = again["targets"]
    assert reused["cache"] == {
        "state": "reused",
        "why": "nothing that decides it changed",
        "run_id": first["run_id"],
    }
    assert reused["best"] == target["best"] and reused["candidates_tried"] == 1
    report = (root / ".perfloop" / "runs" / again["run_id"] / "report.md").read_text()
    assert "result cache: 1 of 1 targets reused" in report
    assert "**1 of 1 classes made faster" in report

    timed = run("--remeasure")  # the cached verdicts, the verified class timed again
    (remeasured,) = timed["targets"]
    assert remeasured["cache"]["state"] == "remeasured"
    assert remeasured["cache"]["run_id"] == first["run_id"]
    assert remeasured["candidates_tried"] == 1 and remeasured["best"]["origin"] == FEED
    assert "timing class:feed/rule:scalar-replace-attributes again" in timed["progress"]

    applied = run("--apply")  # reused, and applied: checked again as a class on disk
    assert applied["targets"][0]["cache"]["state"] == "reused"
    assert applied["applied"] is True, applied["notes"]
    assert "try:\n            for byte in chunk:" in (root / "tally.py").read_text()

    source = root / "tally.py"  # a method of the class changed (not the one rewritten)
    source.write_text(source.read_text().replace("return self._pairs", "return self._pairs + 0"))
    (changed,) = run()["targets"]
    assert changed["cache"]["state"] == "computed"
    assert changed["cache"]["why"] == "its source changed"

    bench = root / "bench.py"  # the same class, other data: other recorded histories
    bench.write_text(bench.read_text().replace("range(12)", "range(10)"))
    (other,) = run()["targets"]
    assert other["cache"]["state"] == "computed"
    assert other["cache"]["why"].startswith("its recorded calls changed")
