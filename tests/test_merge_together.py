"""Two targets of one file, each faster and verified alone, whose changes break each other
in the merged file: the change that breaks it is left out, and the run says what broke.

The proposer command (a script) gives each function a `sum()` version that reads a
module constant it adds, `SCALE`, with a value of its own: alone each is right; merged,
the second change redefines the first's constant, and the first target reads the wrong
one. The merged file is verified again for every target (perfloop.pipeline.merge).
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path

import pytest

from perfloop.config import load_settings
from perfloop.llm.proposer import proposers_for
from perfloop.pipeline import optimize
from perfloop.pipeline.merge import NOT_TOGETHER
from perfloop.results import TargetStatus

LIB = """
def total(xs):
    t = 0
    for x in xs:
        t += x
    return t * 3


def mean(xs):
    t = 0
    for x in xs:
        t += x
    return t * 2 / len(xs)
"""
BENCH = """
import random
from lib import mean, total

rng = random.Random(1)
data = [[rng.randrange(-1000, 1000) for _ in range(rng.randrange(1, 3000))] for _ in range(40)]
print(sum(total(xs) for xs in data), round(sum(mean(xs) for xs in data), 6))
"""
PROPOSER = """
import os
from pathlib import Path

out = Path(os.environ["PERFLOOP_OUT"])
if os.environ["PERFLOOP_PURPOSE"] == "propose":
    if os.environ["PERFLOOP_FUNCTION"] == "lib:total":
        (out / "total.py").write_text(
            "SCALE = 3\\n\\n\\ndef total(xs):\\n    return sum(xs) * SCALE\\n"
        )
    else:
        (out / "mean.py").write_text(
            "SCALE = 2\\n\\n\\ndef mean(xs):\\n    return sum(xs) * SCALE / len(xs)\\n"
        )
"""


@pytest.mark.slow
def test_changes_that_break_each_other_in_one_file_keep_one_and_say_why(
    make_project, tmp_path: Path
) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    script = tmp_path / "proposer.py"
    script.write_text(PROPOSER)
    config = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["lib:total", "lib:mean"],
            "rules": "str-join",  # no rule fires: every candidate is the command's
            "measure_processes": 3,
            "measure_budget": 6.0,
            "fuzz_examples": 30,
            "mutants": 0,
            "rollout": False,
            "workload_runs": 2,
            "max_workload_runs": 2,
            "proposer_cmd": f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}",
            "proposer_timeout": 10.0,
        },
    )
    result = optimize(config, proposers=proposers_for(config))
    targets = {str(t.function): t for t in result.targets}
    for target in targets.values():  # alone, each was verified and faster
        assert any(c.measurement and c.measurement.faster for c in target.candidates), target

    kept = [t for t in targets.values() if t.status is TargetStatus.IMPROVED]
    left_out = [t for t in targets.values() if t.reason == NOT_TOGETHER]
    assert len(kept) == 1 and len(left_out) == 1, [(t.function, t.reason) for t in targets.values()]
    (winner,), (loser,) = kept, left_out
    # the higher speedup stays; the lower one, added second, broke it, and the note says how
    assert (
        winner.best.measurement.speedup.ratio  # type: ignore[union-attr]
        >= max(c.measurement.speedup.ratio for c in loser.candidates if c.measurement)  # type: ignore[union-attr]
    )
    note = loser.notes[-1]
    assert (
        f"with its change in the file, {winner.function} (faster by more) no longer verifies"
        in (note)
    ), note
    assert "behaves differently" in note, note

    # the patch holds the kept change only (each target's own constant, SCALE)
    scale = {"total": "3", "mean": "2"}
    # two blank lines between the new constant and the def, no new ones above it
    assert f"+SCALE = {scale[winner.function.qualname]}\n+\n+\n def" in result.patch, result.patch
    assert "+\n+SCALE" not in result.patch, result.patch
    assert f"SCALE = {scale[loser.function.qualname]}" not in result.patch, result.patch
    document = json.loads((Path(result.run_dir) / "results.json").read_text())
    by_name = {t["function"]: t for t in document["targets"]}
    assert by_name[str(loser.function)]["notes"][-1] == note
    report = (Path(result.run_dir) / "report.md").read_text()
    assert f"- note: {note}" in report
