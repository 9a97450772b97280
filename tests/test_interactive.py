"""`perfloop optimize --interactive` as a person uses it: a real command in a pseudo-terminal.

The person rejects a candidate, edits one in $EDITOR (a small real script: first a
wrong version, which comes back with its counterexample, then a right one, which is
verified and timed), accepts their edit for one function and perfloop's candidate for
the other; the files, the store and the report must say exactly that.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pexpect
import pytest
from terminal_session import decisions, listed, spawn

LIB = """
def known(skus, catalog):
    found = 0
    for sku in skus:
        if sku in catalog:
            found += 1
    return found


def ways(amount, coins):
    if amount == 0:
        return 1
    if amount < 0 or not coins:
        return 0
    return ways(amount - coins[0], coins) + ways(amount, coins[1:])
"""

BENCH = """
import random
from shop import known, ways

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(300)] for _ in range(40)]
catalog = list(range(0, 4000, 3))
print(sum(known(b, catalog) for b in baskets), sum(ways(n, (1, 2, 5, 10)) for n in range(60, 66)))
"""

# a small budget: the tiers and the A/B still run, in seconds rather than minutes
PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
functions = ["shop:known", "shop:ways"]
mutants = 0
fuzz-examples = 20
symbolic-seconds = 0
rollout = false
project-tests = false
workload-runs = 2
max-workload-runs = 2
measure-processes = 1
measure-budget = 2
"""

WRONG = """
def known(skus, catalog):
    return len(set(skus) & set(catalog))
"""
RIGHT = """
def known(skus, catalog):
    in_catalog = set(catalog)
    return sum(1 for sku in skus if sku in in_catalog)
"""

# $EDITOR: writes the next version from its list each time it is started on a file
EDITOR = """
import pathlib, sys
state = pathlib.Path(__file__).with_suffix(".count")
count = int(state.read_text()) if state.exists() else 0
state.write_text(str(count + 1))
versions = [{wrong!r}, {right!r}]
pathlib.Path(sys.argv[1]).write_text(versions[count])
"""


@pytest.fixture
def shop(make_project) -> Path:
    root = make_project({"shop.py": LIB, "bench.py": BENCH, "pyproject.toml": PYPROJECT})
    editor = root.parent / "editor.py"
    editor.write_text(EDITOR.format(wrong=WRONG.strip() + "\n", right=RIGHT.strip() + "\n"))
    return root


@pytest.mark.slow
def test_reject_edit_wrong_then_right_accept_and_apply(shop: Path) -> None:
    child = spawn(shop, "optimize", "--interactive", editor=shop.parent / "editor.py")

    child.expect_exact("Target 1 of 2: shop:known")
    shown = listed(child)
    assert "rule:set-membership" in shown, child.before
    assert "verified: replay: 40 calls" in child.before  # the evidence beside the speedup
    assert "faster by" in child.before and "-            found += 1" in child.before  # the diff
    others = [origin for origin in shown if origin != "rule:set-membership"]
    assert others, f"only one candidate for known: {shown}"
    child.sendline(f"r {shown[others[0]][0]}")
    shown = listed(child)
    assert others[0] not in shown  # a rejected candidate is not offered again

    child.sendline(f"e {shown['rule:set-membership'][0]}")  # the editor writes WRONG
    child.expect_exact("edit:rule:set-membership: DIFFERENT from the original")
    child.expect_exact("smallest counterexample")
    child.expect(r"from shop import known; known\(\[[^\n]*\]\)")
    shown = listed(child)
    (failed,) = shown["edit:rule:set-membership"]
    child.sendline(f"a {failed}")  # a failing edit cannot be accepted
    child.expect_exact("did not pass verification, so it cannot be accepted")
    child.sendline(f"e {failed}")  # the editor writes RIGHT
    child.expect_exact("edit:rule:set-membership: verified")
    shown = listed(child)
    # the verified edit is listed among the verified candidates, before the failed one
    child.sendline(f"a {min(shown['edit:rule:set-membership'])}")

    child.expect_exact("Target 2 of 2: shop:ways")
    shown = listed(child)
    child.sendline("m please use a cache")  # no LLM in this run: said so, nothing sent
    child.expect_exact("no LLM proposer is configured")
    child.sendline(f"a {shown['rule:memoize-recursive'][0]}")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before

    source = (shop / "shop.py").read_text()
    assert "in_catalog = set(catalog)" in source  # the person's edit, applied
    assert "@functools.cache" in source or "lru_cache" in source  # the accepted rule
    assert "len(set(skus) & set(catalog))" not in source

    made = decisions(shop)
    assert [(f, a) for f, a, *_ in made] == [
        ("shop:known", "rejected"),
        ("shop:known", "edited"),
        ("shop:known", "edited"),
        ("shop:known", "accepted"),
        ("shop:ways", "accepted"),
    ]
    assert made[1][4].startswith("behaved differently (replay)")
    assert made[2][4].startswith("verified, faster")
    assert made[3][2] == "edit:rule:set-membership"

    run_dir = next((shop / ".perfloop" / "runs").iterdir())
    results = json.loads((run_dir / "results.json").read_text())
    assert results["applied"] is True
    assert [d["action"] for d in results["decisions"]][-1] == "accepted"
    best = {t["function"]: t["best"]["origin"] for t in results["targets"]}
    assert best == {"shop:known": "edit:rule:set-membership", "shop:ways": "rule:memoize-recursive"}
    report = (run_dir / "report.md").read_text()
    assert "## Review decisions" in report
    assert f"shop:known: rejected {others[0]} (" in report
    assert "shop:known: accepted edit:rule:set-membership" in report

    shown_later = subprocess.run(
        [sys.executable, "-m", "perfloop", "show", results["run_id"]],
        cwd=shop,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "review decisions (optimize --interactive" in shown_later
    assert "shop:ways: accepted rule:memoize-recursive" in shown_later


def test_interactive_without_a_terminal_is_a_clear_error(shop: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "optimize", "--interactive"],
        cwd=shop,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "--interactive asks a person at a terminal" in done.stdout
    assert not (shop / ".perfloop").exists()  # refused before anything ran


@pytest.mark.slow
def test_ctrl_c_inside_a_target_then_resume_keeps_what_was_decided(shop: Path) -> None:
    child = spawn(shop, "optimize", "--interactive", "--function", "shop:known")
    child.expect_exact("Target 1 of 1: shop:known")
    shown = listed(child)
    others = [origin for origin in shown if origin != "rule:set-membership"]
    assert others, f"only one candidate for known: {shown}"
    child.sendline(f"r {shown[others[0]][0]}")
    listed(child)
    child.sendintr()  # Ctrl-C at the prompt, half-way through the target's review
    child.expect(r"perfloop resume (\S+) --root")
    run_id = child.match.group(1)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 130, child.before
    assert decisions(shop) == [("shop:known", "rejected", others[0], None, "")]

    child = spawn(shop, "resume", run_id)
    child.expect_exact("shop:known: decided before the run stopped, kept: rejected " + others[0])
    child.expect_exact("Target 1 of 1: shop:known")
    shown = listed(child)
    assert others[0] not in shown, child.before  # the rejected candidate is not offered again
    assert "rule:set-membership" in shown
    child.sendline(f"a {shown['rule:set-membership'][0]}")  # only the remaining choice
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    assert child.before.count("perfloop> ") == 0  # nothing asked after the accept

    assert "in_catalog" not in (source := (shop / "shop.py").read_text())
    assert "set(catalog)" in source  # the accepted rule, applied at the end
    assert [(f, a, o) for f, a, o, *_ in decisions(shop)] == [
        ("shop:known", "rejected", others[0]),
        ("shop:known", "accepted", "rule:set-membership"),
    ]
    results = json.loads((shop / ".perfloop" / "runs" / run_id / "results.json").read_text())
    assert results["applied"] is True
    assert [d["action"] for d in results["decisions"]] == ["rejected", "accepted"]


TALLY = """
class Tally:
    LIMIT = 200

    def __init__(self, name):
        self.name = name
        self._low = 0
        self._high = 0

    def feed(self, chunk):
        for byte in chunk:
            if byte < self.LIMIT:
                self._low += 1
            else:
                self._high += 1

    def ratio(self):
        total = self._low + self._high
        return self._low / total if total else 0.0
"""
TALLY_BENCH = """
from tally import Tally

for number in range(10):
    t = Tally(f"t{number}")
    data = bytes((i * 7 + number) % 256 for i in range(6000))
    for start in range(0, len(data), 2000):
        t.feed(data[start : start + 2000])
    print(t.name, round(t.ratio(), 6))
"""
TALLY_PYPROJECT = PYPROJECT.replace(
    'functions = ["shop:known", "shop:ways"]', 'functions = ["tally:Tally"]'
).replace('workload = "python bench.py"', 'workload = "python tally_bench.py"')
# the person's class: low and total kept instead of low and high, feed and ratio together
TALLY_RIGHT = """
class Tally:
    LIMIT = 200
    HIGH = bytes(range(200, 256))

    def __init__(self, name):
        self.name = name
        self._low = 0
        self._total = 0

    def feed(self, chunk):
        self._low += len(chunk.translate(None, self.HIGH))
        self._total += len(chunk)

    def ratio(self):
        return self._low / self._total if self._total else 0.0
"""
TALLY_WRONG = TALLY_RIGHT.replace("range(200, 256)", "range(201, 256)")  # counts 200 as low


@pytest.mark.slow
def test_a_whole_class_is_reviewed_edited_as_a_class_and_the_accepted_class_applied(
    make_project,
) -> None:
    root = make_project(
        {"tally.py": TALLY, "tally_bench.py": TALLY_BENCH, "pyproject.toml": TALLY_PYPROJECT}
    )
    editor = root.parent / "editor.py"
    editor.write_text(EDITOR.format(wrong=TALLY_WRONG.lstrip(), right=TALLY_RIGHT.lstrip()))
    child = spawn(root, "optimize", "--interactive", editor=editor)

    child.expect_exact("Target 1 of 1: tally:Tally")
    child.expect_exact("10 instance histories")
    shown = listed(child)
    origin = "class:feed/rule:scalar-replace-attributes"
    assert origin in shown, child.before
    child.sendline(f"e {shown[origin][0]}")  # the editor gets the class, writes a wrong one
    child.expect_exact(f"edit:{origin}: DIFFERENT from the original")
    child.expect_exact("obj.ratio()")  # the call sequence that tells it apart
    shown = listed(child)
    (failed,) = shown[f"edit:{origin}"]
    child.sendline(f"e {failed}")  # the editor writes the right class
    child.expect_exact(f"edit:{origin}: verified (replay: skipped")
    child.expect(r"interaction: \d+ sequences, same")
    shown = listed(child)
    child.sendline(f"a {min(shown[f'edit:{origin}'])}")
    asked_again = child.expect([pexpect.EOF, "perfloop> "])
    assert not asked_again, child.before  # e.g. refused: not measured faster
    child.close()
    assert child.exitstatus == 0, child.before

    source = (root / "tally.py").read_text()
    assert "self._total += len(chunk)" in source and "range(201" not in source
    made = decisions(root)
    assert [(f, a) for f, a, *_ in made] == [
        ("tally:Tally", "edited"),
        ("tally:Tally", "edited"),
        ("tally:Tally", "accepted"),
    ]
    assert made[0][4].startswith("behaved differently (interaction)")
    assert made[1][4].startswith("verified, faster")
    run_dir = next((root / ".perfloop" / "runs").iterdir())
    results = json.loads((run_dir / "results.json").read_text())
    (target,) = results["targets"]
    assert results["applied"] is True and target["kind"] == "class"
    assert target["best"]["origin"] == f"edit:{origin}"
