"""Functions that callers reach only through a registry, and tests whose ids hold line numbers.

The shape is pycodestyle 2.14.0, where three merged speedups (PRs 1291-1293) change
checks that `@register_check` keeps as keys of `_checks['logical_line']`; `Checker`
calls them from there and never by name. On Python 3.11 the recorder replaced only the
module's names, so `verify` said "the workload never called it". And pycodestyle's
`test_self_doctests.py` names its tests after the line of each check
(`test[pycodestyle.py:1661:python_3000_invalid_escape_sequence@0]`): a candidate that
moves lines renamed them, pytest given the old ids ran nothing, and a correct edit was
DIFFERENT: "the candidate failed where the original did not: pytest ran none of the
selected tests".
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import FunctionRef

CHECKS = '''
_checks = {"logical_line": {}, "physical_line": {}}
HANDLERS = []


def register_check(check):
    _checks["logical_line"][check] = (check.__name__.upper(), ["line"])
    return check


def handler(function):
    HANDLERS.append(("upper", function))
    return function


@register_check
def trailing_space(line):
    """Okay: a b
    W291: a b  """
    stripped = line.rstrip(" ")
    if stripped != line:
        yield len(stripped), "W291 trailing whitespace"


@handler
def shout(text):
    return text.upper()


class Checker:
    def __init__(self):
        self.checks = sorted(_checks["logical_line"], key=lambda check: check.__name__)

    def run(self, lines):
        found = []
        for number, line in enumerate(lines):
            for check in self.checks:
                for offset, text in check(line):
                    found.append((number, offset, text))
        return found
'''

TEST_DOCS = """
import inspect

import pytest

import checks


def cases():
    for check in checks._checks["logical_line"]:
        line = inspect.getsourcelines(check)[1]
        examples = [l.strip() for l in check.__doc__.splitlines() if ":" in l]
        for number, example in enumerate(examples):
            code, text = example.split(": ", 1)
            yield pytest.param(check, code, text, id=f"checks.py:{line}:{check.__name__}@{number}")


@pytest.mark.parametrize(("check", "code", "text"), cases())
def test_example(check, code, text):
    found = [message[:4] for _, message in check(text + ("  " if code != "Okay" else ""))]
    assert found == ([] if code == "Okay" else [code])
"""

BENCH = """
import checks

lines = [f"x = {i}" + " " * (i % 3) for i in range(60)]
print(len(checks.Checker().run(lines)))
print([name for name, function in checks.HANDLERS], checks.HANDLERS[0][1]("done"))
"""

# five lines longer above the check, so every test id after it moves
FASTER = '''
_SPACE = " "  # a constant the new version reads
_W291 = "W291 trailing whitespace"
_ = None
__ = None
___ = None


@register_check
def trailing_space(line):
    """Okay: a b
    W291: a b  """
    stripped = line.rstrip(_SPACE)
    if len(stripped) != len(line):
        yield len(stripped), _W291
'''
WRONG = FASTER.replace("yield len(stripped), _W291", "yield len(stripped), _W291.lower()")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("registry")
    (root / "checks.py").write_text(CHECKS.lstrip())
    (root / "tests").mkdir()
    (root / "tests" / "test_docs.py").write_text(TEST_DOCS.lstrip())
    (root / "bench.py").write_text(BENCH.lstrip())
    return root


def verify(root: Path, target: str, candidate: str, tiers: str) -> subprocess.CompletedProcess:
    path = root / f"candidate_{abs(hash(candidate))}.py"
    path.write_text(candidate)
    return subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", f"checks:{target}", "--candidate",
         str(path), "--workload", "python bench.py", "--root", str(root),
         "--tiers", tiers, "--mutants", "0"],
        capture_output=True, text=True, timeout=300, cwd=root,
    )  # fmt: skip


@pytest.mark.slow
def test_functions_called_only_through_a_registry_are_recorded(project) -> None:
    refs = [FunctionRef("checks", "trailing_space"), FunctionRef("checks", "shout")]
    captures = capture_calls("python bench.py", project, refs)
    registered, handler = (captures[ref] for ref in refs)
    assert registered.problem is None and len(registered.records) > 0
    assert handler.problem is None and len(handler.records) == 1  # kept inside a tuple


@pytest.mark.slow
def test_a_candidate_that_moves_the_test_ids_is_judged_by_the_tests(project) -> None:
    done = verify(project, "trailing_space", FASTER, "replay,tests")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: EQUIVALENT" in done.stdout
    assert "tests: same on 2 project tests" in done.stdout
    assert "ran whole: their tests' ids move" in done.stdout


@pytest.mark.slow
def test_a_wrong_candidate_that_moves_the_test_ids_fails_the_tests(project) -> None:
    done = verify(project, "trailing_space", WRONG, "tests")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "test_example[checks.py:" in done.stdout
    assert "fails with the candidate" in done.stdout
