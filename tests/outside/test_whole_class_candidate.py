"""A whole class as the candidate: spliced into the module in place of the original class,
gated on what callers reach (its public methods' signatures), and turned away with a message
that says what to give when it cannot be used."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import perfloop
from perfloop.gate import gate_candidate
from perfloop.model import Candidate, FunctionRef
from perfloop.outside.candidate import CandidateError
from perfloop.patch import SpliceError, splice_class

MODULE = textwrap.dedent(
    '''
    """Counters."""

    import math


    def helper(x):
        return x + 1


    class Counter:
        def __init__(self, start=0):
            self.total = start
            self._calls = 0

        def add(self, value):
            self._calls += 1
            self.total += value
            return self.total

        def _private(self):
            return self._calls


    TAIL = 1
    '''
).lstrip()

NEW_CLASS = """
from collections import deque

    class Counter:
        __slots__ = ("total", "_log")

        def __init__(self, start=0):
            self.total = start
            self._log = deque()

        def add(self, value):
            self._log.append(value)
            self.total += value
            return self.total
"""


def test_the_new_class_replaces_the_original_and_the_rest_stays_byte_for_byte() -> None:
    spliced = splice_class(MODULE, "Counter", textwrap.dedent(NEW_CLASS.split("\n", 2)[2]))
    assert "__slots__" in spliced and "_private" not in spliced
    assert spliced.startswith(MODULE.split("class Counter:")[0])
    assert spliced.endswith("\n\nTAIL = 1\n")


def test_imports_the_new_class_needs_are_added_after_the_modules_own() -> None:
    source = "from collections import deque\n\n" + textwrap.dedent(NEW_CLASS.split("\n", 2)[2])
    spliced = splice_class(MODULE, "Counter", source)
    assert spliced.index("import math") < spliced.index("from collections import deque")
    assert spliced.index("from collections import deque") < spliced.index("def helper")


def test_a_source_without_the_class_is_refused_by_name() -> None:
    with pytest.raises(SpliceError, match="defines no class 'Counter'"):
        splice_class(MODULE, "Counter", "def add(self, value):\n    return value\n")


def _gate(new_class: str) -> str | None:
    spliced = splice_class(MODULE, "Counter", new_class)
    candidate = Candidate(FunctionRef("counters", "Counter"), "external", "", spliced, "", "c.py")
    return gate_candidate(candidate, MODULE, set(), whole_class=True).reason


def test_the_gate_lets_private_methods_and_attributes_go() -> None:
    assert _gate(textwrap.dedent(NEW_CLASS.split("\n", 2)[2])) is None


def test_the_gate_refuses_a_class_that_drops_or_changes_a_public_method() -> None:
    dropped = "class Counter:\n    def __init__(self, start=0):\n        self.total = start\n"
    assert "has no method add, which callers reach" in (_gate(dropped) or "")
    changed = textwrap.dedent(NEW_CLASS.split("\n", 2)[2]).replace(
        "def add(self, value)", "def add(self, value, twice=False)"
    )
    assert "changes the signature of Counter.add" in (_gate(changed) or "")


def test_verify_says_what_to_give_when_the_candidate_holds_no_such_class(
    make_project,
) -> None:
    root: Path = make_project({"counters.py": MODULE, "bench.py": "import counters\n"})
    with pytest.raises(CandidateError, match="Give the whole new class `Counter`"):
        perfloop.verify(
            "counters:Counter", "def add(self, v):\n    return v\n", root=root, workload="x"
        )


PROBER = """
class Prober:
    def __init__(self, name, limit=3):
        self.name = name
        self.limit = limit
        self.reset()

    def reset(self):
        self._seen = 0
        self.state = "detecting"

    def feed(self, chunk):
        for byte in chunk:
            self._seen += 1
        if self._seen > self.limit:
            self.reset()
            self.state = "found"
        return self.state

    def confidence(self):
        return self._seen / (self.limit + 1)
"""

BENCH = """
from prober import Prober

for number in range(30):
    p = Prober(f"p{number}", limit=2 + number % 4)
    for chunk in (b"ab", b"c", b"defg", b"h"):
        p.feed(chunk)
    print(p.name, p.state, p.confidence())
"""

# slots, the count under another name, and `state` made a property: what callers read of it
# is the same, except that `reset()` no longer clears the count: `feed` past the limit,
# then `confidence()`, differs
PROPERTY_STATE = """
class Prober:
    __slots__ = ("name", "limit", "_count", "_found", "__weakref__")

    def __init__(self, name, limit=3):
        self.name = name
        self.limit = limit
        self._count = 0
        self._found = False

    @property
    def state(self):
        return "found" if self._found else "detecting"

    def reset(self):
        self._found = False

    def feed(self, chunk):
        self._count += len(chunk)
        if self._count > self.limit:
            self._found = True
        return self.state

    def confidence(self):
        return self._count / (self.limit + 1)
"""


@pytest.mark.slow
def test_the_command_lists_the_per_call_tiers_as_not_applying_and_prints_the_sequence(
    make_project, tmp_path: Path
) -> None:
    import subprocess
    import sys

    root: Path = make_project({"prober.py": PROBER, "bench.py": BENCH})
    candidate = tmp_path / "prober_class.py"
    candidate.write_text(PROPERTY_STATE)
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "prober:Prober", "--candidate",
         str(candidate), "--workload", "python bench.py", "--mutants", "0", "--root", str(root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "verdict: DIFFERENT (exit 1)" in out
    assert "replay: skipped (per-call replay of single methods does not apply" in out
    assert "fuzz: skipped (fuzzing one method's calls does not apply" in out
    assert "from prober import Prober\nobj = Prober('p0', limit=2)\n" in out.replace("    ", "")
    assert "# differs here" in out
    assert "attributes treated as private (compared only through later calls): _count" in out


@pytest.mark.slow
def test_a_class_no_chosen_tier_can_judge_is_undecided_not_equivalent(make_project) -> None:
    from perfloop.results import Decision

    root: Path = make_project({"prober.py": PROBER, "bench.py": BENCH})
    result = perfloop.verify(
        "prober:Prober",
        PROPERTY_STATE,
        root=root,
        workload="python bench.py",
        tiers=("replay", "fuzz"),
        mutants=0,
    )
    assert result.decision is Decision.UNDECIDED and result.exit_code == 3
    assert result.reason.startswith("no verification tier could judge the candidate (replay: ")


# slots, the count kept in a local while a chunk is fed: the same for every caller
SLOTS = """
class Prober:
    __slots__ = ("name", "limit", "_seen", "state")

    def __init__(self, name, limit=3):
        self.name = name
        self.limit = limit
        self._seen = 0
        self.state = "detecting"

    def reset(self):
        self._seen = 0
        self.state = "detecting"

    def feed(self, chunk):
        seen = self._seen + len(chunk)
        if seen > self.limit:
            self._seen = 0
            self.state = "found"
        else:
            self._seen = seen
        return self.state

    def confidence(self):
        return self._seen / (self.limit + 1)
"""


@pytest.mark.slow
def test_verify_gives_a_whole_class_its_strength_from_mutants_of_its_methods(
    make_project, tmp_path: Path
) -> None:
    import re
    import subprocess
    import sys

    root: Path = make_project({"prober.py": PROBER, "bench.py": BENCH})
    candidate = tmp_path / "prober_class.py"
    candidate.write_text(SLOTS)
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "prober:Prober", "--candidate",
         str(candidate), "--workload", "python bench.py", "--root", str(root)],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert "verdict: EQUIVALENT (exit 0)" in out
    found = re.search(r"verification strength (\d+)%: (\d+) of (\d+) mutants .* by (.*?);", out)
    assert found is not None, out
    score, killed, generated, killers = found.groups()
    # every method has mutants; the interaction tier tells apart all but those of the
    # default `limit=3`, which the workload always passes
    assert int(generated) >= 20 and int(score) >= 90
    assert killers == f"interaction {killed}"
    survivors = out.split("surviving: ", 1)[1].splitlines()[0].split("; ")
    assert survivors == ["__init__, line 2: `3` to `4`", "__init__, line 2: `3` to `2`"]
    assert int(killed) == int(generated) - 2
    assert "self-check does not cover" not in out
