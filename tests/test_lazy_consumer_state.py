"""A generator method whose consumer changes the same object between items.

The shape is pycodestyle 2.11.1's `Checker.generate_tokens` (17% of a lint workload):
`check_all`, a method of the same `Checker`, consumes the tokens and sets attributes of
`self` between them. A lazy result's arguments are recorded when its consumer is done,
so the recorded `self` held the consumer's changes too, and replaying the original
(whose items perfloop pulls without that consumer) "did not reproduce its recorded
calls": every rewrite of the tokenizer was undecided. Now such calls are judged against
the state the original leaves when perfloop pulls the same items; a generator whose
items depend on what its consumer changed stays undecided, and says so.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LEXER = """
class Checker:
    def __init__(self, lines):
        self.lines = lines
        self.line_number = 0
        self.passes = 0
        self.tokens = []
        self.skip_rest = False

    def readline(self):
        if self.line_number >= len(self.lines):
            return ""
        line = self.lines[self.line_number]
        self.line_number += 1
        return line

    def generate_tokens(self):
        while True:
            line = self.readline()
            if not line:
                return
            for word in line.split():
                yield (self.line_number, word.upper())

    def check_all(self):
        for token in self.generate_tokens():
            self.tokens.append(token)  # the consumer changes self between items
            if token[1] == "PASS":
                self.passes += 1
        return len(self.tokens), self.passes

    def words(self):
        for line in self.lines:
            if self.skip_rest:
                return
            yield from line.split()

    def first_words(self):
        seen = []
        for word in self.words():
            seen.append(word)
            if word == "pass":
                self.skip_rest = True  # the generator reads what its consumer set
        return seen
"""

BENCH = """
from lexer import Checker

for n in range(40):
    lines = [f"def f{i}():\\n" if i % 3 else "    pass\\n" for i in range(n % 7 + 2)]
    print(Checker(lines).check_all(), Checker(lines).first_words())
"""

# the same tokens, and the same state of self when they run out
SAME_TOKENS = """
    def generate_tokens(self):
        readline = self.readline
        line = readline()
        while line:
            number = self.line_number
            for word in line.split():
                yield (number, word.upper())
            line = readline()
"""
# the same tokens, but self.line_number is left where it was
STALE_POSITION = """
    def generate_tokens(self):
        for number, line in enumerate(self.lines[self.line_number:], self.line_number + 1):
            for word in line.split():
                yield (number, word.upper())
"""
WORDS = """
    def words(self):
        for line in self.lines:
            if self.skip_rest:
                break
            yield from line.split()
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("consumer")
    (root / "lexer.py").write_text(LEXER.lstrip())
    (root / "bench.py").write_text(BENCH.lstrip())
    return root


def verify(root: Path, target: str, candidate: str) -> subprocess.CompletedProcess[str]:
    path = root / f"candidate_{abs(hash(candidate))}.py"
    path.write_text(candidate)
    return subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", f"lexer:{target}", "--candidate",
         str(path), "--workload", "python bench.py", "--root", str(root),
         "--tiers", "replay", "--mutants", "0"],
        capture_output=True, text=True, timeout=300, cwd=root,
    )  # fmt: skip


@pytest.mark.slow
def test_a_rewrite_of_a_generator_whose_consumer_changes_self_is_verified(project) -> None:
    done = verify(project, "Checker.generate_tokens", SAME_TOKENS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "verdict: EQUIVALENT" in done.stdout
    # the user is told what the arguments' state was compared with
    assert "their consumer changed the arguments between items" in done.stdout


@pytest.mark.slow
def test_a_rewrite_that_leaves_self_elsewhere_is_still_caught(project) -> None:
    done = verify(project, "Checker.generate_tokens", STALE_POSITION)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "self.line_number: expected 2, got 0" in done.stdout


@pytest.mark.slow
def test_a_generator_whose_items_depend_on_its_consumer_stays_undecided(project) -> None:
    done = verify(project, "Checker.words", WORDS)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "does not reproduce its recorded calls" in done.stdout
    assert "what its consumer changes between items" in done.stdout
