"""The interaction tier drives one object through sequences of calls, original against
candidate: it catches state a candidate keeps wrong across calls, which per-call replay
(each call from the instance as the workload had it) cannot see."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import perfloop
from perfloop.results import Decision

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

# keeps the running count beside the instance, and misses that feed's own reset() clears it:
# right on every call that starts from a fresh copy of the instance, wrong on the next chunk
STALE_COUNT = """
import weakref

_counts = weakref.WeakKeyDictionary()


class Prober:
    def __init__(self, name, limit=3):
        self.name = name
        self.limit = limit
        self.reset()

    def reset(self):
        self._seen = 0
        self.state = "detecting"

    def feed(self, chunk):
        seen = _counts.get(self, self._seen) + len(chunk)
        _counts[self] = seen
        self._seen = seen
        if self._seen > self.limit:
            self.reset()
            self.state = "found"
        return self.state

    def confidence(self):
        return self._seen / (self.limit + 1)
"""

# the same behaviour, the count in a local
RIGHT = PROBER.replace(
    """        for byte in chunk:
            self._seen += 1
""",
    """        self._seen += len(chunk)
""",
)

PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
max-calls = 40
"""
QUICK = {"mutants": 0, "symbolic_seconds": 0, "project_tests": False, "rollout": False}


@pytest.fixture
def project(make_project) -> Path:
    return make_project({"prober.py": PROBER, "bench.py": BENCH, "pyproject.toml": PYPROJECT})


@pytest.mark.slow
def test_state_kept_wrong_across_calls_is_caught_by_sequences_not_by_replay(
    project: Path,
) -> None:
    replay_only = perfloop.verify(
        "prober:Prober.feed", STALE_COUNT, root=project, tiers=("replay",), **QUICK
    )
    assert replay_only.decision is Decision.EQUIVALENT  # every recorded call alone is right

    result = perfloop.verify(
        "prober:Prober.feed", STALE_COUNT, root=project, fuzz_examples=0, **QUICK
    )
    assert result.decision is Decision.DIFFERENT, result.reason
    assert result.verdict is not None
    assert [(run.tier, run.outcome) for run in result.verdict.runs] == [
        ("replay", "same"),
        ("interaction", "different"),
    ]
    example = result.counterexample
    assert example is not None and example.tier == "interaction" and example.exact
    lines = example.code.splitlines()
    assert lines[0] == "from prober import Prober"
    assert lines[1] == "obj = Prober('p0', limit=2)"
    assert lines[-1].endswith("  # differs here")
    assert lines[2:] == [
        "obj.feed(b'ab')",
        "obj.feed(b'c')",
        "obj.feed(b'defg')",
        "obj.feed(b'h')",
        "obj.confidence()  # differs here",
    ]
    assert example.description == (
        "recorded history 1 (instance #1 the workload made), call 5: "
        "result: expected 0.3333333333333333, got 0.0 (values differ)"
    )


@pytest.mark.slow
def test_the_pasted_program_shows_the_difference(project: Path, tmp_path: Path) -> None:
    result = perfloop.verify(
        "prober:Prober.feed", STALE_COUNT, root=project, fuzz_examples=0, **QUICK
    )
    example = result.counterexample
    assert example is not None
    program = example.code.replace("obj.confidence()", "print(obj.confidence())")
    candidate = tmp_path / "candidate"
    candidate.mkdir()
    (candidate / "prober.py").write_text(STALE_COUNT)
    printed = [
        subprocess.run(
            [sys.executable, "-c", program],
            cwd=folder,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for folder in (project, candidate)
    ]
    assert printed == ["0.3333333333333333\n", "0.0\n"]


ONCE = """
from prober import Prober

for number in range(30):
    p = Prober(f"p{number}", limit=2 + number % 4)
    p.feed(b"abc"[: 1 + number % 3])
    print(p.name, p.state, p.confidence())
"""


@pytest.mark.slow
def test_generated_sequences_find_what_no_recorded_one_shows_and_shrink_it(
    make_project,
) -> None:
    root = make_project({"prober.py": PROBER, "bench.py": ONCE, "pyproject.toml": PYPROJECT})
    recorded_only = perfloop.verify(
        "prober:Prober.feed", STALE_COUNT, root=root, fuzz_examples=0, **QUICK
    )
    assert recorded_only.decision is Decision.EQUIVALENT  # each prober got one chunk

    result = perfloop.verify(
        "prober:Prober.feed",
        STALE_COUNT,
        root=root,
        tiers=("interaction",),
        fuzz_examples=200,
        **QUICK,
    )
    assert result.decision is Decision.DIFFERENT, result.reason
    example = result.counterexample
    assert example is not None
    assert example.description.startswith("a generated sequence, call ")
    calls = example.code.splitlines()[2:]
    assert calls[-1] == "obj.confidence()  # differs here"
    assert len(calls) <= 4  # shrunk: feed past the limit, feed again, ask


@pytest.mark.slow
def test_a_right_rewrite_passes_and_names_the_private_attributes(project: Path) -> None:
    result = perfloop.verify("prober:Prober.feed", RIGHT, root=project, **QUICK)
    assert result.decision is Decision.EQUIVALENT, result.reason
    assert result.verdict is not None
    run = next(run for run in result.verdict.runs if run.tier == "interaction")
    assert run.outcome == "same" and run.inputs > 30  # 20 recorded, the rest generated
    assert "attributes treated as private (compared only through later calls): _seen" in (
        run.note or ""
    )


@pytest.mark.slow
def test_a_plain_function_target_has_no_interaction_tier(make_project) -> None:
    root = make_project(
        {
            "units.py": "def scale(n):\n    return n * 2\n",
            "bench.py": BENCH_SCALE,
            "pyproject.toml": PYPROJECT,
        }
    )
    result = perfloop.verify("units:scale", "def scale(n):\n    return n + n\n", root=root, **QUICK)
    assert result.verdict is not None
    assert "interaction" not in [run.tier for run in result.verdict.runs]


BENCH_SCALE = "from units import scale\nprint(sum(scale(i) for i in range(100)))\n"


SLOW = """
import time


class Prober:
    def __init__(self, name, limit=3):
        self.name = name
        self.limit = limit
        self.reset()

    def reset(self):
        self._seen = 0
        self.state = "detecting"

    def feed(self, chunk):
        time.sleep(0.05)
        self._seen += len(chunk)
        return self.state

    def confidence(self):
        return self._seen / (self.limit + 1)
"""


@pytest.mark.slow
def test_histories_stop_at_their_time_and_say_how_many_were_left(make_project) -> None:
    from perfloop.capture import capture_calls
    from perfloop.model import FunctionRef, Limits
    from perfloop.verification.fuzz import FuzzSettings
    from perfloop.verification.interaction import InteractionTask, run_interactions
    from perfloop.verification.shapes import source_constants

    root = make_project({"prober.py": SLOW, "bench.py": BENCH})
    ref = FunctionRef("prober", "Prober.feed")
    capture = capture_calls("python bench.py", root, [ref])[ref]
    assert len(capture.histories) == 20
    task = InteractionTask(
        "prober",
        "Prober.feed",
        str(root / "prober.py"),
        SLOW,
        SLOW.replace("self._seen += len(chunk)", "self._seen = self._seen + len(chunk)"),
        capture.histories,
        source_constants(SLOW, "Prober.feed"),
        FuzzSettings(0, 1.0),
        perfloop.verification.DEFAULT_POLICY,
        history_seconds=1.0,  # each history takes 4 x 3 x 0.05 s
    )
    result = run_interactions(task, root=root, limits=Limits(wall_seconds=60))
    assert result.outcome == "same"
    assert 0 < result.histories < 20
    assert result.note == (
        f"{20 - result.histories} recorded histories not replayed: their 1 s were up"
    )


# cachetools 6.2's LFUCache against 6.0's, in small: the rewrite evicts another key among
# keys used equally often. The workload's caches never look up an evicted key within the
# recorded calls, so every step answers the same; only the keys the cache holds differ.
LFU = """
class Cache:
    def __init__(self, maxsize):
        self._data = {}
        self._uses = {}
        self.maxsize = maxsize

    def __contains__(self, key):
        return key in self._data

    def __getitem__(self, key):
        self._uses[key] += 1
        return self._data[key]

    def __setitem__(self, key, value):
        if key not in self._data and len(self._data) >= self.maxsize:
            self.popitem()
        self._data[key] = value
        self._uses[key] = self._uses.get(key, 0) + 1

    def popitem(self):
        fewest = min(self._uses.values())
        key = next(k for k, n in self._uses.items() if n == fewest)  # the oldest of them
        del self._uses[key]
        return key, self._data.pop(key)

    def __len__(self):
        return len(self._data)

    def __iter__(self):
        return iter(self._data)
"""

LFU_NEWEST_FIRST = LFU.replace(
    "key = next(k for k, n in self._uses.items() if n == fewest)  # the oldest of them",
    "key = [k for k, n in self._uses.items() if n == fewest][-1]  # the newest of them",
)

LFU_BENCH = """
from lfu import Cache

for size in (4, 8):
    cache = Cache(size)
    for i in range(30):
        key = (i * 7) % 101  # no key comes back: every lookup misses, on both sides
        if key in cache:
            cache[key]
        else:
            cache[key] = i
    print(size, len(cache))
"""


@pytest.mark.slow
def test_a_class_whose_contents_differ_at_the_end_is_caught_by_asking_for_them(
    make_project,
) -> None:
    root = make_project({"lfu.py": LFU, "bench.py": LFU_BENCH, "pyproject.toml": PYPROJECT})
    result = perfloop.verify(
        "lfu:Cache",
        LFU_NEWEST_FIRST,
        root=root,
        tiers=("interaction",),
        fuzz_examples=0,
        **QUICK,
    )
    assert result.decision is Decision.DIFFERENT, result.reason
    example = result.counterexample
    assert example is not None and example.tier == "interaction"
    assert "the end (after call " in example.description
    assert "asked for its length and items after the last call: list(obj)" in (
        example.description
    ), example.description
    assert example.code.splitlines()[-1] == (
        "len(obj), list(obj)  # differs here: the length or the items"
    )

    same = perfloop.verify(
        "lfu:Cache", LFU, root=root, tiers=("interaction",), run=result.run_id, **QUICK
    )
    assert same.decision is Decision.EQUIVALENT, same.reason


# parse 1.19.0's shape: `findall` returns an iterator object of the project's own that calls
# back into the matcher for each item (`Parser.findall` -> `ResultIterator` ->
# `Parser.evaluate_result`); the matcher keeps a function made at run time, which plain
# pickle refuses, so its answers are compared item by item (as parse's were), not found
# alike by their pickled bytes
MATCHER = """
import re


class Found:
    def __init__(self, text, start):
        self.text = text
        self.start = start


class Results:
    def __init__(self, matcher, string):
        self.matcher = matcher
        self.string = string
        self.pos = 0

    def __iter__(self):
        return self

    def __next__(self):
        m = self.matcher.regex.search(self.string, self.pos)
        if m is None:
            raise StopIteration
        self.pos = m.end()
        return self.matcher.evaluate(m)


def shout(text):
    return text.upper()


class Matcher:
    def __init__(self, pattern):
        self.regex = re.compile(pattern)
        self.convert = lambda text: shout(text)

    def findall(self, string):
        return Results(self, string)

    def evaluate(self, m):
        return Found(self.convert(m.group(0)), m.start())
"""

MATCHER_BENCH = """
from matcher import Matcher

for number in range(20):
    matcher = Matcher("[a-z]+" if number % 2 else "[0-9]+")
    for line in (f"ab {number} cd", f"{number}x{number} yz", "no 1 2 3"):
        print([(found.text, found.start) for found in matcher.findall(line)])
"""

EVALUATE_IN_A_LOCAL = """
def evaluate(self, m):
    text = m.group(0)
    return Found(self.convert(text), m.start())
"""

EVALUATE_LOWER = """
def evaluate(self, m):
    return Found(m.group(0).lower(), m.start())
"""


# changes the helper it calls as well, so the candidate is a copy of the module with classes
# of its own (as a file's merged changes are): its items must still read as the original's
EVALUATE_WITH_ITS_HELPER = """
def shout(text):
    return str.upper(text)


def evaluate(self, m):
    return Found(shout(m.group(0)), m.start())
"""


@pytest.mark.slow
def test_an_iterator_object_a_step_returns_is_compared_item_by_item_on_both_sides(
    make_project,
) -> None:
    """The original's answer to a step is compared twice (with its second run, then with the
    candidate's): an iterator compared by pulling it was empty the second time, and a right
    rewrite read "expected 0 items, got 3 items"."""
    root = make_project(
        {"matcher.py": MATCHER, "bench.py": MATCHER_BENCH, "pyproject.toml": PYPROJECT}
    )
    same = perfloop.verify(
        "matcher:Matcher.evaluate",
        EVALUATE_IN_A_LOCAL,
        root=root,
        tiers=("replay", "interaction"),
        **QUICK,
    )
    assert same.decision is Decision.EQUIVALENT, same.reason
    assert same.verdict is not None
    assert [(run.tier, run.outcome) for run in same.verdict.runs] == [
        ("replay", "same"),
        ("interaction", "same"),
    ]

    def sequences_only(source: str) -> perfloop.VerifyResult:
        return perfloop.verify(
            "matcher:Matcher.evaluate",
            source,
            root=root,
            tiers=("interaction",),
            run=same.run_id,
            **QUICK,
        )

    # the items are made with each side's code in place, so a wrong one still shows
    wrong = sequences_only(EVALUATE_LOWER)
    assert wrong.decision is Decision.DIFFERENT, wrong.reason
    copied = sequences_only(EVALUATE_WITH_ITS_HELPER)  # a module copy of its own
    assert copied.decision is Decision.EQUIVALENT, copied.reason


# an instance that is itself an iterator (a lexer with `__next__`, as PLY's is): the tier
# drives the instance it constructed, so constructing it must not pull its items
LEXER = """
class Lexer:
    def __init__(self, text):
        self.words = text.split()
        self.pos = 0

    def __iter__(self):
        return self

    def __next__(self):
        if self.pos >= len(self.words):
            raise StopIteration
        self.pos += 1
        return self.words[self.pos - 1]

    def peek(self, ahead=0):
        where = self.pos + ahead
        return self.words[where] if where < len(self.words) else None
"""

LEXER_BENCH = """
from lexer import Lexer

for number in range(20):
    lexer = Lexer(" ".join(f"w{i}" for i in range(number % 7 + 2)))
    print(lexer.peek(), next(lexer), lexer.peek(1), list(lexer))
"""

PEEK_IN_A_LOCAL = """
def peek(self, ahead=0):
    words = self.words
    where = self.pos + ahead
    return words[where] if where < len(words) else None
"""


# remembers each lexer's first answer beside it: right on every recorded call alone (each
# from a fresh copy of the lexer), stale once `next()` has moved it
PEEK_REMEMBERED = """
import weakref

_first = weakref.WeakKeyDictionary()


def peek(self, ahead=0):
    if self not in _first:
        where = self.pos + ahead
        _first[self] = self.words[where] if where < len(self.words) else None
    return _first[self]
"""


@pytest.mark.slow
def test_an_instance_that_is_an_iterator_is_driven_not_pulled(make_project) -> None:
    root = make_project({"lexer.py": LEXER, "bench.py": LEXER_BENCH, "pyproject.toml": PYPROJECT})
    result = perfloop.verify(
        "lexer:Lexer.peek", PEEK_IN_A_LOCAL, root=root, tiers=("replay", "interaction"), **QUICK
    )
    assert result.decision is Decision.EQUIVALENT, result.reason
    runs = {run.tier: run for run in result.verdict.runs}  # type: ignore[union-attr]
    assert runs["interaction"].outcome == "same" and runs["interaction"].inputs >= 10

    stale = perfloop.verify(
        "lexer:Lexer.peek",
        PEEK_REMEMBERED,
        root=root,
        tiers=("replay", "interaction"),
        run=result.run_id,
        **QUICK,
    )
    assert stale.decision is Decision.DIFFERENT, stale.reason
    assert [(run.tier, run.outcome) for run in stale.verdict.runs] == [  # type: ignore[union-attr]
        ("replay", "same"),
        ("interaction", "different"),
    ]
