"""Generators and lazy results are recorded and compared by what their consumer saw.

The shape comes from more-itertools 10.1.0: a released speedup of one of its
generator functions was "undecided: its return value cannot be pickled", and
profile.py refused generator functions outright.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TargetCapture, VerdictStatus
from perfloop.verification.replay import replay, replay_candidate

LIB = '''
from collections import deque
from itertools import islice


def windowed(seq, n):
    """more_itertools.windowed, simplified: sliding windows as tuples."""
    window = deque(maxlen=n)
    for item in seq:
        window.append(item)
        if len(window) == n:
            yield tuple(window)


def counted(items):
    total = 0
    for item in items:
        total += 1
        yield item * 2
    return total


def evens(items):
    return filter(lambda x: x % 2 == 0, items)


def drain(stack):
    while stack:
        print("pop")
        yield stack.pop()


def positives(items):
    for item in items:
        if item < 0:
            raise ValueError(item)
        yield item
'''

BENCH = """
from itertools import islice
from lib import counted, drain, evens, positives, windowed


def total_of(items):
    total = yield from counted(items)
    return total


for size in range(3, 9):
    list(windowed(range(size), 3))
    next(windowed(range(size * 10), 2))  # partial: one window of many
outer = total_of([1, 2, 3])
try:
    while True:
        next(outer)
except StopIteration as stop:
    assert stop.value == 3
list(evens(range(10)))
stack = [1, 2, 3, 4, 5]
assert list(islice(drain(stack), 2)) == [5, 4]
try:
    list(positives([1, -1, 2]))
except ValueError:
    pass
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, TargetCapture]]:
    root = tmp_path_factory.mktemp("lazy")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    names = ("windowed", "counted", "evens", "drain", "positives")
    captures = capture_calls("python bench.py", root, [FunctionRef("lib", q) for q in names])
    return root, {ref.qualname: capture for ref, capture in captures.items()}


LIMITS = Limits(wall_seconds=30, memory_mb=1024)


def candidate(project, qualname: str, old: str, new: str):
    root, captures = project
    source = LIB.replace(old, new)
    assert source != LIB
    made = Candidate(FunctionRef("lib", qualname), "test", "", source, "", "lib.py")
    return replay_candidate(made, captures[qualname].records, root=root, limits=LIMITS)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("qualname", "calls"),
    [("windowed", 12), ("counted", 1), ("evens", 1), ("drain", 1), ("positives", 1)],
)
def test_lazy_results_are_recorded_and_the_original_replays_itself(
    project, qualname: str, calls: int
) -> None:
    root, captures = project
    capture = captures[qualname]
    assert capture.problem is None
    assert len(capture.records) == calls
    verdict = replay(
        "lib", qualname, root / "lib.py", None, capture.records, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason or verdict.difference
    assert verdict.calls_checked == calls


def test_what_a_generator_prints_while_consumed_is_recorded(project) -> None:
    assert project[1]["drain"].records[0].stdout == "pop\npop\n"


@pytest.mark.slow
def test_a_rewrite_that_yields_an_extra_item_is_caught(project) -> None:
    verdict = candidate(
        project, "windowed", "            yield tuple(window)\n",
        "            yield tuple(window)\n    yield ()\n",
    )  # fmt: skip
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "result.items" in verdict.difference.description


@pytest.mark.slow
def test_a_rewrite_that_returns_another_value_at_the_end_is_caught(project) -> None:
    verdict = candidate(project, "counted", "    return total", "    return total + 1")
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "result.value" in verdict.difference.description


@pytest.mark.slow
def test_partial_consumption_compares_the_arguments_where_the_consumer_stopped(project) -> None:
    eager = "    items = stack[::-1]\n    stack.clear()\n    for item in items:\n"
    eager += '        print("pop")\n        yield item\n'
    body = '    while stack:\n        print("pop")\n        yield stack.pop()\n'
    verdict = candidate(project, "drain", body, eager)
    assert verdict.status is VerdictStatus.DIFFERENT
    # the same two items; but the original had popped only 5 and 4 when the workload stopped
    assert "argument state after the call differs" in verdict.difference.description
    assert "[1, 2, 3]" in verdict.difference.description


@pytest.mark.slow
def test_a_faster_generator_that_yields_the_same_passes(project) -> None:
    verdict = candidate(
        project,
        "windowed",
        "    window = deque(maxlen=n)\n    for item in seq:\n        window.append(item)\n",
        "    window = deque(maxlen=n)\n    append = window.append\n    for item in seq:\n"
        "        append(item)\n",
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.difference
    assert verdict.calls_checked == 12


SENTINEL_PROJECT = {
    "sqlish/__init__.py": "",
    "sqlish/keywords.py": r"""
        PROCESS_AS_KEYWORD = object()

        SQL_REGEX = [
            (r"\s+", "Whitespace"),
            (r"[a-z_]\w*(?=\.)", "Name"),
            (r"[a-z_]\w*", PROCESS_AS_KEYWORD),
            (r"\d+", "Number"),
            (r"[.,;*()=]", "Punctuation"),
        ]
        KEYWORDS = {"SELECT": "Keyword.DML", "FROM": "Keyword", "WHERE": "Keyword"}
        """,
    "sqlish/lexer.py": """
        import re

        from sqlish import keywords


        class Lexer:
            _default_instance = None

            @classmethod
            def get_default_instance(cls):
                if cls._default_instance is None:
                    cls._default_instance = cls()
                    cls._default_instance._SQL_REGEX = [
                        (re.compile(rx, re.IGNORECASE).match, tt) for rx, tt in keywords.SQL_REGEX
                    ]
                return cls._default_instance

            def is_keyword(self, value):
                return keywords.KEYWORDS.get(value.upper(), "Name"), value

            def get_tokens(self, text):
                pos = 0
                while pos < len(text):
                    for rexmatch, action in self._SQL_REGEX:
                        m = rexmatch(text, pos)
                        if not m:
                            continue
                        elif isinstance(action, str):
                            yield action, m.group()
                        elif action is keywords.PROCESS_AS_KEYWORD:
                            yield self.is_keyword(m.group())
                        pos = m.end()
                        break
                    else:
                        yield "Error", text[pos]
                        pos += 1


        def tokenize(sql):
            return Lexer.get_default_instance().get_tokens(sql)
        """,
    "bench.py": """
        from sqlish.lexer import tokenize

        for i in range(5):
            tokens = list(tokenize(f"select a.id, b.name from t{i} where a.x = {i};"))
            assert tokens[0] == ("Keyword.DML", "select"), tokens[0]
        """,
}


@pytest.mark.slow
def test_a_generator_that_tests_a_module_sentinel_with_is_replays_itself(make_project) -> None:
    """sqlparse 0.5.1's `Lexer.get_tokens` (14% of a workload) tests each regex's action
    with `action is keywords.PROCESS_AS_KEYWORD`, a module's `object()` held in the
    lexer's own table. The recorded `self` held a copy of it, so the replayed original
    yielded no keyword and perfloop called the target unverifiable ("replaying the
    original does not reproduce its recorded calls (result.items: ...")."""
    root = make_project(SENTINEL_PROJECT)
    ref = FunctionRef("sqlish.lexer", "Lexer.get_tokens")
    capture = capture_calls("python bench.py", root, [ref])[ref]
    assert capture.problem is None
    assert len(capture.records) == 5
    verdict = replay(
        ref.module,
        ref.qualname,
        root / "sqlish" / "lexer.py",
        None,
        capture.records,
        root=root,
        limits=LIMITS,
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason or verdict.difference
    assert verdict.calls_checked == 5


METACLASS_PROJECT = {
    "lexish/__init__.py": "",
    "lexish/lexer.py": """
        import re


        class RegexLexerMeta(type):
            def __call__(cls, *args, **kwds):
                if "_tokens" not in cls.__dict__:  # on the first instantiation only
                    cls._tokens = {
                        state: [(re.compile(rx).match, action) for rx, action in rules]
                        for state, rules in cls.tokens.items()
                    }
                return type.__call__(cls, *args, **kwds)


        class RegexLexer(metaclass=RegexLexerMeta):
            tokens = {}

            def __init__(self, style="plain"):
                self.style = style

            def get_tokens_unprocessed(self, text):
                pos = 0
                rules = self._tokens["root"]
                while pos < len(text):
                    for rexmatch, action in rules:
                        m = rexmatch(text, pos)
                        if m:
                            yield pos, action, m.group()
                            pos = m.end()
                            break
                    else:
                        yield pos, "Error", text[pos]
                        pos += 1
        """,
    "lexish/modula2.py": """
        from lexish.lexer import RegexLexer

        RESERVED = {"BEGIN", "END", "MODULE", "IF", "THEN"}


        class Modula2Lexer(RegexLexer):
            tokens = {
                "root": [
                    (r"\\s+", "Text"),
                    (r"[A-Za-z_]\\w*", "Name"),
                    (r"\\d+", "Number"),
                    (r"[;.:=()]", "Punctuation"),
                ]
            }

            def get_tokens_unprocessed(self, text):
                for index, token, value in RegexLexer.get_tokens_unprocessed(self, text):
                    if token == "Name" and value in RESERVED:
                        token = "Keyword.Reserved"
                    yield index, token, value
        """,
    "bench.py": """
        from lexish.modula2 import Modula2Lexer

        lexer = Modula2Lexer(style="algol")
        for i in range(4):
            text = f"MODULE M{i}; BEGIN x := {i}; IF x THEN y := 2 END END M{i}."
            assert sum(len(value) for _, _, value in lexer.get_tokens_unprocessed(text)) > 0
        """,
}


@pytest.mark.slow
def test_a_base_class_generator_reading_class_state_a_metaclass_set_in_another_module(
    make_project,
) -> None:
    """pygments 2.17.2: `RegexLexerMeta.__call__` sets `_tokens` on the lexer's own class
    at its first instantiation, and `RegexLexer.get_tokens_unprocessed` (pygments.lexer)
    reads `self._tokens`. For a `Modula2Lexer` (pygments.lexers.modula2) the class that
    holds it is in another module than the target, so it was not recorded: the
    unpickled lexer in the worker had no `_tokens`, the replayed original raised
    AttributeError at its first item, and that read as "result.items: expected (...),
    got ()". (`Modula2Lexer.get_tokens_unprocessed`, in the module that holds the class,
    was recorded already: the workload changed that class since its import.)"""
    root = make_project(METACLASS_PROJECT)
    ref = FunctionRef("lexish.lexer", "RegexLexer.get_tokens_unprocessed")
    capture = capture_calls("python bench.py", root, [ref])[ref]
    assert capture.problem is None
    assert len(capture.records) == 4
    path = root / "lexish" / "lexer.py"
    verdict = replay(
        ref.module, ref.qualname, path, None, capture.records, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason or verdict.difference
    assert verdict.calls_checked == 4


@pytest.mark.slow
def test_a_rewrite_that_raises_is_not_reported_as_yielding_nothing(project) -> None:
    """A generator that raises at its first item yields no items; the difference says it
    raised (pygments 2.17.2's lexer read as "expected (...), got ()")."""
    verdict = candidate(
        project, "counted", "    total = 0\n", "    total = 0\n    raise KeyError('x')\n"
    )
    assert verdict.status is VerdictStatus.DIFFERENT
    description = verdict.difference.description
    assert description.startswith("the lazy result raised builtins.KeyError(\"'x'\") after 0 items")
    assert "where the original's yielded 3 items, then ended" in description


@pytest.mark.slow
def test_a_rewrite_that_ends_quietly_where_the_original_raised_is_caught(project) -> None:
    verdict = candidate(project, "positives", "raise ValueError(item)", "return")
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference.description == (
        "the lazy result yielded 1 item, then ended, "
        "where the original's raised builtins.ValueError('-1') after 1 item"
    )
