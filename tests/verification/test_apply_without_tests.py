"""`--apply` writes nothing into a project whose tests exist but could not run.

The project's own tests are the strongest evidence a change is safe; a run where
they could not judge the candidates (a conftest.py that fails to import, a suite
killed for time) must not change the user's files unless the user says so with
--apply-without-tests, and then the report and results.json say it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from perfloop.config import load_settings
from perfloop.model import FunctionRef, Limits
from perfloop.pipeline import optimize
from perfloop.verification.project_tests import index_tests

LIB = """
def ways(amount, coins):
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])
"""

BENCH = """
from shop import ways

print(sum(ways(n, (1, 2, 5, 10)) for n in range(60, 66)))
"""

TESTS = """
from shop import ways


def test_four_ways_to_change_five_with_ones_and_twos():
    assert ways(5, (1, 2)) == 3
"""

BROKEN_CONFTEST = """
import a_pytest_plugin_that_is_not_installed  # noqa: F401
"""

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)


@pytest.fixture
def broken_tests(make_project) -> Path:
    return make_project(
        {
            "shop.py": LIB,
            "bench.py": BENCH,
            "tests/test_shop.py": TESTS,
            "tests/conftest.py": BROKEN_CONFTEST,
        }
    )


def run(root: Path, **flags: object):
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "apply": True,
            "functions": ["shop:ways"],
            "measure_processes": 2,
            "mutants": 0,
            "fuzz_examples": 50,
            **flags,
        },
    )
    return optimize(settings)


@pytest.mark.slow
def test_the_index_says_the_tests_could_not_run_and_what_to_do(broken_tests: Path) -> None:
    index = index_tests(broken_tests, LIMITS)
    assert index.could_not_run is not None
    assert "exit code 4" in index.could_not_run and "conftest.py" in index.could_not_run
    assert "run `python -m pytest` in" in index.could_not_run


@pytest.mark.slow
def test_a_project_without_tests_is_not_held_back(make_project) -> None:
    root = make_project({"shop.py": LIB, "bench.py": BENCH})
    index = index_tests(root, LIMITS)
    assert index.problem is not None and index.could_not_run is None


@pytest.mark.slow
def test_apply_refuses_when_the_tests_could_not_run(broken_tests: Path) -> None:
    result = run(broken_tests)
    assert [t.function for t in result.improved] == [FunctionRef("shop", "ways")]
    assert not result.applied and result.applied_without_tests is None
    assert (broken_tests / "shop.py").read_text() == LIB.lstrip("\n")
    note = next(n for n in result.notes if n.startswith("nothing was applied"))
    assert "exit code 4" in note and "--apply-without-tests" in note
    document = json.loads((Path(result.run_dir) / "results.json").read_text())
    assert document["applied"] is False and document["applied_without_tests"] is None
    assert note in document["notes"]


@pytest.mark.slow
def test_apply_without_tests_writes_and_marks_the_change(broken_tests: Path) -> None:
    result = run(broken_tests, apply_without_tests=True)
    assert result.applied
    assert "functools.cache" in (broken_tests / "shop.py").read_text()
    document = json.loads((Path(result.run_dir) / "results.json").read_text())
    assert "exit code 4" in document["applied_without_tests"]
    report = (Path(result.run_dir) / "report.md").read_text()
    assert "**Applied without the project's tests**: pytest could not run" in report


@pytest.mark.slow
def test_a_run_without_apply_still_says_the_tests_could_not_judge(broken_tests: Path) -> None:
    result = run(broken_tests, apply=False)
    note = next(n for n in result.notes if "did not judge the candidates" in n)
    assert "exit code 4" in note
    document = json.loads((Path(result.run_dir) / "results.json").read_text())
    assert note in document["notes"]
