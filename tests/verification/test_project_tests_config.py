"""The tests tier indexes a project whatever its own pytest configuration says.

Real projects put `-n auto` (pytest-xdist), `--cov` (pytest-cov), `-x` or `-p
no:cacheprovider` in their addopts and fixtures in conftest.py; none of these may
hide the tests from the index (with xdist the tests would run in other processes,
where no tracer sees them; with `-x` only the tests before the first failure).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.verification import VerifySettings, prepare_target, verify_candidate
from perfloop.verification.project_tests import TestIndex, index_tests, select_tests

LIB = """
import threading


def shipping(total):
    return 0 if total >= 50 else 5


def label(x):
    return str(x)


def in_a_thread(x):
    out = []
    worker = threading.Thread(target=lambda: out.append(label(x)))
    worker.start()
    worker.join()
    return out[0]
"""

TESTS = """
from shop import in_a_thread, shipping


def test_free_from_fifty():
    assert shipping(50) == 0


def test_small_orders_pay():
    assert shipping(49) == 5


def test_label_in_a_thread():
    assert in_a_thread(3) == "3"
"""

BROKEN_FIRST = """
def test_broken():
    assert False, "fails with the original code"
"""

LIMITS = Limits(wall_seconds=120, cpu_seconds=130, memory_mb=2048)
SHIPPING_TESTS = [
    "tests/test_shop.py::test_free_from_fifty",
    "tests/test_shop.py::test_small_orders_pay",
]


def index_of(make_project, config: dict[str, str]) -> tuple[Path, TestIndex]:
    files = {"shop.py": LIB, "tests/test_shop.py": TESTS, **config}
    root = make_project(files)
    return root, index_tests(root, LIMITS)


def selected(index: TestIndex, root: Path, name: str) -> list[str]:
    source = (root / "shop.py").read_text()
    selection = select_tests(index, root, FunctionRef("shop", name), "shop.py", source)
    return sorted(selection.node_ids)


def shipping_plan(root: Path, index: TestIndex):
    """`shop:shipping`'s target, its source and its plan (replay and the tests tier), from a
    workload that never ships exactly 50."""
    ref = FunctionRef("shop", "shipping")
    source = (root / "shop.py").read_text()
    (root / "bench.py").write_text("from shop import shipping\n\nshipping(10)\nshipping(90)\n")
    capture = capture_calls("python bench.py", root, [ref])[ref]
    plan = prepare_target(
        ref,
        "shop.py",
        source,
        capture,
        root=root,
        settings=VerifySettings(tiers=("replay", "tests")),
        limits=LIMITS,
        tests=select_tests(index, root, ref, "shop.py", source),
    )
    return ref, source, plan


@pytest.mark.parametrize(
    "addopts",
    [
        pytest.param("-n 2", id="xdist"),
        pytest.param("-n auto --dist loadfile", id="xdist-auto"),
        pytest.param("--cov=shop --cov-report=term-missing", id="pytest-cov"),
        pytest.param("-p no:cacheprovider -q", id="no-cacheprovider"),
    ],
)
@pytest.mark.slow
def test_a_project_with_these_addopts_is_still_indexed(make_project, addopts: str) -> None:
    root, index = index_of(make_project, {"pytest.ini": f"[pytest]\naddopts = {addopts}\n"})
    assert index.problem is None and index.collected == 3 and index.failing == 0
    assert selected(index, root, "shipping") == SHIPPING_TESTS
    assert selected(index, root, "label") == ["tests/test_shop.py::test_label_in_a_thread"]


# The plugins blocked by name, as in an environment without them: wcwidth 0.2.14's tox.ini
# has `addopts = ... --cov-append --cov-report=html --cov=wcwidth` and pytest stopped with
# "unrecognized arguments" where pytest-cov was not installed, so no test judged anything.
WITHOUT_PLUGINS = "-p no:pytest_cov -p no:xdist -p no:xdist.looponfail"


@pytest.mark.slow
@pytest.mark.parametrize(
    "addopts",
    [
        pytest.param("--cov-append --cov-report=html --cov=shop", id="cov"),
        pytest.param("--cov shop --cov-branch -q", id="cov-with-value-after"),
        pytest.param("--cov -q --no-cov-on-fail", id="cov-without-value"),
        pytest.param("-n 2 --dist loadfile", id="xdist"),
        pytest.param("-nauto --maxprocesses=2", id="xdist-joined"),
    ],
)
def test_addopts_of_plugins_that_are_not_installed_do_not_stop_the_index(
    make_project, addopts: str
) -> None:
    ini = f"[pytest]\naddopts = {WITHOUT_PLUGINS} {addopts}\n"
    root, index = index_of(make_project, {"pytest.ini": ini})
    assert index.problem is None and index.collected == 3 and index.failing == 0
    assert selected(index, root, "shipping") == SHIPPING_TESTS


@pytest.mark.slow
def test_xdist_from_pyproject_is_kept_in_process(make_project) -> None:
    config = {"pyproject.toml": '[tool.pytest.ini_options]\naddopts = "-n 2"\n'}
    root, index = index_of(make_project, config)
    assert index.problem is None and selected(index, root, "shipping") == SHIPPING_TESTS


@pytest.mark.slow
def test_stop_at_first_failure_in_addopts_does_not_cut_the_index_short(make_project) -> None:
    config = {"pytest.ini": "[pytest]\naddopts = -x\n", "tests/test_a_broken.py": BROKEN_FIRST}
    root, index = index_of(make_project, config)
    assert index.collected == 4 and index.failing == 1
    assert selected(index, root, "shipping") == SHIPPING_TESTS


@pytest.mark.slow
def test_a_conftest_fixture_counts_for_every_test_that_uses_it(make_project) -> None:
    conftest = """
    import pytest

    from shop import label


    @pytest.fixture(autouse=True)
    def labelled():
        return label("setup")
    """
    root, index = index_of(make_project, {"tests/conftest.py": conftest})
    assert index.problem is None
    assert len(selected(index, root, "label")) == 3
    assert selected(index, root, "shipping") == SHIPPING_TESTS


@pytest.mark.slow
def test_a_test_that_fails_with_the_original_covers_nothing(make_project) -> None:
    broken = "from shop import shipping\n\n\ndef test_wrong():\n    assert shipping(1) == 0\n"
    root, index = index_of(make_project, {"tests/test_wrong.py": broken})
    assert index.failing == 1
    assert "tests/test_wrong.py::test_wrong" not in selected(index, root, "shipping")


@pytest.mark.slow
def test_with_xdist_in_addopts_a_candidate_that_breaks_a_test_is_still_rejected(
    make_project,
) -> None:
    root, index = index_of(make_project, {"pytest.ini": "[pytest]\naddopts = -n 2\n"})
    ref, source, plan = shipping_plan(root, index)
    broken = source.replace("total >= 50", "total > 50")  # the workload never ships exactly 50
    verdict = verify_candidate(
        Candidate(ref, "test", "test", broken, "", "shop.py"), plan, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference.call == "tests/test_shop.py::test_free_from_fifty"


@pytest.mark.slow
def test_a_test_file_that_cannot_be_imported_leaves_the_others_to_judge(make_project) -> None:
    # packaging 26.2: tests/test_manylinux.py imports `pretend`; where it is not installed,
    # pytest stopped at collection and none of the 8381 other tests judged anything
    needs = "import pretend\n\n\ndef test_mocked():\n    assert pretend\n"
    root, index = index_of(make_project, {"tests/test_needs_pretend.py": needs})
    assert index.problem is None and index.collected == 3
    assert selected(index, root, "shipping") == SHIPPING_TESTS
    assert index.note is not None
    assert "tests/test_needs_pretend.py (ModuleNotFoundError: No module named 'pretend')" in (
        index.note
    )
    assert "those tests judged nothing and the others did" in index.note


@pytest.mark.slow
def test_when_no_test_file_can_be_imported_the_problem_says_why(make_project) -> None:
    broken = "import pretend\n\n\ndef test_mocked():\n    assert pretend\n"
    root = make_project({"shop.py": LIB, "tests/test_shop.py": broken})
    index = index_tests(root, LIMITS)
    assert index.could_not_run is not None
    assert index.could_not_run.startswith("pytest could not collect any test: tests/test_shop.py")
    assert "No module named 'pretend'" in index.could_not_run


# Markdown 3.7: tests/test_syntax/extensions/test_md_in_html.py holds a `TestSuite` class
# pytest cannot collect (it has an __init__), and the project's warnings filter turns that
# warning into a collection error. The index runs past it; a candidate's run gave pytest
# `-x`, which stopped at that error before any test: "pytest ran none of the selected
# tests", and every candidate of the five targets of the bed failed without being timed.
UNCOLLECTABLE_BESIDE = """
from shop import shipping


class TestSuite:
    def __init__(self):
        self.cases = []


def test_free_from_fifty():
    assert shipping(50) == 0


def test_small_orders_pay():
    assert shipping(49) == 5
"""
WARNINGS_ARE_ERRORS = '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\n'


@pytest.mark.slow
@pytest.mark.parametrize("addopts", ["", "-x"])
def test_a_class_pytest_cannot_collect_beside_the_selected_tests_does_not_stop_them(
    make_project, addopts: str
) -> None:
    config = WARNINGS_ARE_ERRORS + (f'addopts = "{addopts}"\n' if addopts else "")
    root = make_project(
        {"shop.py": LIB, "tests/test_shop.py": UNCOLLECTABLE_BESIDE, "pyproject.toml": config}
    )
    index = index_tests(root, LIMITS)
    assert index.problem is None
    assert selected(index, root, "shipping") == SHIPPING_TESTS
    ref, source, plan = shipping_plan(root, index)

    def verdict_of(candidate_source: str):
        candidate = Candidate(ref, "test", "test", candidate_source, "", "shop.py")
        return verify_candidate(candidate, plan, root=root, limits=LIMITS)

    same = verdict_of(source.replace("total >= 50", "not total < 50"))
    assert same.status is VerdictStatus.EQUIVALENT, same.reason
    tests_run = [run for run in same.runs if run.tier == "tests"]
    assert tests_run and tests_run[0].outcome == "same" and tests_run[0].inputs == 2
    broken = verdict_of(source.replace("total >= 50", "total > 50"))
    assert broken.status is VerdictStatus.DIFFERENT
    assert broken.difference.call == "tests/test_shop.py::test_free_from_fifty"
