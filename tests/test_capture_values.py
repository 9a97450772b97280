"""Arguments plain pickle refuses are recorded anyway, and replay in a worker.

The shapes come from real libraries: Markdown 3.5.2 and sqlparse 0.4.4 pass
callbacks and `re.Match` objects to their hot functions (3 of their 10 top targets
were "unverifiable: its arguments cannot be pickled"), and pygments 2.17's
`_TokenType` pickles but does not load back (its `__getattr__` invents a
`__setstate__`), which replay used to report as hidden state.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import Candidate, FunctionRef, Limits, TargetCapture, VerdictStatus
from perfloop.verification import FuzzSettings, VerifySettings, prepare_target, verify_candidate
from perfloop.verification.replay import replay, replay_candidate

LIB = '''
import enum
import re

WORD = re.compile(r"(?P<word>[a-z]+)")


def apply_all(items, transform):
    """sqlparse's filters take callbacks: here a lambda or a local function."""
    return [transform(item) for item in items]


def replace_match(match):
    """Markdown's inline patterns get a re.Match (from finditer: not the first match)."""
    return match.group("word").upper() + str(match.start())


def call_method(method, value):
    return method(value)


def takes_lock(lock):
    return 1


class _TokenType(tuple):
    """The shape of pygments.token._TokenType: any missing attribute becomes a subtype.

    (Pygments 2.17.2 only invents capitalised names, so its tokens load back; a
    `__getattr__` without that check invents `__setstate__` and they do not.)
    """

    def __getattr__(self, name):
        new = _TokenType(self + (name,))
        setattr(self, name, new)
        return new


Token = _TokenType()


def token_name(token):
    """sqlparse 0.4.4's Token.match compares token types with `is`."""
    return ".".join(token), token is Token.Name


class Handle:
    """State that cannot be rebuilt elsewhere: its __setstate__ refuses."""

    def __init__(self):
        self.name = "db"

    def __setstate__(self, state):
        raise ValueError("a Handle cannot be restored outside its process")


def use_handle(handle):
    return handle.name


class Grammar:
    """pyparsing 3.1.1's ParserElement computes its default name on the first repr()."""

    def __init__(self, word):
        self.word = word
        self._default_name = None

    def __repr__(self):
        if self._default_name is None:
            self._default_name = f"Grammar({self.word!r})"
        return self._default_name


def parse(grammar, text):
    return text.split(grammar.word)


class FifoCache:
    """pyparsing 3.1's _FifoCache binds local functions to itself in __init__: pickle's
    default for a bound method, getattr(obj, "get"), fails while the object loads."""

    def __init__(self):
        import types

        def get(self, key):
            return self.data.get(key, "miss")

        self.data = {}
        self.get = types.MethodType(get, self)


class ProbingState(enum.Enum):
    DETECTING = 0
    FOUND = 1


class Prober:
    """chardet 5.2.0's probers hold enum classes and members; on 3.11 EnumType has a
    __getattr__, and pickling such an object failed: "unbound method
    object.__getstate__() needs an argument" (every prober.feed unverifiable)."""

    def __init__(self):
        self.states = ProbingState
        self.state = ProbingState.DETECTING

    def feed(self, data):
        if b"!" in data:
            self.state = self.states.FOUND
        return self.state


def cached(cache, key):
    value = cache.get(key)
    cache.data[key] = "hit"
    return value


def reduce_rule(parser, rule, value):
    p = [None, value]
    parser.actions[rule](p)
    return p[0]
'''

GRAMMAR = """
class Parser:
    # pycparser 2.22's CParser: __init__ adds p_*_opt methods to the class at run time
    # (setattr(self.__class__, ...)); a fresh process imports the class without them
    def __init__(self, rules):
        for rule in rules:
            def optrule(self, p):
                p[0] = p[1]
            optrule.__name__ = f"p_{rule}_opt"
            setattr(self.__class__, optrule.__name__, optrule)
        self.actions = {rule: getattr(self, f"p_{rule}_opt") for rule in rules}
"""

BENCH = """
from lib import (
    WORD, Handle, Token, apply_all, call_method, replace_match, takes_lock, token_name,
    use_handle, Grammar, parse, FifoCache, cached, Prober, reduce_rule,
)
from grammar import Parser
import threading


def main():
    factor = 3

    def scale(x):
        return x * factor

    apply_all([1, 2, 3], lambda x: x + 1)
    apply_all([1, 2, 3], scale)
    for match in WORD.finditer("ab, cd ef"):
        replace_match(match)

    class Local:
        def __init__(self, base):
            self.base = base

        def add(self, value):
            return self.base + value

    call_method(Local(10).add, 5)
    takes_lock(threading.Lock())
    Token.Name.Builtin  # Token.Name now has state: its subtype
    token_name(Token.Name)
    use_handle(Handle())
    grammar = Grammar(",")
    parse(grammar, "a,b")
    parse(grammar, "c,d")
    cache = FifoCache()
    cached(cache, "a")
    cached(cache, "a")
    prober = Prober()
    prober.feed(b"abc")
    prober.feed(b"ab!")
    parser = Parser(["declarator", "initializer"])
    reduce_rule(parser, "declarator", "x")
    reduce_rule(parser, "initializer", 7)


main()
"""

NAMES = (
    "apply_all",
    "replace_match",
    "call_method",
    "takes_lock",
    "token_name",
    "use_handle",
    "parse",
    "cached",
    "Prober.feed",
    "reduce_rule",
)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, TargetCapture]]:
    root = tmp_path_factory.mktemp("values")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    (root / "grammar.py").write_text(GRAMMAR)  # another module than the target's
    captures = capture_calls("python bench.py", root, [FunctionRef("lib", q) for q in NAMES])
    return root, {ref.qualname: capture for ref, capture in captures.items()}


LIMITS = Limits(wall_seconds=30, memory_mb=1024)


@pytest.mark.parametrize(
    ("qualname", "calls"),
    [
        ("apply_all", 2),
        ("replace_match", 3),
        ("call_method", 1),
        ("token_name", 1),
        ("parse", 2),
        ("cached", 2),
        ("Prober.feed", 2),
        ("reduce_rule", 2),
    ],
)
def test_callbacks_matches_and_local_methods_are_recorded_and_replay(
    project, qualname: str, calls: int
) -> None:
    root, captures = project
    capture = captures[qualname]
    assert capture.problem is None
    assert len(capture.records) == calls
    verdict = replay(
        "lib", qualname, root / "lib.py", None, capture.records, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    assert verdict.calls_checked == calls


def test_a_candidate_that_misuses_a_recorded_match_is_caught(project) -> None:
    root, captures = project
    source = LIB.replace("+ str(match.start())", "+ str(match.end())")
    candidate = Candidate(FunctionRef("lib", "replace_match"), "test", "", source, "", "lib.py")
    verdict = replay_candidate(
        candidate, captures["replace_match"].records, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.DIFFERENT
    assert "'AB0'" in verdict.difference.description


def test_an_argument_nothing_can_serialise_is_named_with_its_type(project) -> None:
    capture = project[1]["takes_lock"]
    assert not capture.usable
    assert "its arguments cannot be pickled: argument 'lock' (a _thread.lock)" in capture.problem


def test_an_argument_that_pickles_but_does_not_load_back_is_reported_at_capture(project) -> None:
    capture = project[1]["use_handle"]
    assert not capture.usable
    assert (
        "its arguments pickle but do not load back: argument 'handle' (a lib.Handle): "
        "ValueError: a Handle cannot be restored outside its process"
    ) in capture.problem


MADE_AT_RUN_TIME = {
    "lib.py": """
        class Base:
            pass


        def make_kind(name):
            # a class made at run time under a name its module never defines at import
            kind = type(name, (Base,), {"__module__": __name__, "__qualname__": name})
            globals()[name] = kind
            return kind


        def describe(value):
            return type(value).__name__
    """,
    "bench.py": """
        import lib

        Kind = lib.make_kind("Token")
        print(lib.describe(Kind()))
    """,
}


def test_a_recorded_call_that_loads_only_in_the_workload_says_so(make_project) -> None:
    root = make_project(MADE_AT_RUN_TIME)
    target = FunctionRef("lib", "describe")
    capture = capture_calls("python bench.py", root, [target])[target]
    verdict = replay(
        "lib", "describe", root / "lib.py", None, capture.records, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.FAILED
    assert (
        verdict.reason.strip()
        .splitlines()[-1]
        .endswith(
            "RecordedCallDoesNotLoad: recorded call 1 does not load in a process that imported "
            "the project afresh (AttributeError: Can't get attribute 'Token' on <module 'lib' "
            f"from '{root / 'lib.py'}'>), though it did in the workload's: it holds something "
            "the workload made at run time"
        )
    )


@pytest.mark.slow
def test_the_fuzz_tier_loads_calls_holding_methods_made_at_run_time(project) -> None:
    # pycparser 2.22: the fuzz tier re-pickled the recorded calls with plain pickle, which
    # reduces CParser.p_*_opt methods by name, and every candidate "failed"
    root, captures = project
    ref = FunctionRef("lib", "reduce_rule")
    settings = VerifySettings(tiers=("replay", "fuzz"), fuzz=FuzzSettings(50, 10.0))
    plan = prepare_target(
        ref, "lib.py", LIB, captures["reduce_rule"], root=root, settings=settings, limits=LIMITS
    )
    source = LIB.replace("p = [None, value]", "p = [None] + [value]")
    candidate = Candidate(ref, "test", "test", source, "", "lib.py")
    verdict = verify_candidate(candidate, plan, root=root, limits=LIMITS)
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    assert [(run.tier, run.outcome) for run in verdict.runs] == [
        ("replay", "same"),
        ("fuzz", "same"),
    ]


HTML5LIB_SHAPES = {
    "parser.py": """
        import codecs


        def get_phases():
            # html5lib 1.1's getPhases: the phase classes are made in a function, and
            # their base keeps two caches in private slots (stored as _Phase__...)
            class Phase:
                __slots__ = ("parser", "__start_cache", "__end_cache")

                def __init__(self, parser):
                    self.parser = parser
                    self.__start_cache = {}
                    self.__end_cache = {}

                def start_tag(self, name):
                    if name not in self.__start_cache:
                        self.__start_cache[name] = name.upper()
                    return self.__start_cache[name]

            class InBody(Phase):
                __slots__ = ()

            return InBody


        class Stream:
            # html5lib 1.1's HTMLUnicodeInputStream holds a codec's CodecInfo (through
            # webencodings), a tuple subclass plain pickle cannot load back
            def __init__(self, text):
                self.codec = codecs.lookup("utf-8")
                self.own = codecs.CodecInfo(codecs.utf_8_encode, codecs.utf_8_decode, name="own")
                self.text = text
                self.pos = 0


        def main_loop(phase, names):
            return [phase.start_tag(name) for name in names]


        def chars_until(stream, stop):
            end = stream.text.find(stop, stream.pos)
            end = len(stream.text) if end < 0 else end
            found, stream.pos = stream.text[stream.pos:end], end
            return found, stream.codec.name, stream.own.name
    """,
    "bench.py": """
        from parser import Stream, chars_until, get_phases, main_loop

        phase = get_phases()(parser=None)
        print(main_loop(phase, ["p", "div", "p"]), main_loop(phase, ["a"]))
        stream = Stream("<p>text</p><div>more</div>")
        print(chars_until(stream, ">"), chars_until(stream, "<"))
    """,
}


@pytest.mark.parametrize("qualname", ["main_loop", "chars_until"])
def test_private_slots_of_a_class_made_in_a_function_and_codec_infos_are_recorded(
    make_project, qualname: str
) -> None:
    # html5lib 1.1, run as a new user: HTMLParser.mainLoop's records did not load back
    # ("type object 'Phase' has no attribute '_Phase__endTagCache'", cloudpickle keeps the
    # class's private slot descriptors), nor charsUntil's ("CodecInfo.__new__() missing 1
    # required positional argument: 'decode'")
    root = make_project(HTML5LIB_SHAPES)
    target = FunctionRef("parser", qualname)
    capture = capture_calls("python bench.py", root, [target])[target]
    assert capture.problem is None and len(capture.records) == 2
    verdict = replay(
        "parser", qualname, root / "parser.py", None, capture.records, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    assert verdict.calls_checked == 2
