"""The tests tier on a unittest-only suite that pytest cannot collect.

The project below has the shape of Python-Markdown 3.7's suite, which made the tier drop
out on the real library: a test module turns warnings into errors when it is imported,
so pytest's collection warning about a helper class named `TestSuite` with an
`__init__` stops pytest (exit code 2), while `python -m unittest discover` runs every
test; one test uses a submodule that only another test module imports (it fails when run
alone), a class fixture sets up what the tests use, and a test module needs a package
that is not installed.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.config import ConfigError, load_settings
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.verification import VerifySettings, prepare_target, verify_candidate
from perfloop.verification.project_tests import index_tests, select_tests

PRICING = """\
def shipping(total):
    return 0 if total >= 50 else 5
"""

FILES = {
    "shop/__init__.py": "",
    "shop/pricing.py": PRICING,
    "shop/extras.py": "FREE_FROM = 50\n",
    "bench.py": """
        from shop.pricing import shipping

        for total in (10, 20, 75, 120):
            shipping(total)
        """,
    "tests/__init__.py": "",
    "tests/test_a_legacy.py": """
        import unittest
        import warnings

        import shop.extras

        warnings.simplefilter("error")  # as Python-Markdown's tests/test_legacy.py does


        class TestLegacy(unittest.TestCase):
            def test_extras_load(self):
                self.assertEqual(shop.extras.FREE_FROM, 50)
        """,
    "tests/test_b_helpers.py": """
        class TestSuite:  # pytest warns that it cannot collect it; the warning is an error
            def __init__(self, cases):
                self.cases = cases
        """,
    "tests/test_d_optional.py": """
        import unittest

        import an_optional_dependency_that_is_not_installed


        class TestOptional(unittest.TestCase):
            def test_it(self):
                pass
        """,
    "tests/test_c_shipping.py": """
        import unittest

        import shop
        from shop.pricing import shipping


        class TestShipping(unittest.TestCase):
            @classmethod
            def setUpClass(cls):
                cls.free_from = shop.extras.FREE_FROM  # imported only by test_a_legacy

            def test_free_from_the_threshold(self):
                self.assertEqual(shipping(self.free_from), 0)

            def test_small_orders_pay(self):
                for total in (1, 20, 49):
                    with self.subTest(total=total):
                        self.assertEqual(shipping(total), 5)

            @unittest.skip("judges nothing")
            def test_skipped(self):
                shipping(0)
        """,
}

LIMITS = Limits(wall_seconds=60, cpu_seconds=70, memory_mb=2048)
TESTS_ONLY = VerifySettings(tiers=("replay", "tests"))
SHIPPING = FunctionRef("shop.pricing", "shipping")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("unittest_only")
    for relative, text in FILES.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    return root


def plan_for(root: Path):
    capture = capture_calls("python bench.py", root, [SHIPPING])[SHIPPING]
    tests = select_tests(index_tests(root, LIMITS), root, SHIPPING, "shop/pricing.py", PRICING)
    return prepare_target(
        SHIPPING,
        "shop/pricing.py",
        PRICING,
        capture,
        root=root,
        settings=TESTS_ONLY,
        limits=LIMITS,
        tests=tests,
    )


def verify(root: Path, source: str):
    candidate = Candidate(SHIPPING, "test", "test", source, "", "shop/pricing.py")
    return verify_candidate(candidate, plan_for(root), root=root, limits=LIMITS)


@pytest.mark.slow
def test_the_fixture_is_what_it_claims(project: Path) -> None:
    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(command, cwd=project, capture_output=True, text=True, timeout=120)

    assert run(sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider").returncode == 2
    everything = run(sys.executable, "-m", "unittest", "discover")
    assert (
        "Ran 5 tests" in everything.stderr and "FAILED (errors=1, skipped=1)" in everything.stderr
    )
    alone = run(
        sys.executable, "-m", "unittest", "tests.test_c_shipping.TestShipping.test_small_orders_pay"
    )
    assert alone.returncode == 1 and "has no attribute 'extras'" in alone.stderr


@pytest.mark.slow
def test_a_suite_pytest_cannot_collect_is_indexed_with_unittest_and_the_run_says_so(
    project: Path,
) -> None:
    index = index_tests(project, LIMITS)
    assert index.problem is None and index.runner == "unittest"
    assert index.collected == 5 and index.failing == 1  # the module that cannot import
    # pytest, continuing past its collection errors, collects 4 tests; unittest runs 5
    assert "ran with unittest" in (index.note or "")
    assert "with pytest, only 4 tests could be collected (2 test files or classes" in (
        index.note or ""
    )
    assert "(5 tests, 1 of which fail with the original code" in (index.note or "")
    selection = select_tests(index, project, SHIPPING, "shop/pricing.py", PRICING)
    assert sorted(selection.node_ids) == [
        "tests.test_c_shipping.TestShipping.test_free_from_the_threshold",
        "tests.test_c_shipping.TestShipping.test_small_orders_pay",
    ]  # the skipped test executes nothing and judged nothing


@pytest.mark.slow
def test_a_candidate_that_breaks_a_unittest_test_is_rejected_and_the_test_is_named(
    project: Path,
) -> None:
    verdict = verify(project, PRICING.replace("total >= 50", "total > 50"))
    assert verdict.status is VerdictStatus.DIFFERENT
    assert [(r.tier, r.outcome) for r in verdict.runs] == [
        ("replay", "same"),
        ("tests", "different"),
    ]
    assert verdict.difference.call == (
        "tests.test_c_shipping.TestShipping.test_free_from_the_threshold"
    )
    assert "AssertionError: 5 != 0" in verdict.difference.description


@pytest.mark.slow
def test_a_failing_subtest_fails_its_test(project: Path) -> None:
    verdict = verify(project, PRICING.replace("else 5", "else (0 if total == 1 else 5)"))
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference.call == "tests.test_c_shipping.TestShipping.test_small_orders_pay"
    assert "total=1" in verdict.difference.description


@pytest.mark.slow
def test_a_candidate_that_keeps_the_tests_green_passes_with_the_order_dependent_tests(
    project: Path,
) -> None:
    verdict = verify(
        project, PRICING.replace("return 0 if total >= 50 else 5", "return 5 if total < 50 else 0")
    )
    assert verdict.status is VerdictStatus.EQUIVALENT
    tests = next(r for r in verdict.runs if r.tier == "tests")
    assert (tests.outcome, tests.inputs) == ("same", 2)  # not "fails with the original too"


@pytest.mark.slow
def test_the_runner_setting_is_honoured_and_checked(project: Path) -> None:
    by_pytest = index_tests(project, LIMITS, "pytest")  # past its collection errors
    assert by_pytest.runner == "pytest" and by_pytest.problem is None
    assert (by_pytest.collected, by_pytest.uncollected) == (4, 2)
    assert "pytest could not collect tests/test_b_helpers.py::TestSuite" in (by_pytest.note or "")
    assert index_tests(project, LIMITS, "unittest").collected == 5
    assert load_settings(project, {"tests_runner": "unittest"}).tests_runner == "unittest"
    with pytest.raises(ConfigError, match="tests-runner must be 'auto' or 'pytest' or 'unittest'"):
        load_settings(project, {"tests_runner": "nose"})


@pytest.mark.slow
def test_perfloop_verify_says_the_tests_ran_with_unittest(project: Path) -> None:
    import perfloop

    faster = PRICING.replace("return 0 if total >= 50 else 5", "return 5 if total < 50 else 0")
    result = perfloop.verify(
        "shop.pricing:shipping",
        faster,
        workload="python bench.py",
        root=project,
        tiers=("replay", "tests"),
        mutants=0,
    )
    assert result.decision.value == "equivalent"
    tests = next(r for r in result.verdict.runs if r.tier == "tests")
    assert (tests.outcome, tests.inputs) == ("same", 2)
    assert any("ran with unittest" in note for note in result.notes)


def test_the_counterexample_of_a_failing_test_is_the_command_of_its_runner(tmp_path: Path) -> None:
    """A unittest id was printed as `python -m pytest tests.test_c...`, which pytest cannot run."""
    from perfloop.model import Difference, FunctionRef, RunId, Verdict
    from perfloop.outside.counterexample import counterexample_for

    def command(test_id: str) -> str:
        difference = Difference(0, test_id, "fails with the candidate", "tests")
        verdict = Verdict(VerdictStatus.DIFFERENT, ("tests",), 0, 1.0, difference)
        example = counterexample_for(
            verdict, (), FunctionRef("shop", "total"), tmp_path / "shop.py", "",
            root=tmp_path, run_id=RunId("r"),
        )  # fmt: skip
        assert example is not None
        return example.code

    unittest_id = "tests.test_c_shipping.TestShipping.test_small_orders_pay"
    assert command(unittest_id) == f"python -m unittest {unittest_id}"
    pytest_id = "tests/test_shop.py::test_free_from_fifty"
    assert command(pytest_id) == f"python -m pytest {pytest_id}"


# idna 3.10's tests/test_idna_uts46.py: one TestCase per line of a conformance table,
# built in `load_tests`. pytest does not call load_tests: it collected the class as one
# test whose runTest returns at once (no fields), so the 6,225 vectors judged nothing
# and uts46_remap was "verified" by that empty test
VECTORS = {
    "lab/__init__.py": "",
    "lab/remap.py": PRICING.replace("shipping", "remap"),
    "tests/__init__.py": "",
    "tests/test_vectors.py": """
        import unittest

        from lab.remap import remap

        TABLE = [(10, 5), (49, 5), (50, 0), (75, 0)]


        class TestVector(unittest.TestCase):
            def __init__(self, lineno=None, row=None):
                super().__init__()
                self.lineno, self.row = lineno, row

            def id(self):
                return "{}.{}".format(super().id(), self.lineno)

            def runTest(self):
                if not self.row:
                    return
                total, expected = self.row
                self.assertEqual(remap(total), expected)


        def load_tests(loader, tests, pattern):
            suite = unittest.TestSuite()
            suite.addTests(TestVector(n, row) for n, row in enumerate(TABLE, 1))
            return suite
        """,
}


@pytest.mark.slow  # two runs of the suite in workers, a few seconds
def test_a_suite_built_in_load_tests_is_indexed_with_unittest_and_the_run_says_so(
    tmp_path: Path,
) -> None:
    for relative, text in VECTORS.items():
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
    index = index_tests(tmp_path, LIMITS)
    assert index.problem is None and index.runner == "unittest", index
    assert index.collected == 4
    assert "tests/test_vectors.py builds its tests in load_tests" in (index.note or "")
    remap = FunctionRef("lab.remap", "remap")
    selection = select_tests(index, tmp_path, remap, "lab/remap.py", VECTORS["lab/remap.py"])
    assert len(selection.node_ids) == 4 and selection.runner == "unittest"
