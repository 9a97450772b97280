"""Module globals and class attributes a target reads or writes are recorded state,
restored and compared.

Before, a function that fills a module cache or bumps a module counter could not
be verified at all: replayed in a fresh worker, the original did not reproduce
its own recording ("it depends on state besides its arguments").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TargetCapture, VerdictStatus
from perfloop.verification.replay import replay, replay_candidate

LIB = """
_SEEN = {}
COUNT = 0
TABLE = []


def remember(key, value):
    if key in _SEEN:
        return _SEEN[key]
    _SEEN[key] = value * 2
    return _SEEN[key]


def bump():
    global COUNT
    COUNT += 1
    return COUNT


def record(item):
    TABLE.append(item)
    return len(TABLE)


_MISSING = object()  # a sentinel: defaults hold this very object


def lookup(table, key, default=_MISSING):
    if key in table:
        return table[key]
    if default is _MISSING:
        raise KeyError(key)
    return default


class _NoCache:
    not_in_cache = None

    def get(self, key):
        return None


class _Cache(dict):
    not_in_cache = object()

    def get(self, key):
        return dict.get(self, key, self.not_in_cache)


class Element:
    # pyparsing 3.1.4's shape: `enable_packrat()` replaces a class attribute the hot
    # method reads, and the method counts hits in another class attribute

    cache = _NoCache()
    hits = 0

    def __init__(self, name):
        self.name = name

    @classmethod
    def enable_cache(cls):
        cls.cache = _Cache()

    def parse(self, text):
        cache = Element.cache
        found = cache.get((self, text))  # keyed by the element itself, as pyparsing's
        if found is not cache.not_in_cache:
            Element.hits += 1
            return found
        result = (self.name, len(text))
        cache[(self, text)] = result
        return result


class Grammar:
    # enable_packrat() also rebinds ParserElement._parse: state the target reaches only
    # through another method, so only what the workload changed since import shows it
    def _parse_plain(self, text):
        return text.upper()

    def _parse_traced(self, text):
        return text.upper() + "?"

    _parse = _parse_plain

    def run(self, text):
        return self._parse(text) + "!"


class WorkArea:
    def __init__(self):
        self.table = [None] * 4


area = WorkArea()


class Task:
    # pyperformance's richards: tasks register in a module-level work area at creation,
    # and the target finds them there through another method
    def __init__(self, ident):
        self.ident = ident
        area.table[ident] = self

    def find(self, ident):
        found = area.table[ident]
        if found is None:
            raise Exception("Bad task id %d" % ident)
        return found

    def run(self, ident):
        return self.find(ident).ident * 10
"""

BENCH = """
import lib
from lib import bump, record, remember

# the workload changes the module state between calls too, as real callers do
for key, value in [("a", 1), ("b", 2), ("a", 5), ("b", 7), ("c", 3)]:
    remember(key, value)
    if key == "b":
        lib._SEEN.pop("a", None)
for _ in range(5):
    bump()
    lib.COUNT += 10
for item in "wxyz":
    record(item)
    if item == "x":
        lib.TABLE.clear()
lib.lookup({"a": 1}, "a")
lib.lookup({}, "b", 2)
try:
    lib.lookup({}, "c")
except KeyError:
    pass
lib.Element.enable_cache()  # the workload, not the import, sets up the class
element = lib.Element("word")
for text in ["ab", "cd", "ab", "ab"]:
    element.parse(text)
lib.Grammar._parse = lib.Grammar._parse_traced
for text in ["x", "y"]:
    lib.Grammar().run(text)
first, second = lib.Task(1), lib.Task(2)
first.run(2)
second.run(1)
"""

LIMITS = Limits(wall_seconds=30, memory_mb=1024)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, TargetCapture]]:
    root = tmp_path_factory.mktemp("state")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    names = ("remember", "bump", "record", "lookup", "Element.parse", "Grammar.run", "Task.run")
    captures = capture_calls("python bench.py", root, [FunctionRef("lib", q) for q in names])
    return root, {ref.qualname: capture for ref, capture in captures.items()}


@pytest.mark.parametrize(
    ("qualname", "calls"),
    [
        ("remember", 5),
        ("bump", 5),
        ("record", 4),
        ("lookup", 3),
        ("Element.parse", 4),
        ("Grammar.run", 2),
        ("Task.run", 2),
    ],
)
@pytest.mark.slow
def test_the_original_reproduces_calls_that_depend_on_module_state(
    project, qualname: str, calls: int
) -> None:
    root, captures = project
    verdict = replay(
        "lib", qualname, root / "lib.py", None, captures[qualname].records, root=root,
        limits=LIMITS,
    )  # fmt: skip
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == calls


def check(project, qualname: str, old: str, new: str):
    root, captures = project
    source = LIB.replace(old, new)
    assert source != LIB
    made = Candidate(FunctionRef("lib", qualname), "test", "", source, "", "lib.py")
    return replay_candidate(made, captures[qualname].records, root=root, limits=LIMITS)


def test_a_rewrite_that_stops_filling_the_module_cache_is_caught(project) -> None:
    verdict = check(
        project, "remember", "    _SEEN[key] = value * 2\n    return _SEEN[key]",
        "    return value * 2",
    )  # fmt: skip
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "module state after the call differs: global _SEEN" in verdict.difference.description


def test_a_rewrite_that_keeps_the_module_state_the_same_passes(project) -> None:
    verdict = check(project, "record", "    return len(TABLE)", "    return TABLE.__len__()")
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == 4


def test_a_rewrite_that_stops_counting_in_a_class_attribute_is_caught(project) -> None:
    verdict = check(
        project, "Element.parse", "            Element.hits += 1\n", ""
    )  # fmt: skip
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "class attribute Element.hits" in verdict.difference.description


def test_a_rewrite_of_a_method_that_reads_class_state_passes(project) -> None:
    old, new = "        cache = Element.cache\n", "        cache = type(self).cache\n"
    verdict = check(project, "Element.parse", old, new)
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == 4


@pytest.mark.slow
def test_state_the_workload_set_up_elsewhere_in_the_class_is_replayed(project) -> None:
    # the rewrite no longer goes through `_parse`, which the workload rebound to another
    # method: replayed with the class as imported, both would return "X!"
    verdict = check(
        project, "Grammar.run", "        return self._parse(text) + \"!\"",
        "        return text.upper() + \"!\"",
    )  # fmt: skip
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "expected 'X?!', got 'X!'" in verdict.difference.description
