"""Shapes of real libraries that perfloop got wrong, each reduced to a small fixture.

Each test names the library and version its shape came from (found by
benchmarks/real_libraries.py). A test marked xfail(strict=True) records a known
defect: it starts to pass, and so fails as XPASS, the day the defect is fixed;
then drop the mark.
"""

from __future__ import annotations

import datetime
import pickle

import pytest

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import FunctionRef, Limits, VerdictStatus
from perfloop.profile import profile_workload
from perfloop.verification.replay import replay

BUSY = """
def inner(x):
    total = 0
    for i in range(3000):
        total += (i * x) % 7
    return str(total)
"""


def shares(make_project, files: dict[str, str]) -> dict[str, float]:
    root = make_project(files)
    profile = profile_workload("python bench.py", root)
    return {str(f.function): f.share for f in profile.functions}


def test_a_builtin_driving_a_generator_does_not_make_its_caller_hot(make_project) -> None:
    # sqlparse 0.5.1: `format` is `return ''.join(stack.run(sql, encoding))`; perfloop
    # ranked it first with 48% "own" time, above the lexer and grouping doing the work
    found = shares(
        make_project,
        {
            "lib.py": BUSY + '\n\ndef outer(items):\n    return "".join(inner(x) for x in items)\n',
            "bench.py": "import lib\n\nprint(len(lib.outer(range(2000))))\n",
        },
    )
    assert found["lib:inner"] > 0.5
    assert found["lib:outer"] < found["lib:inner"] / 2, found


def test_a_callback_from_the_workload_script_does_not_make_its_caller_hot(make_project) -> None:
    # mpmath 1.3.0: quad(lambda x: exp(-x*x) * cos(k*x), ...) made TanhSinh.sum_next 60% "own"
    # time, while exp and cos (mpmath functions the lambda calls) did the work
    found = shares(
        make_project,
        {
            "lib.py": BUSY + "\n\ndef integrate(f, points):\n    return [f(x) for x in points]\n",
            "bench.py": "import lib\n\n"
            "print(len(lib.integrate(lambda x: lib.inner(x), range(2000))))\n",
        },
    )
    assert found["lib:inner"] > 0.5
    assert found["lib:integrate"] < found["lib:inner"] / 2, found


def test_unpicklable_arguments_are_not_pickled_again_on_every_call(make_project) -> None:
    # pycparser 2.22: ply's Lexer.token(self) is called 16,321 times by a 0.5 s workload;
    # pickling its self walks the parser tables for 20-40 ms before failing on a re.Match,
    # so the capture run passed perfloop's 600 s limit and the whole run failed with
    # "did not finish within 600 s; raise --workload-timeout or give a shorter workload"
    root = make_project(
        {
            "lexer.py": """
                import threading

                class Match:  # refuses to be pickled, and says so; its state cannot be either
                    def __init__(self):
                        self.lock = threading.Lock()

                    def __reduce__(self):
                        with open("pickle-attempts.txt", "a") as log:
                            log.write("x")
                        raise TypeError("cannot pickle 're.Match' object")

                class Lexer:
                    def __init__(self, text):
                        self.text, self.pos, self.match = text, 0, Match()

                    def token(self):
                        self.pos += 1
                        return self.text[self.pos - 1 : self.pos]
            """,
            "bench.py": """
                import lexer

                scanner = lexer.Lexer("x" * 3000)
                print(sum(len(scanner.token()) for _ in range(3000)))
            """,
        }
    )
    [capture] = capture_calls(
        "python bench.py", root, [FunctionRef("lexer", "Lexer.token")]
    ).values()
    assert capture.calls_seen == 3000 and not capture.records
    assert "cannot be pickled" in (capture.problem or "")
    attempts = len((root / "pickle-attempts.txt").read_text())
    assert attempts <= 100, f"{attempts} pickling attempts for 3000 calls"


def test_candidates_perfloop_failed_to_check_are_not_called_different() -> None:
    # pycparser 2.22: the fuzz tier could not load the recorded calls, and the summary said
    # "none of 3 candidates behaved the same on the recorded calls"
    from perfloop.model import Candidate, CandidateResult, GateResult, Verdict, VerdictStatus
    from perfloop.pipeline.candidates import select_best

    ref = FunctionRef("pycparser.ply.yacc", "LRParser.parseopt_notrack")
    failure = "Traceback (most recent call last):\n  ...\nAttributeError: no p_decl_opt"

    def tried(status: VerdictStatus) -> CandidateResult:
        verdict = Verdict(status, ("replay", "fuzz"), 1, 1.0, reason=failure)
        return CandidateResult(
            Candidate(ref, "rule:x", "", "", "", "yacc.py"), GateResult(True), verdict
        )

    failed = select_best(ref, 0.2, 1, [tried(VerdictStatus.FAILED)] * 3)
    assert failed.reason == "checking the 3 candidates failed: AttributeError: no p_decl_opt"
    mixed = select_best(ref, 0.2, 1, [tried(VerdictStatus.FAILED), tried(VerdictStatus.DIFFERENT)])
    assert mixed.reason == "none of 2 candidates behaved the same"  # where: not known here
    one = select_best(ref, 0.2, 1, [tried(VerdictStatus.FAILED)])
    assert one.reason == "checking the candidate failed: AttributeError: no p_decl_opt"
    different = select_best(ref, 0.2, 1, [tried(VerdictStatus.DIFFERENT)])
    assert different.reason == "the one candidate did not behave the same"
    # where a tier found the difference, the reason says so (an empty basket found by fuzzing
    # was reported "on the recorded calls")
    from perfloop.model import Difference

    fuzzed = Verdict(
        VerdictStatus.DIFFERENT, ("replay", "fuzz"), 1, 1.0, Difference(0, "f([])", "", "fuzz")
    )
    found = CandidateResult(
        Candidate(ref, "rule:x", "", "", "", "yacc.py"), GateResult(True), fuzzed
    )
    assert select_best(ref, 0.2, 1, [found]).reason == (
        "the one candidate did not behave the same on generated inputs"
    )


def test_loading_a_recorded_call_back_leaves_the_workloads_own_classes_alone() -> None:
    """mpmath 1.3.0: each context makes its `constant` class at run time, with the context
    as a class attribute. Recording `PythonMPContext.fdot` pickles the context, so the
    class goes by value (cloudpickle); the check that the call loads back, run in the
    workload, let cloudpickle find the live class by its tracker id and set the loaded
    class attributes on it: `constant.context` became a half-loaded context and the
    workload failed ("'MPContext' object has no attribute '_prec_rounding'")."""
    from perfloop.runtime import pickling

    class Context:  # local: plain pickle refuses it, cloudpickle writes it by value
        def __init__(self) -> None:
            self.precision = 53

            class Constant:  # made at run time, like mpmath's
                context = self

            self.Constant = Constant
            self.pi = Constant()

    context = Context()
    live = context.Constant
    data = pickling.dumps(((context.pi, [1, 2]), {}))
    copy = pickling.check_loads(data)
    assert live.context is context  # the workload's class still holds its own context
    assert type(copy[0][0]) is not live  # the copy has a class of its own


class Rational:
    """mpmath 1.3.0's `mpq`: `__new__` needs `p`, slots, no pickling of its own."""

    __slots__ = ["_mpq_"]

    def __new__(cls, p: int, q: int = 1) -> Rational:
        rational = object.__new__(cls)
        rational._mpq_ = (p, q)
        return rational


class Real:
    """mpmath's `mpf`: a slot and its own `__getstate__`/`__setstate__`."""

    __slots__ = ["_mpf_"]
    digits = 6

    def __new__(cls, value: float = 0.0) -> Real:
        real = object.__new__(cls)
        real._mpf_ = round(value, cls.digits)
        return real

    def __getstate__(self) -> float:
        return self._mpf_

    def __setstate__(self, value: float) -> None:
        self._mpf_ = value


class Constant(Real):
    """mpmath's `constant`: `_mpf_` is a read-only property over the slot (the inherited
    `__setstate__` cannot set it), and `__new__` needs arguments."""

    def __new__(cls, name: str) -> Constant:  # type: ignore[misc]
        constant = object.__new__(cls)
        constant.name = name
        return constant

    @property
    def _mpf_(self) -> float:  # type: ignore[override]
        return round(3.14159265358979, self.digits)


def test_objects_whose_new_needs_arguments_or_whose_setstate_fails_load_back() -> None:
    """mpmath 1.3.0: the context held in `QuadratureRule.transform_nodes`'s `self` (and
    `fdot`'s) "pickled but did not load back": an `mpq` in its caches (plain pickle,
    cloudpickle and `copy.copy` all call `mpq.__new__(cls)`, which needs `p`), then its
    constants (`mp.pi`: `mpf.__setstate__` sets `_mpf_`, a read-only property there)."""
    from perfloop.runtime import pickling

    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        pickle.loads(pickle.dumps(Rational(1, 3)))  # the failure perfloop gets past
    holder = {"third": Rational(1, 3), "pi": Constant("pi"), "half": Real(0.5)}
    copy = pickling.check_loads(pickling.dumps(holder))
    assert copy["third"]._mpq_ == (1, 3)
    assert type(copy["pi"]) is Constant and copy["pi"].name == "pi"
    assert copy["pi"]._mpf_ == 3.141593
    assert type(copy["half"]) is Real and copy["half"]._mpf_ == 0.5


def test_a_new_that_asks_a_half_loaded_object_is_not_called_when_loading() -> None:
    """mpmath 1.3.0's `ivmpf.__new__(cls, x=0)` returns `cls.ctx.convert(x)`: loading the
    interval context (reached from `fdot`'s `self`) called it while that context was
    half loaded ("'MPIntervalContext' object has no attribute 'mpf'")."""
    from perfloop.runtime import pickling

    class Interval:
        def __new__(cls, x: int = 0) -> Interval:
            return cls.context.interval_of(x)  # type: ignore[attr-defined, no-any-return]

    class Context:
        def __init__(self) -> None:
            self.width = 2
            self.interval = type("interval", (Interval,), {"context": self})
            self.unit = self.interval_of(1)

        def interval_of(self, x: int) -> Interval:
            made = object.__new__(self.interval)
            made.bounds = (x - self.width, x + self.width)  # type: ignore[attr-defined]
            return made

    context = Context()
    copy = pickling.check_loads(pickling.dumps(context))
    assert copy.unit.bounds == (-1, 3) and copy.width == 2
    assert type(copy.unit).context is copy  # the copy's class holds the copy
    assert type(context.unit).context is context  # and the live class its own


BREAKS_WHEN_RECORDED = """
PICKLED = []


class Token:
    def __init__(self, text):
        self.text = text

    def __getstate__(self):  # only perfloop pickles a Token: the workload notices
        PICKLED.append(self.text)
        return {"text": self.text}


def weigh(token, n):
    total = 0
    for i in range(n):
        total += len(token.text) * i % 7
    return total


def spin(n):
    out = []
    for i in range(n):
        out.append(i * i % 11)
    return out
"""

BREAKS_BENCH = """
import lib

print(sum(lib.weigh(lib.Token("ab"), 3000) for _ in range(40)))
print(sum(sum(lib.spin(3000)) for _ in range(40)))
if lib.PICKLED:
    raise SystemExit("a Token was pickled")
"""


@pytest.mark.slow
def test_a_target_whose_recording_breaks_the_workload_is_left_out_not_the_run(
    make_project,
) -> None:
    """mpmath 1.3.0: recording `PythonMPContext.fdot` broke the workload, and perfloop
    failed for all five targets. Now each is recorded alone after the joint recording
    fails, and only the one that breaks the workload is left out, with the reason."""
    from perfloop.config import load_settings
    from perfloop.pipeline import optimize
    from perfloop.results import TargetStatus

    root = make_project({"lib.py": BREAKS_WHEN_RECORDED, "bench.py": BREAKS_BENCH})
    settings = load_settings(
        root,
        {
            "workload": "python bench.py",
            "functions": ["lib:weigh", "lib:spin"],
            "rules": ["list-comprehension"],
            "measure_processes": 2,
            "mutants": 5,
        },
    )
    result = optimize(settings)
    by_name = {t.function.qualname: t for t in result.targets}
    weigh, spin = by_name["weigh"], by_name["spin"]
    assert weigh.status is TargetStatus.UNVERIFIABLE
    assert "recording its calls made the workload fail" in (weigh.reason or "")
    assert "a Token was pickled" in (weigh.reason or "")
    assert spin.calls_recorded > 0
    assert {c.candidate.origin for c in spin.candidates} == {"rule:list-comprehension"}


class OffsetZone(datetime.tzinfo):
    """toml 0.10.2's `TomlTz`: a tzinfo whose constructor needs the offset, and no
    `__getinitargs__`, so `tzinfo.__reduce__` gives `(OffsetZone, (), state)`."""

    def __init__(self, toml_offset: str) -> None:
        self._sign = -1 if toml_offset[0] == "-" else 1
        self._hours = int(toml_offset[1:3])

    def utcoffset(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return self._sign * datetime.timedelta(hours=self._hours)

    def dst(self, dt: datetime.datetime | None) -> datetime.timedelta:
        return datetime.timedelta(0)


def test_an_object_whose_reduce_gives_its_class_too_few_arguments_loads_back() -> None:
    """toml 0.10.2: every document with a time zone "pickles but does not load back"
    (`TomlTz.__init__() missing 1 required positional argument: 'toml_offset'`), so none
    of the 2,500 calls of `toml.loads` (37% of the workload) could be recorded. Loading
    would call the class with the arguments its reduce gives; where they do not bind to
    its signature, the object travels as its raw state."""
    from perfloop.runtime import pickling

    stamp = datetime.datetime(1979, 5, 27, 7, 32, tzinfo=OffsetZone("-08:00"))
    with pytest.raises(TypeError, match="missing 1 required positional argument"):
        pickle.loads(pickle.dumps(stamp))  # the failure perfloop gets past
    copy = pickling.check_loads(pickling.dumps({"owner": {"dob": stamp}}))
    loaded = copy["owner"]["dob"]
    assert type(loaded.tzinfo) is OffsetZone and loaded == stamp
    assert loaded.utcoffset() == datetime.timedelta(hours=-8)


def test_a_visitor_that_keeps_bound_aliases_of_its_target_is_recorded(make_project) -> None:
    # pyflakes 3.2.0: `Checker` binds one method under many names (`EXPR = ASSIGN =
    # handleChildren`) and keeps the bound handlers in `self._nodeHandlers`. The history
    # recorder wrapped each name apart, so `self.EXPR` was a wrapper that
    # `Checker.handleChildren` was not: pickling `self` took it by value, recorder and
    # all, and failed ("cannot pickle 'weakref.ReferenceType' object"). None of
    # handleChildren's 71,211 calls was recorded, 1 of futuresAllowed's 177,435.
    root = make_project(
        {
            "checker.py": """
                class Node:
                    def __init__(self, kind, children=()):
                        self.kind, self.children = kind, list(children)

                class Checker:
                    def __init__(self, tree):
                        self._handlers = {}
                        self.depth = 0
                        self.handleNode(tree)

                    def handler(self, kind):
                        if kind not in self._handlers:
                            self._handlers[kind] = getattr(self, kind.upper())
                        return self._handlers[kind]

                    def handleNode(self, node):
                        self.depth += 1
                        self.handler(node.kind)(node)

                    def handleChildren(self, node):
                        for child in node.children:
                            self.handleNode(child)

                    EXPR = ASSIGN = MODULE = handleChildren

                    def NAME(self, node):
                        pass
            """,
            "bench.py": """
                from checker import Checker, Node

                leaf = lambda: Node("name")
                tree = Node("module", [Node("expr", [leaf(), Node("assign", [leaf()])])] * 20)
                checker = Checker(tree)
                checker.EXPR(tree)  # a step of its history, under an alias
                print(checker.depth)
            """,
        }
    )
    [capture] = capture_calls(
        "python bench.py", root, [FunctionRef("checker", "Checker.handleChildren")]
    ).values()
    assert capture.problem is None
    assert capture.calls_seen == 82 and len(capture.records) == 82
    steps = [step.method for history in capture.histories for step in history.steps]
    assert steps == ["handleChildren"]  # the function's own name, which replay can call


def test_calls_the_used_up_byte_budget_refuses_are_not_pickled_on_and_on(make_project) -> None:
    # pyflakes 3.2.0: each call's `self` (a Checker holding the whole AST) pickles to
    # 300 kB-1 MB; 16 MB kept 24 calls of futuresAllowed, and replacing them with
    # reservoir odds pickled and loaded hundreds more calls of a growing Checker, most of
    # them to be refused. With five such targets the capture run passed 600 s.
    root = make_project(
        {
            "checker.py": """
                class Tree:  # the AST the checker holds; it logs each time it is pickled
                    def __init__(self, size):
                        self.nodes = list(range(1000, 1000 + size))

                    def __getstate__(self):
                        with open("pickles.txt", "a") as log:
                            log.write("x")
                        return self.__dict__

                class Checker:
                    def __init__(self):
                        self.tree = Tree(20_000)

                    def visit(self):  # the tree grows, so later calls pickle bigger
                        self.tree.nodes.extend(range(100))
                        return len(self.tree.nodes)
            """,
            "bench.py": """
                import checker

                c = checker.Checker()
                print(sum(c.visit() for _ in range(2_000)))
            """,
        }
    )
    settings = CaptureSettings(max_bytes=2 * 1024 * 1024)
    [capture] = capture_calls(
        "python bench.py", root, [FunctionRef("checker", "Checker.visit")], settings
    ).values()
    assert capture.calls_seen == 2_000 and capture.records
    pickles = len((root / "pickles.txt").read_text())  # two a call: its inputs, its outcome
    assert pickles <= 120, f"{pickles} pickles of the checker's tree to keep {len(capture.records)}"


def test_a_module_value_whose_getattr_raises_its_own_error_does_not_break_recording(
    make_project,
) -> None:
    # pyasn1 0.6.1: `base.noValue` is a singleton whose __getattr__ raises PyAsn1Error
    # (not AttributeError) for any name. Looking for functions whose defaults hold the
    # target, the recorder asked every module value for `__func__`; the workload died in
    # the recorder and none of the decoder's or encoder's calls was recorded
    root = make_project(
        {
            "codec.py": """
                class Asn1Error(Exception):
                    pass

                class NoValue:
                    def __getattr__(self, attr):
                        raise Asn1Error('Attempted "%s" operation on ASN.1 schema object' % attr)

                noValue = NoValue()

                class Decoder:
                    default = noValue

                    def __call__(self, substrate, value=noValue):
                        return sum(substrate) if value is noValue else value
            """,
            "bench.py": """
                from codec import Decoder

                decode = Decoder()
                print(sum(decode(bytes([i, i + 1])) for i in range(50)))
            """,
        }
    )
    [capture] = capture_calls(
        "python bench.py", root, [FunctionRef("codec", "Decoder.__call__")]
    ).values()
    assert capture.problem is None
    assert len(capture.records) == 50


def test_a_method_reading_an_enum_member_replays(make_project) -> None:
    # pyparsing 3.1.4: `Forward.parseImpl` reads `Diagnostics.warn_on_parse_using_empty_Forward`
    # (a member of an Enum of the module). The recorder kept it as class state and replay
    # put it back with setattr, which an Enum refuses: "recorded call 1 does not load in a
    # process that imported the project afresh (AttributeError: cannot reassign member ...)"
    root = make_project(
        {
            "grammar.py": """
                from enum import Enum

                class Diagnostics(Enum):
                    warn_on_empty = 3

                class flags:
                    warn_on_empty = False

                class Forward:
                    def __init__(self):
                        self.expr = None
                        self.suppressed = []

                    def parse(self, text, loc):
                        if (
                            self.expr is None
                            and flags.warn_on_empty
                            and Diagnostics.warn_on_empty not in self.suppressed
                        ):
                            return -1
                        return loc + len(text)
            """,
            "bench.py": """
                from grammar import Diagnostics, Forward, flags

                flags.warn_on_empty = True
                forward = Forward()
                forward.suppressed.append(Diagnostics.warn_on_empty)
                print(sum(forward.parse("ab" * i, i) for i in range(30)))
            """,
        }
    )
    ref = FunctionRef("grammar", "Forward.parse")
    [capture] = capture_calls("python bench.py", root, [ref]).values()
    assert capture.problem is None and len(capture.records) == 30
    verdict = replay(
        "grammar", "Forward.parse", root / "grammar.py", None, capture.records,
        root=root, limits=Limits(60),
    )  # fmt: skip
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
