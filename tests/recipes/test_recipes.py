"""Recipes from real runs: an outside proposer's verified edit in one project becomes a
recipe; its template proposes in another project on functions of other names, where one
application verifies and is faster and one behaves differently and marks the recipe, which
the next run then does not try; the recipe is a worked example in the proposer's prompt."""

from __future__ import annotations

import json
import shlex
import sys
import textwrap
from pathlib import Path

import pytest

from perfloop.cli.main import main
from perfloop.config import load_settings
from perfloop.llm.proposer import proposers_for
from perfloop.model import VerdictStatus
from perfloop.pipeline import optimize
from perfloop.recipes.library import Recipe, load_library
from perfloop.results import RunResult, TargetStatus

pytestmark = pytest.mark.slow  # real runs of the pipeline, shared by the module

EXPERT = f"{shlex.quote(sys.executable)} {shlex.quote(str(Path(__file__).parent / 'expert.py'))}"
FEED = """
def reverse(posts):
    out = []
    for i in range(len(posts) - 1, -1, -1):
        out.append(posts[i])
    return out
"""
FEED_BENCH = """
import random
from feed import reverse

rng = random.Random(3)
pages = [[rng.randrange(10_000) for _ in range(rng.randrange(500, 3000))] for _ in range(40)]
print(sum(len(reverse(p)) for _ in range(20) for p in pages))
"""
JOURNAL = """
class Journal:
    def __init__(self, title):
        self.title = title

    def newest_first(self, lines):
        result = []
        for k in range(len(lines) - 1, -1, -1):
            result.append(lines[k])
        if not result:
            return [self.title]
        return result


def by_position(table):
    names = []
    for n in range(len(table) - 1, -1, -1):
        names.append(table[n])
    return names
"""
JOURNAL_BENCH = """
import random
from journal import Journal, by_position

rng = random.Random(5)
days = [[str(rng.randrange(10**6)) for _ in range(rng.randrange(500, 3000))] for _ in range(40)]
journal = Journal("empty")
print(sum(len(journal.newest_first(d)) for _ in range(20) for d in days))
tables = [{i: f"n{i}" for i in range(rng.randrange(50, 300))} for _ in range(40)]
print(sum(len(by_position(t)) for _ in range(20) for t in tables))
"""
FAST = {"mutants": 5, "measure_processes": 2}


def project(root: Path, module: str, source: str, bench: str) -> Path:
    root.mkdir(parents=True)
    (root / f"{module}.py").write_text(textwrap.dedent(source).lstrip())
    (root / "bench.py").write_text(textwrap.dedent(bench).lstrip())
    return root


@pytest.fixture(scope="module")
def feed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Project A: an outside expert's slice rewrite verified and measured faster."""
    root = project(tmp_path_factory.mktemp("a") / "feed", "feed", FEED, FEED_BENCH)
    code = main(
        [
            "optimize",
            "--root",
            str(root),
            "--workload",
            "python bench.py",
            "--function",
            "feed:reverse",
            "--proposer-cmd",
            EXPERT,
            "--proposer-name",
            "expert",
            "--rules",
            "math-sqrt",  # fires on nothing here: the expert's edit alone, for time
            "--mutants",
            "5",
            "--measure-processes",
            "2",
        ]
    )
    assert code == 0
    return root


def run_journal(root: Path, feed: Path, **more: object) -> RunResult:
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["journal:Journal.newest_first", "journal:by_position"],
            "recipes": [str(feed)],
            "proposer_cmd": EXPERT,
            "proposer_name": "expert",
            "rules": ["list-comprehension"],  # the rule that competes with the recipe here
            **FAST,
            **more,
        },
    )
    result = optimize(settings, proposers=proposers_for(settings))
    assert isinstance(result, RunResult)
    return result


@pytest.fixture(scope="module")
def journal(tmp_path_factory: pytest.TempPathFactory, feed: Path) -> tuple[Path, RunResult]:
    """Project B, optimized with project A's recipes."""
    root = tmp_path_factory.mktemp("b") / "journal"
    project(root, "journal", JOURNAL, JOURNAL_BENCH)
    return root, run_journal(root, feed)


def expert_recipe(feed: Path) -> Recipe:
    (recipe,) = [r for r in load_library([str(feed)], feed).recipes if r.origin == "cmd:expert"]
    return recipe


def listed(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    assert main(["recipes", *args]) == 0
    return capsys.readouterr().out


def test_a_verified_faster_edit_is_a_recipe_with_its_evidence(
    feed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recipe = expert_recipe(feed)
    assert recipe.function == "feed:reverse" and recipe.proposer == "proposer command expert"
    assert "out = posts[::-1]" in recipe.after and "out.append(posts[i])" in recipe.before
    assert recipe.speedup > 1 and recipe.ci[0] > 1  # measured faster, interval above 1
    assert recipe.python.startswith(f"{sys.version_info[0]}.{sys.version_info[1]}.")
    assert ("replay", "same") in [(e.tier, e.outcome) for e in recipe.evidence]
    assert recipe.template is not None and "_pl_n" in recipe.template.pattern

    table = listed(capsys, "--root", str(feed))
    assert recipe.recipe_id in table and "proposer command expert" in table
    assert "usable" in table
    shown = listed(capsys, "show", recipe.recipe_id[:5], "--root", str(feed))
    assert "verified by  replay: same" in shown
    assert "_pl_n1 = _pl_n2[::-1]" in shown and f"run {recipe.run_id}" in shown


def test_export_writes_a_library_another_project_reads(
    feed: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    exported = tmp_path / "recipes.json"
    assert main(["recipes", "export", "--root", str(feed), "--output", str(exported)]) == 0
    assert json.loads(exported.read_text())["schema"] == "perfloop.recipes/1"
    assert (
        load_library([str(exported)], tmp_path).recipes == load_library([str(feed)], feed).recipes
    )


def test_the_template_proposes_on_other_functions_and_verifies_where_it_is_right(
    journal: tuple[Path, RunResult], feed: Path
) -> None:
    recipe = expert_recipe(feed)
    _root, result = journal
    newest = next(t for t in result.targets if t.function.qualname == "Journal.newest_first")
    assert newest.status is TargetStatus.IMPROVED, newest.reason
    assert newest.best is not None, newest.reason
    # the recipe beat the rules' own candidates (a comprehension) on this target
    assert newest.best.candidate.origin == f"recipe:{recipe.recipe_id}"
    assert "result = lines[::-1]" in newest.best.candidate.function_source
    assert "return [self.title]" in newest.best.candidate.function_source  # the rest stays


def test_the_most_similar_recipe_is_a_worked_example_in_the_prompt(
    journal: tuple[Path, RunResult],
) -> None:
    root, _result = journal
    prompt = (root / "prompts" / "journal.Journal.newest_first.propose.txt").read_text()
    assert "Rewrites of other functions that were verified and measured faster" in prompt
    assert "out = posts[::-1]" in prompt and "feed:reverse" in prompt


def test_a_recipe_that_fails_elsewhere_is_marked_and_not_tried_again(
    journal: tuple[Path, RunResult], feed: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root, result = journal
    recipe = expert_recipe(feed)
    by_position = next(t for t in result.targets if t.function.qualname == "by_position")
    (tried,) = [c for c in by_position.candidates if c.candidate.origin.startswith("recipe:")]
    assert tried.verdict is not None and tried.verdict.status is VerdictStatus.DIFFERENT

    shown = listed(capsys, "show", recipe.recipe_id, "--root", str(root), "--recipes", str(feed))
    assert f"FAILED       on journal:by_position in run {result.run_id}" in shown
    assert "marked: not proposed again" in shown
    table = listed(capsys, "--root", str(root), "--recipes", str(feed))
    assert "failed 1x, not used" in table

    again = run_journal(root, feed, cache=False)
    origins = [c.candidate.origin for t in again.targets for c in t.candidates]
    assert not [o for o in origins if o.startswith("recipe:")], origins
