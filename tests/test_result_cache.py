"""A second `perfloop optimize` on the same project: what the result cache reuses, what it
recomputes after an edit, and how it says so (results.json, report.md, the terminal)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from perfloop.config import load_settings
from perfloop.export import export_lines
from perfloop.pipeline import optimize
from perfloop.pipeline.reuse import why_changed
from perfloop.results import RunResult
from perfloop.store.runs import RunStore

LIB = """
STOP = ["a", "an", "the", "of", "and", "or", "to", "in", "is", "it"]


def content_words(words):
    kept = []
    for word in words:
        if word not in STOP:
            kept.append(word)
    return kept


def total(prices):
    running = 0
    for price in prices:
        running = running + price
    return running
"""

BENCH = """
import random
from lib import content_words, total

rng = random.Random(0)
vocabulary = ["a", "an", "the", "of", "cat", "dog", "bird", "fish", "tree", "and", "stone"]
texts = [[rng.choice(vocabulary) for _ in range(400)] for _ in range(300)]
prices = [[rng.randint(1, 500) for _ in range(400)] for _ in range(300)]
print(sum(len(content_words(t)) for t in texts), sum(total(p) for p in prices))
"""

SETTINGS = {
    "workload": "python bench.py",
    "functions": ("lib:content_words", "lib:total"),
    "candidate_timeout": 10.0,
    "memory_mb": 600,
    "measure_processes": 2,
    "measure_budget": 3.0,
    "mutants": 3,
    "fuzz_examples": 10,
    "rollout": False,
    "workload_runs": 2,
    "max_workload_runs": 2,
}


def run(root: Path, **overrides: object) -> tuple[RunResult, list[str]]:
    progress: list[str] = []
    settings = load_settings(root, {**SETTINGS, **overrides})
    return optimize(settings, progress=progress.append), progress


def decided(result: RunResult) -> dict[str, tuple]:
    """Per target: status, the candidates with their verdicts and figures, the best."""
    found = {}
    for target in result.targets:
        candidates = tuple(
            (
                c.candidate.origin,
                c.verdict.status.value if c.verdict else None,
                c.measurement.speedup if c.measurement else None,
            )
            for c in target.candidates
        )
        best = target.best.candidate.origin if target.best else None
        found[str(target.function)] = (target.status.value, best, candidates, target.strength)
    return found


def states(result: RunResult) -> dict[str, str]:
    return {str(t.function): t.cache.state.value for t in result.targets if t.cache}


def test_a_rerun_reuses_everything_and_an_edit_recomputes_only_its_function(
    make_project,
) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    first, _ = run(root)
    assert states(first) == {"lib:content_words": "computed", "lib:total": "computed"}
    assert first.targets[0].cache.why == "not in the cache"
    verified = [c for c in first.targets[0].candidates if c.verdict and c.measurement]
    assert verified  # set-membership verifies (faster or not, on this machine today)

    rerun, progress = run(root)
    assert states(rerun) == {"lib:content_words": "reused", "lib:total": "reused"}
    assert {t.cache.run_id for t in rerun.targets} == {first.run_id}
    assert decided(rerun) == decided(first)  # the same verdicts and the same figures
    assert rerun.patch == first.patch
    assert not [m for m in progress if "verifying" in m or "timing" in m or "mutants" in m]
    if rerun.patch:  # the whole-workload A/B of the same patch is reused too
        assert any(f"reused from run {first.run_id}" in note for note in rerun.notes)
    document = json.loads((Path(rerun.run_dir) / "results.json").read_text())
    cache = {t["function"]: t["cache"] for t in document["targets"]}
    assert cache["lib:content_words"] == {
        "state": "reused",
        "why": "nothing that decides it changed",
        "run_id": first.run_id,
    }
    # a dataset export over both runs has each judged candidate once, from the first run
    store = RunStore(root / ".perfloop" / "perfloop.db")
    rewards = list(export_lines(store, "reward"))
    store.close()
    assert rewards and {line["run_id"] for line in rewards} == {first.run_id}
    report = (Path(rerun.run_dir) / "report.md").read_text()
    assert f"verdicts and measurements reused from run {first.run_id}" in report
    assert "result cache: 2 of 2 targets reused" in report

    # --trust-capture: the workload does not run at all on unchanged sources
    trusted, progress = run(root, trust_capture=True)
    assert not [m for m in progress if "Profiling" in m or "Capturing" in m]
    assert states(trusted) == {"lib:content_words": "reused", "lib:total": "reused"}
    assert decided(trusted) == decided(first)
    assert any(note.startswith("--trust-capture: the workload's profile") for note in trusted.notes)

    # `total` edited: only it is computed again, and the run says why
    lib = root / "lib.py"
    lib.write_text(LIB.replace("    running = 0\n", "    running = 0  # the sum so far\n"))
    edited, progress = run(root, trust_capture=True)  # a source changed: not trusted
    assert any("Profiling" in m for m in progress) and any("Capturing" in m for m in progress)
    assert states(edited) == {"lib:content_words": "reused", "lib:total": "computed"}
    assert edited.targets[1].cache.why == "its source changed"
    assert decided(edited)["lib:content_words"] == decided(first)["lib:content_words"]
    assert "running = 0  # the sum so far" in lib.read_text()
    # the reused candidates are put into today's file: a patch keeps the edit of `total`
    for reused in edited.targets[0].candidates:
        assert "running = 0  # the sum so far" in reused.candidate.module_source
    assert "-    running = 0" not in edited.patch

    # --remeasure: the same verdicts, timed again
    remeasured, progress = run(root, remeasure=True)
    assert states(remeasured) == {"lib:content_words": "remeasured", "lib:total": "remeasured"}
    assert any("timing rule:set-membership again" in m for m in progress)
    assert not [m for m in progress if "verifying" in m]
    before = decided(edited)["lib:content_words"][2]
    after = decided(remeasured)["lib:content_words"][2]
    assert [(origin, verdict) for origin, verdict, _ in after] == [
        (origin, verdict) for origin, verdict, _ in before
    ]
    assert [s for *_, s in after] != [s for *_, s in before]  # new timings

    # a damaged cache file: the run goes on, computes everything, and says so (CLI)
    (root / ".perfloop" / "cache.db").write_bytes(b"not a database " * 200)
    for suffix in ("-wal", "-shm"):
        Path(f"{root / '.perfloop' / 'cache.db'}{suffix}").unlink(missing_ok=True)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfloop",
            "optimize",
            "--workload",
            "python bench.py",
            "--function",
            "lib:total",
            "--mutants",
            "0",
            "--fuzz-examples",
            "5",
            "--no-rollout",
            "--memory-mb",
            "600",
        ],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    shown = " ".join(done.stdout.split())
    assert "could not be read" in shown and "a new one started" in shown
    assert "computed" in shown  # the cache column of the table
    assert list((root / ".perfloop").glob("cache.db.unreadable-*"))


def test_a_change_of_recorded_calls_with_perfloop_changed_does_not_blame_the_workload() -> None:
    """perfloop's recorder is part of its verification code: a rerun after upgrading
    perfloop may record the same workload's calls otherwise."""
    assert why_changed(["calls"]) == (
        "its recorded calls changed (the workload called it with other data)"
    )
    both = why_changed(["calls", "verifier"])
    assert both.startswith("its recorded calls changed (perfloop's recording changed")
    assert both.endswith("; perfloop's verification code changed")
    assert why_changed([]) == "not in the cache"
