"""Generator and iterator arguments are recorded by the items the call took from them.

The shape is pypng 0.20220715's `Writer.write_packed(outfile, rows)` (half of a PNG
workload's time), which takes its rows as a generator: before, none of its calls could
be recorded ("cannot pickle 'generator' object").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import CaptureSettings, capture_calls
from perfloop.model import FunctionRef, Limits, VerdictStatus
from perfloop.patch import splice_function
from perfloop.verification.replay import replay

WRITER = """
import io


class Writer:
    def __init__(self, width):
        self.width = width
        self.rows_written = 0

    def write_packed(self, outfile, rows):
        for row in rows:
            line = bytearray()
            for value in row:
                line.append(value % 256)
            outfile.write(bytes(line))
            self.rows_written += 1
        return self.rows_written


def first_three(values):
    taken = []
    for value in values:
        taken.append(value)
        if len(taken) == 3:
            break
    return taken
"""

BENCH = """
import io

from png import Writer, first_three

for n in range(30):
    writer = Writer(8)
    out = io.BytesIO()
    writer.write_packed(out, ([x * y for x in range(8)] for y in range(n % 7 + 1)))
    print(writer.rows_written, out.getvalue().hex())
    numbers = iter(range(n, n + 10))
    print(first_three(numbers), next(numbers))
    print(first_three(map(str, range(n))))
"""

FASTER_WRITE = """
    def write_packed(self, outfile, rows):
        for row in rows:
            outfile.write(bytes([value % 256 for value in row]))
            self.rows_written += 1
        return self.rows_written
"""
# takes one row less than it was given: the caller's generator is left elsewhere
SHORT_WRITE = """
    def write_packed(self, outfile, rows):
        for index, row in enumerate(rows):
            outfile.write(bytes([value % 256 for value in row]))
            self.rows_written += 1
            if index == 0:
                break
        return self.rows_written
"""
GREEDY_FIRST_THREE = """
def first_three(values):
    return list(values)[:3]
"""


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("project")
    (root / "png.py").write_text(WRITER)
    (root / "bench.py").write_text(BENCH)
    targets = [FunctionRef("png", "Writer.write_packed"), FunctionRef("png", "first_three")]
    captures = capture_calls("python bench.py", root, targets, CaptureSettings(max_calls=20))
    return root, captures


def verdict(root: Path, captures, qualname: str, source: str | None):
    capture = captures[FunctionRef("png", qualname)]
    return replay(
        "png",
        qualname,
        root / "png.py",
        source,
        capture.records,
        root=root,
        limits=Limits(wall_seconds=60),
    )


@pytest.mark.slow
def test_calls_with_generator_and_iterator_arguments_are_recorded(recorded) -> None:
    root, captures = recorded
    for qualname in ("Writer.write_packed", "first_three"):
        capture = captures[FunctionRef("png", qualname)]
        assert capture.problem is None, capture.problem
        # identical calls are kept once: the 20 places go to distinct calls
        assert len(capture.records) == min(20, capture.calls_seen - capture.repeats) > 0
        assert verdict(root, captures, qualname, None).status is VerdictStatus.EQUIVALENT


def test_a_rewrite_that_takes_the_same_items_is_verified(recorded) -> None:
    root, captures = recorded
    source = splice_function(WRITER, "Writer.write_packed", FASTER_WRITE)
    result = verdict(root, captures, "Writer.write_packed", source)
    assert result.status is VerdictStatus.EQUIVALENT, result.reason


def test_a_rewrite_that_takes_fewer_items_is_rejected(recorded) -> None:
    root, captures = recorded
    source = splice_function(WRITER, "Writer.write_packed", SHORT_WRITE)
    result = verdict(root, captures, "Writer.write_packed", source)
    assert result.status is VerdictStatus.DIFFERENT
    assert result.difference is not None


def test_a_rewrite_that_takes_more_items_than_the_original_is_rejected(recorded) -> None:
    root, captures = recorded
    source = splice_function(WRITER, "first_three", GREEDY_FIRST_THREE)
    result = verdict(root, captures, "first_three", source)
    assert result.status is VerdictStatus.DIFFERENT
    assert "IteratorOverrun" in result.difference.description, result.difference


# The shape of mpmath 1.3.0's `PythonMPContext.fdot(ctx, A)`: a method of a context whose
# number classes are made per context at run time, given a generator of those numbers.
# Recording it broke the workload ("'MPContext' object has no attribute '_prec_rounding'"),
# then its `self` pickled but did not load back, then replaying the original differed.
NUMBERS = '''
"""A context of numbers, shaped like mpmath 1.3.0's (ctx_mp_python, ctx_iv, rational)."""


class Real:
    """mpmath's mpf: a slot, its own pickling, a `__new__` that needs nothing."""

    __slots__ = ["_v"]

    def __new__(cls, value=0):
        number = object.__new__(cls)
        number._v = round(value, cls.context.digits)
        return number

    def __getstate__(self):
        return self._v

    def __setstate__(self, value):
        self._v = value

    def __mul__(self, other):
        return self.context.real(self._v * other._v)


class Constant(Real):
    """mpmath's constant: `_v` is a read-only property over the slot, `__setstate__` is
    inherited, and `__new__` needs arguments."""

    def __new__(cls, compute, name):
        constant = object.__new__(cls)
        constant.compute = compute
        constant.name = name
        return constant

    @property
    def _v(self):
        return self.compute(self.context.digits)


class Interval:
    """mpmath's ivmpf: `__new__` asks the context (half loaded while it is unpickled)."""

    def __new__(cls, x=0):
        return cls.context.interval_of(x)


class Rational:
    """mpmath's mpq: `__new__` needs `p`; slots, no pickling of its own."""

    __slots__ = ["_pq"]

    def __new__(cls, p, q=1):
        rational = object.__new__(cls)
        rational._pq = (p, q)
        return rational


def pi_to(digits):
    return round(3.14159265358979, digits)


class ContextBase:
    """mpmath's PythonMPContext: `dot` is a method of a base class in another module."""

    def __init__(self, digits):
        self.digits = digits
        # classes made at run time, one per context, holding it (cloudpickle: by value)
        self.real = type("real", (Real,), {"context": self})
        self.constant = type("constant", (Constant,), {"context": self})
        self.interval = type("interval", (Interval,), {"context": self})
        self.pi = self.constant(pi_to, "pi")
        self.unit = self.interval_of(1)
        self.cache = {3: Rational(1, 3)}

    def interval_of(self, x):
        interval = object.__new__(self.interval)
        interval.bounds = (x - 10**-self.digits, x + 10**-self.digits)
        return interval

    def dot(self, pairs):
        total = []
        for a, b in pairs[: self.limit[0]] if isinstance(pairs, list) else pairs:
            if type(a) is not self.real:
                a = self.real(a)
            total.append(a * b)
        return self.real(sum(t._v for t in total))
'''

CONTEXT = """
from numbers_ctx import ContextBase


class Context(ContextBase):
    limit = [1000]  # class state in a module other than dot's: recorded with each call


context = Context(12)
"""

CONTEXT_BENCH = """
from context_mp import context

nodes = [(context.real(k / 10), context.real(1 / (k + 1))) for k in range(12)]
for n in range(1, 12):
    value = context.dot((w, context.real(x._v * x._v) * context.pi) for x, w in nodes[:n])
    print(n, value._v, context.pi._v)
if type(context.pi).context is not context or type(context.unit).context is not context:
    raise SystemExit("the context's own classes were changed")
"""

FASTER_DOT = """
    def dot(self, pairs):
        real = self.real
        return real(sum(((a if type(a) is real else real(a)) * b)._v for a, b in pairs))
"""
# rounds each product first: another sum
ROUNDED_DOT = """
    def dot(self, pairs):
        real = self.real
        return real(sum(round(a._v * b._v, 3) for a, b in pairs))
"""
DOT = FunctionRef("numbers_ctx", "ContextBase.dot")


@pytest.fixture(scope="module")
def context_recorded(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("context")
    files = {"numbers_ctx.py": NUMBERS, "context_mp.py": CONTEXT, "bench.py": CONTEXT_BENCH}
    for name, text in files.items():
        (root / name).write_text(text)
    # the workload fails if recording changed the context's classes (it did, in mpmath)
    captures = capture_calls("python bench.py", root, [DOT], CaptureSettings(max_calls=20))
    return root, captures[DOT]


def replay_dot(root: Path, capture, source: str | None):
    return replay(
        DOT.module,
        DOT.qualname,
        root / "numbers_ctx.py",
        source,
        capture.records,
        root=root,
        limits=Limits(wall_seconds=60),
    )


def test_a_context_method_given_a_generator_of_its_numbers_is_recorded(context_recorded) -> None:
    root, capture = context_recorded
    assert capture.problem is None, capture.problem
    assert len(capture.records) == capture.calls_seen == 11
    original = replay_dot(root, capture, None)
    assert original.status is VerdictStatus.EQUIVALENT, original.difference


def test_rewrites_of_the_context_method_are_judged_by_what_they_compute(context_recorded) -> None:
    root, capture = context_recorded
    faster = replay_dot(root, capture, splice_function(NUMBERS, DOT.qualname, FASTER_DOT))
    assert faster.status is VerdictStatus.EQUIVALENT, faster.difference
    rounded = replay_dot(root, capture, splice_function(NUMBERS, DOT.qualname, ROUNDED_DOT))
    assert rounded.status is VerdictStatus.DIFFERENT
    assert "_v" in rounded.difference.description or "differ" in rounded.difference.description
