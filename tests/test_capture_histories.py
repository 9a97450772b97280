"""Capture follows a few instances of a class whose methods are hot: the constructor and
each outermost method call on the instance, in order."""

from __future__ import annotations

import json
import pickle
from typing import NamedTuple

import pytest

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import FunctionRef
from perfloop.runtime.histories import MAX_HISTORIES, HistoryRecorder, recorded_methods

PROJECT = {
    "prober.py": """
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
                    self.reset()  # an inner call: part of feed, not a step of its own
                    self.state = "found"
                return self.state

            def confidence(self):
                return self._seen / (self.limit + 1)

        class Slotted:
            __slots__ = ("n",)

            def __init__(self):
                self.n = 0

            def bump(self):
                self.n += 1
    """,
    "bench.py": """
        from prober import Prober, Slotted

        for number in range(60):
            p = Prober(f"p{number}", limit=number % 4)
            for chunk in (b"ab", b"c", b"defg"):
                p.feed(chunk)
            p.confidence()
        s = Slotted()
        s.bump()
    """,
}


@pytest.fixture
def captures(make_project, monkeypatch: pytest.MonkeyPatch):
    root = make_project(PROJECT)
    monkeypatch.syspath_prepend(str(root))
    targets = [FunctionRef("prober", "Prober.feed"), FunctionRef("prober", "Slotted.bump")]
    return capture_calls("python bench.py", root, targets, CaptureSettings(max_calls=20))


def test_a_method_target_brings_histories_of_its_instances(captures) -> None:
    capture = captures[FunctionRef("prober", "Prober.feed")]
    assert capture.instances_seen == 60
    assert len(capture.histories) == MAX_HISTORIES
    history = capture.histories[0]
    assert history.cls == "Prober"
    # the constructor's own reset() and feed's inner reset() are not steps
    assert [step.method for step in history.steps] == ["feed", "feed", "feed", "confidence"]
    args, kwargs = pickle.loads(history.constructor)
    assert args == (f"p{history.number - 1}",) and kwargs == {"limit": (history.number - 1) % 4}
    assert [pickle.loads(step.args) for step in history.steps[:3]] == [
        ((b"ab",), {}),
        ((b"c",), {}),
        ((b"defg",), {}),
    ]
    assert history.steps[0].call_repr == ".feed(b'ab')"
    assert history.constructor_repr.startswith("Prober('p")


def test_the_instances_followed_are_spread_over_the_whole_run(captures) -> None:
    numbers = [h.number for h in captures[FunctionRef("prober", "Prober.feed")].histories]
    assert numbers == sorted(numbers)
    assert numbers[-1] > 40  # not only the first 20 instances made
    assert len(set(numbers)) == len(numbers)


def test_instances_without_weak_references_are_not_followed(captures) -> None:
    capture = captures[FunctionRef("prober", "Slotted.bump")]
    assert capture.histories == ()
    assert capture.records  # its calls are still recorded one by one


class Point(NamedTuple):
    x: int
    y: int

    def norm(self) -> int:
        return self.x + self.y


class Made:
    def __new__(cls, n: int) -> Made:  # constructed by __new__ alone, like many value types
        made = super().__new__(cls)
        made.n = n
        return made

    def get(self) -> int:
        return self.n


def test_following_a_class_never_changes_how_it_is_constructed() -> None:
    # object.__init__ refuses arguments once a class defines __init__: the wrapper must not
    # pass it the arguments only __new__ takes
    for cls, make, method in ((Point, lambda: Point(1, 2), "norm"), (Made, lambda: Made(3), "get")):
        recorder = HistoryRecorder(f"t:{cls.__name__}", cls, recorded_methods(cls, ()))
        recorder.install()
        made = make()
        assert getattr(made, method)() == 3
        summary = recorder.summary()
        if cls is Made:
            (history,) = summary["histories"]
            assert pickle.loads(history["constructor"]) == ((3,), {})
            assert [step["method"] for step in history["steps"]] == ["get"]
        else:  # a tuple takes no weak references: not followed, and said why
            assert summary["problems"] == {"Point instances take no weak references": 1}


LEXER = {
    "lexer.py": """
        class Lexer:
            def __init__(self):
                self.words = {"select", "from"}

            def is_keyword(self, word):
                return word in self.words

            def tokens(self, text):
                for word in text.split():
                    yield word, self.is_keyword(word)  # while the consumer pulls
    """,
    "bench.py": """
        from lexer import Lexer

        lexer = Lexer()
        for text in ("select a from t", "select b", "x y"):
            print(list(lexer.tokens(text)))
    """,
}


@pytest.mark.parametrize("targets", [["Lexer.tokens"], ["Lexer.tokens", "Lexer.is_keyword"]])
def test_what_a_returned_generator_calls_while_pulled_is_part_of_its_call(
    make_project, monkeypatch: pytest.MonkeyPatch, targets: list[str]
) -> None:
    # sqlparse 0.5.1's Lexer.get_tokens calls self.is_keyword as its consumer pulls it:
    # replayed as steps of their own they would run twice
    root = make_project(LEXER)
    monkeypatch.syspath_prepend(str(root))
    refs = [FunctionRef("lexer", target) for target in targets]
    capture = capture_calls("python bench.py", root, refs)[refs[0]]
    (history,) = capture.histories
    assert [step.method for step in history.steps] == ["tokens", "tokens", "tokens"]
    assert capture.records  # the generator's calls are still recorded one by one


# pycparser 2.22's grammar rules: a class decorator makes methods from local functions
# (`<locals>` in their names), and the parser's tables keep bound methods of them. The
# histories of the class wrap those methods; written by value, a bound method took the
# wrapper along, and with it the history recorder (weak references do not pickle): no
# call of any target of pycparser could be recorded.
RULES = {
    "rules.py": """
        def add_rules(cls):
            def make(n):
                def rule(self, x):
                    return x * n
                rule.__name__ = f"p_times{n}"
                return rule
            for n in (2, 3):
                setattr(cls, f"p_times{n}", make(n))
            return cls

        @add_rules
        class Parser:
            def __init__(self):
                self.table = [self.p_times2, self.p_times3]

            def parse(self, items):
                return [self._fix(item) for item in items]

            def _fix(self, item):
                return sum(rule(item) for rule in self.table)
    """,
    "bench.py": """
        from rules import Parser

        print(sum(sum(Parser().parse(range(n))) for n in range(30)))
    """,
}


def test_bound_methods_of_run_time_methods_are_recorded_without_capture_wrappers(
    make_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_project(RULES)
    monkeypatch.syspath_prepend(str(root))
    target = FunctionRef("rules", "Parser._fix")
    capture = capture_calls("python bench.py", root, [target], CaptureSettings(max_calls=20))[
        target
    ]
    assert capture.problem is None, capture.problem
    assert len(capture.records) == 20
    assert capture.histories  # the instances were followed, their methods wrapped


WRAPPED_BRIEFLY = {
    "counter.py": """
        class Counter:
            def __init__(self):
                self.n = 0

            def add(self, k):
                self.n += k
                return self.n

            def peek(self):
                return self.n

        def plain_peek(self):
            return -1
    """,
    "bench.py": """
        import json

        import counter

        ADD, PEEK = counter.Counter.add, counter.Counter.peek
        seen = []
        kept = [counter.Counter() for _ in range(3)]  # followed: open histories
        seen.append(counter.Counter.add is ADD)
        for c in kept:
            for k in range(150):  # past the 100 steps a history keeps: each closes
                c.add(k)
        seen.append(counter.Counter.add is ADD)  # every history is closed
        counter.Counter.peek = counter.plain_peek  # the workload patches a method
        later = counter.Counter()  # picked (three of twenty slots are taken): open again
        seen.append(counter.Counter.add is ADD)
        later.add(1)
        del later  # its history ends with it
        seen.append(counter.Counter.add is ADD)
        seen.append(counter.Counter.peek is counter.plain_peek)
        total = sum(counter.Counter().add(1) for _ in range(10))  # 14 instances: all followed
        with open("seen.json", "w") as out:
            json.dump(seen, out)
    """,
}


def test_the_method_wrappers_stand_in_the_class_only_while_a_history_is_open(
    make_project, monkeypatch: pytest.MonkeyPatch
) -> None:
    # a hot method of a class with few followed instances ran through the history wrapper
    # on every call of every instance (chardet 5.2.0's next_state: 870,000 calls)
    root = make_project(WRAPPED_BRIEFLY)
    monkeypatch.syspath_prepend(str(root))
    target = FunctionRef("counter", "Counter.add")
    capture = capture_calls("python bench.py", root, [target], CaptureSettings(max_calls=20))
    seen = json.loads((root / "seen.json").read_text())
    # open: wrapped; all closed: the class's own method; open again; gone: own again; and
    # the method the workload put in its place is left as it is
    assert seen == [False, True, False, True, True]
    histories = capture[target].histories
    assert len(histories) == 14
    assert [len(h.steps) for h in histories[:3]] == [100, 100, 100]
    assert [[s.method for s in h.steps] for h in histories[3:]] == [["add"]] * 11
