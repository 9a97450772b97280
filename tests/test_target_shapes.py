"""The shapes real hot code has are targets: captured in the workload, replayed, judged.

Each shape comes from a real library where perfloop used to refuse or miss the
hottest function: name-mangled methods (Markdown 3.5.2's
`InlineProcessor.__applyPattern`, 15% of rendering), a method bound under another
name in its class body (pyparsing 3.1.2's `_parse = _parseNoCache`, 32% of
parsing), the implicit staticmethod `__new__` (pyparsing's `ParseResults.__new__`),
a byte-loop prober updating `self` counters (chardet 5.2.0's `utf8prober.py`), plus
decorated functions, static and class methods, properties and closures.

The workload runs once in a real subprocess and records every target; each
candidate is spliced into the module as `perfloop verify` does, gated, and replayed
in a sandboxed worker.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import types
from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.gate import gate_candidate
from perfloop.model import Candidate, FunctionRef, Limits, TargetCapture, VerdictStatus
from perfloop.patch import merge_candidates, splice_function
from perfloop.runtime.loader import call_expression, load_module_copy, resolve_target
from perfloop.verification.replay import replay

LIB = '''
import functools


def keep(function):
    """A registration decorator: returns the function itself."""
    REGISTRY.append(function.__name__)
    return function


def traced(function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        return function(*args, **kwargs)
    return wrapper


def hiding(function):
    def wrapper(*args):
        return function(*args)
    return wrapper


REGISTRY = []


@functools.lru_cache(maxsize=None)
def fib_sum(n):
    return sum(range(n)) * 2


@traced
def checksum(data):
    total = 0
    for byte in data:
        total = (total * 31 + byte) % 65521
    return total


@keep
def squares(n):
    return [i * i for i in range(n)]


@hiding
def hidden(x):
    return x + 1


def outer(words):
    def shout(word):
        return word.upper() + "!"
    return [shout(w) for w in words]


class Prober:
    """Shaped like chardet 5.2.0's UTF8Prober: a byte loop updating counters on self."""

    def __init__(self):
        self._multi = 0
        self._high = 0
        self._state = "start"

    def feed(self, data):
        for byte in data:
            if byte >= 0x80:
                self._high += 1
                if byte >= 0xC0:
                    self._multi += 1
        self._state = "seen" if self._multi else "ascii"
        return self._multi

    @staticmethod
    def weight(x):
        return x * 3

    @classmethod
    def make(cls, n):
        return [n] * 2

    @property
    def ratio(self):
        return self._multi / (self._high or 1)

    @ratio.setter
    def ratio(self, value):
        self._multi = value

    def __scan(self, text):
        return sum(1 for c in text if c.isupper())

    def scan(self, text):
        return self.__scan(text)

    def _parse_no_cache(self, text, loc):
        return text[loc:].strip()

    _parse = _parse_no_cache

    def __getitem__(self, index):
        return index * 2

    def __iadd__(self, amount):
        self._high += amount
        return self


class Token:
    """Shaped like pyparsing 3.1.2's ParseResults: __new__ builds the instance."""

    def __new__(cls, items=None):
        self = object.__new__(cls)
        self.items = list(items or [])
        self.names = set()
        return self
'''

WORKLOAD = """
from lib import Prober, Token, checksum, fib_sum, hidden, outer, squares

for n in range(1, 15):
    fib_sum(n % 5)
    checksum(bytes(range(n)))
    squares(n)
    outer(["a", "bc"][: n % 3])
    hidden(n)
    Prober.weight(n)
    Prober.make(n)
    Token([n, n + 1])
prober = Prober()
for i, chunk in enumerate((b"abc", "héllo wörld".encode(), bytes([0xC3, 0x80, 0x41]), b"plain")):
    prober.feed(chunk)
    prober.ratio
    prober.ratio = 1
    prober.scan("AbCd")
    prober._parse(" xy z " * (i + 1), i)
    prober[3]
    prober += 2
print("done")
"""


def _candidate(function: str, shape: str) -> Candidate:
    original = textwrap.dedent(LIB).lstrip()
    source = splice_function(original, shape, textwrap.dedent(function))
    return Candidate(FunctionRef("lib", shape), "test", "", source, function, "lib.py")


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("shapes")
    (root / "lib.py").write_text(textwrap.dedent(LIB).lstrip())
    (root / "w.py").write_text(textwrap.dedent(WORKLOAD).lstrip())
    return root


TARGETS = (
    "fib_sum",
    "checksum",
    "squares",
    "outer",
    "hidden",
    "Prober.feed",
    "Prober.weight",
    "Prober.make",
    "Prober.ratio",
    "Prober.__scan",
    "Prober._parse_no_cache",
    "Prober.__getitem__",
    "Prober.__iadd__",
    "Token.__new__",
)


@pytest.fixture(scope="module")
def captured(project: Path) -> dict[str, TargetCapture]:
    refs = [FunctionRef("lib", t) for t in TARGETS]
    found = capture_calls("python w.py", project, refs)
    return {ref.qualname: capture for ref, capture in found.items()}


def _replay(project: Path, capture: TargetCapture, candidate: Candidate | None):
    qualname = capture.function.qualname
    source = None if candidate is None else candidate.module_source
    return replay(
        "lib", qualname, project / "lib.py", source, capture.records, root=project, limits=Limits()
    )


# (target, a correct rewrite, a wrong one, what the wrong one is caught by)
SHAPES = {
    "lru_cache": (
        "fib_sum",
        "@functools.lru_cache(maxsize=None)\ndef fib_sum(n):\n    return n * (n - 1)\n",
        "@functools.lru_cache(maxsize=None)\ndef fib_sum(n):\n    return n * (n + 1)\n",
        "result: expected",
    ),
    "functools.wraps decorator": (
        "checksum",
        "@traced\ndef checksum(data):\n    total = 0\n    for b in data:\n"
        "        total = (total * 31 + b) % 65521\n    return total\n",
        "@traced\ndef checksum(data):\n    return sum(data) % 65521\n",
        "result: expected",
    ),
    "registration decorator": (
        "squares",
        "@keep\ndef squares(n):\n    return [i ** 2 for i in range(n)]\n",
        "@keep\ndef squares(n):\n    return [i * i for i in range(1, n)]\n",
        "result: ",
    ),
    "staticmethod given as a bare def": (
        "Prober.weight",
        "def weight(x):\n    return x + x + x\n",
        "def weight(x):\n    return x * 3 + (x == 7)\n",
        "result: expected 21, got 22",
    ),
    "classmethod": (
        "Prober.make",
        "@classmethod\ndef make(cls, n):\n    return [n, n]\n",
        "@classmethod\ndef make(cls, n):\n    return [n]\n",
        "result: ",
    ),
    "property getter beside its setter": (
        "Prober.ratio",
        "@property\ndef ratio(self):\n    high = self._high or 1\n    return self._multi / high\n",
        "@property\ndef ratio(self):\n    return self._multi / (self._high + 1)\n",
        "result: expected",
    ),
    "name-mangled method (Markdown's __applyPattern)": (
        "Prober.__scan",
        "def __scan(self, text):\n    return len([c for c in text if c.isupper()])\n",
        "def __scan(self, text):\n    return len([c for c in text if c.isalpha()])\n",
        "result: expected",
    ),
    "method bound under another name (pyparsing's _parse)": (
        "Prober._parse_no_cache",
        "def _parse_no_cache(self, text, loc):\n    return text[loc:].lstrip().rstrip()\n",
        "def _parse_no_cache(self, text, loc):\n    return text[loc:].lstrip()\n",
        "result: expected",
    ),
    "__getitem__": (
        "Prober.__getitem__",
        "def __getitem__(self, index):\n    return index + index\n",
        "def __getitem__(self, index):\n    return index ** 2\n",
        "result: expected 6, got 9",
    ),
    "__iadd__ updating self": (
        "Prober.__iadd__",
        "def __iadd__(self, amount):\n    self._high = self._high + amount\n    return self\n",
        "def __iadd__(self, amount):\n    return self\n",
        "._high: expected 2, got 0",
    ),
    "__new__ (pyparsing's ParseResults)": (
        "Token.__new__",
        "def __new__(cls, items=None):\n    self = object.__new__(cls)\n"
        "    self.items = list(items) if items else []\n    self.names = set()\n    return self\n",
        "def __new__(cls, items=None):\n    self = object.__new__(cls)\n"
        "    self.items = list(items or [])\n    return self\n",
        "names",
    ),
    "closure in its enclosing function": (
        "outer",
        "def outer(words):\n    return [w.upper() + '!' for w in words]\n",
        "def outer(words):\n    def shout(word):\n        return word.upper()\n"
        "    return [shout(w) for w in words]\n",
        "result[0]: expected 'A!', got 'A'",
    ),
}


@pytest.mark.slow
@pytest.mark.parametrize("shape", list(SHAPES))
def test_a_correct_rewrite_is_verified_and_a_wrong_one_rejected(
    shape: str, project: Path, captured: dict[str, TargetCapture]
) -> None:
    qualname, good, wrong, caught_by = SHAPES[shape]
    capture = captured[qualname]
    assert capture.usable, capture.problem
    original = textwrap.dedent(LIB).lstrip()
    for source in (good, wrong):
        gate = gate_candidate(_candidate(source, qualname), original, set())
        assert gate.passed, gate.reason
    verdict = _replay(project, capture, _candidate(good, qualname))
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason or verdict.difference
    assert verdict.calls_checked == len(capture.records)
    verdict = _replay(project, capture, _candidate(wrong, qualname))
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference is not None and caught_by in verdict.difference.description


@pytest.mark.slow
def test_a_stateful_method_that_forgets_one_counter_update_is_rejected(
    project: Path, captured: dict[str, TargetCapture]
) -> None:
    """chardet 5.2.0's probers feed bytes in chunks and keep counters on self between calls."""
    capture = captured["Prober.feed"]
    assert len(capture.records) == 4  # one per chunk, on the same prober
    good = """
        def feed(self, data):
            high = multi = 0
            for byte in data:
                if byte >= 0x80:
                    high += 1
                    multi += byte >= 0xC0
            self._high += high
            self._multi += multi
            self._state = "seen" if self._multi else "ascii"
            return self._multi
    """
    forgets = good.replace("            self._high += high\n", "")
    verdict = _replay(project, capture, _candidate(good, "Prober.feed"))
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason or verdict.difference
    verdict = _replay(project, capture, _candidate(forgets, "Prober.feed"))
    assert verdict.status is VerdictStatus.DIFFERENT
    assert verdict.difference is not None
    assert "argument state after the call differs: self._high" in verdict.difference.description


def test_a_decorator_that_hides_the_function_says_to_use_functools_wraps(
    captured: dict[str, TargetCapture],
) -> None:
    problem = captured["hidden"].problem or ""
    assert "hiding.<locals>.wrapper" in problem and "functools.wraps" in problem


def test_calls_through_an_alias_are_recorded(captured: dict[str, TargetCapture]) -> None:
    assert captured["Prober._parse_no_cache"].calls_seen == 4  # all made as prober._parse(...)


def test_a_cached_function_records_every_call_made_through_the_cache(
    captured: dict[str, TargetCapture],
) -> None:
    assert captured["fib_sum"].calls_seen == 14  # 5 distinct arguments, 9 cache hits


def test_splicing_a_property_getter_keeps_the_setter() -> None:
    getter = "@property\ndef ratio(self):\n    return 0.5\n"
    source = _candidate(getter, "Prober.ratio").module_source
    assert "return 0.5" in source
    assert "@ratio.setter\n    def ratio(self, value):\n        self._multi = value" in source


@pytest.mark.slow
def test_perfloop_verify_follows_a_method_bound_under_another_name(project: Path) -> None:
    """The whole command, as a user runs it on pyparsing's `_parse = _parseNoCache`."""
    candidate = project / "candidate.py"
    candidate.write_text(
        "def _parse_no_cache(self, text, loc):\n    return text[loc:].strip(' ')\n"
    )
    command = ("verify", "lib:Prober._parse_no_cache", "--candidate", str(candidate))
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "perfloop",
            *command,
            "--workload",
            "python w.py",
            "--tiers",
            "replay",
        ],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "same on 4 recorded calls" in done.stdout


def test_a_pasteable_call_reaches_the_function_replay_calls(project: Path) -> None:
    """Counterexamples are pasted as `from lib import Prober; Prober._Prober__scan(...)`:
    the expression must name what replay called, for every shape."""
    module = load_module_copy("lib", str(project / "lib.py"), (project / "lib.py").read_text())
    expressions = {}
    for qualname in TARGETS:
        if qualname == "hidden":
            continue
        target = resolve_target(module, qualname)
        expressions[qualname] = call_expression(target, qualname)
        assert eval(expressions[qualname], vars(module)) is target.call, qualname
    assert expressions["Prober.__scan"] == "Prober._Prober__scan"
    assert expressions["Prober.ratio"] == "Prober.ratio.fget"
    assert expressions["fib_sum"] == "fib_sum.__wrapped__"


def test_the_patch_keeps_every_decorator_of_the_rewritten_functions() -> None:
    weight = _candidate("def weight(x):\n    return x + x + x\n", "Prober.weight")
    cached = _candidate("def fib_sum(n):\n    return n * (n - 1)\n", "fib_sum")
    merged = merge_candidates(textwrap.dedent(LIB).lstrip(), [weight, cached])
    assert "    @staticmethod\n    def weight(x):\n        return x + x + x\n" in merged
    assert "@functools.lru_cache(maxsize=None)\ndef fib_sum(n):\n    return n * (n - 1)\n" in merged


@pytest.mark.slow
def test_the_counterexample_of_a_mangled_method_names_it_as_python_stores_it(
    project: Path,
) -> None:
    """`Prober.__scan(...)` pasted outside the class is an AttributeError; the stored
    name `Prober._Prober__scan` is what a user can run."""
    candidate = project / "wrong_scan.py"
    candidate.write_text(SHAPES["name-mangled method (Markdown's __applyPattern)"][2])
    done = subprocess.run(
        [sys.executable, "-m", "perfloop", "verify", "lib:Prober.__scan",
         "--candidate", str(candidate), "--workload", "python w.py", "--tiers", "replay",
         "--mutants", "0"],
        cwd=project, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "from lib import Prober; Prober._Prober__scan(" in done.stdout


def test_a_cache_called_only_through_a_default_argument_is_recorded(make_project) -> None:
    # rich 13.9.3: cell_len(text, _cell_len=cached_cell_len) holds the lru_cache object it
    # had when defined; with only the module's name wrapped, the workload "never called"
    # cached_cell_len, 25,152 calls later
    lib = textwrap.dedent("""
        from functools import lru_cache


        @lru_cache(4096)
        def width(text):
            return sum(2 if ord(c) > 0x1100 else 1 for c in text)


        def total(text, _width=width):
            return _width(text)


        def scaled(text, *, _w=width, factor=2):
            return _w(text) * factor
    """)
    workload = (
        "from lib import scaled, total\n"
        "print([total(w) + scaled(w) for w in ['ab', 'é', 'ab', '東京']])\n"
    )
    root = make_project({"lib.py": lib, "w.py": workload})
    ref = FunctionRef("lib", "width")
    capture = capture_calls("python w.py", root, [ref])[ref]
    assert capture.problem is None, capture.problem
    assert capture.calls_seen == 8  # every call through both defaults, hits included
    assert sorted({record.call_repr for record in capture.records}) == [
        "width('ab')", "width('é')", "width('東京')",
    ]  # fmt: skip


def test_a_module_copy_gets_what_another_module_set_on_the_live_one(tmp_path: Path) -> None:
    # mpmath 1.3.0's __init__ sets `ctx_mp_python.mpf = mp.mpf`; recorded mpf values pickle
    # by that name, so a copy of the module (timing's) must hold it too; a helper the
    # candidate drops stays dropped, and the copy's own definitions stay its own
    original = "def helper():\n    return 1\n\n\nLIMIT = 3\n"
    candidate = "LIMIT = 4\n"
    (tmp_path / "numbers_mod.py").write_text(original)
    live = types.ModuleType("numbers_mod")
    exec(original, vars(live))
    live.mpf = type("mpf", (), {})  # set from outside at run time
    sys.modules["numbers_mod"] = live
    try:
        copy = load_module_copy(
            "numbers_mod", str(tmp_path / "numbers_mod.py"), candidate, original
        )
    finally:
        del sys.modules["numbers_mod"]
    assert copy.mpf is live.mpf
    assert not hasattr(copy, "helper")
    assert copy.LIMIT == 4
