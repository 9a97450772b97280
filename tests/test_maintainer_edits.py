"""Real maintainers' performance edits, in the shapes their libraries have, through verify.

Each case is written like the library code that showed the problem (see
docs/real_libraries.md, "Real maintainers' edits through verify and bench"):
- toolz 0.9.0's `join(leftkey, leftseq, rightkey, rightseq)`: a generator whose key
  arguments are callbacks (lambdas). Fuzzing drew them from samples pickled with plain
  pickle, which refuses lambdas, and stopped after 2 inputs with "InvalidArgument".
- packaging 26.2's `Tag`: `__slots__` and a `__getstate__` that reads the slots. The
  `self` that `Tag.__init__` receives has none of them yet, so none of its 220000 calls
  could be recorded ("its arguments cannot be pickled").
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.cli.main import main
from perfloop.model import Candidate, FunctionRef, Limits, VerdictStatus
from perfloop.verification import FuzzSettings, VerifySettings, prepare_target, verify_candidate

LIB = """
def groupby(key, seq):
    d = {}
    for item in seq:
        d.setdefault(key(item), []).append(item)
    return d


def join(leftkey, leftseq, rightkey, rightseq, left_default="__no__default__"):
    d = groupby(leftkey, leftseq)
    left_default_is_no_default = left_default == "__no__default__"
    for item in rightseq:
        key = rightkey(item)
        try:
            left_matches = d[key]
            for match in left_matches:
                yield (match, item)
        except KeyError:
            if not left_default_is_no_default:
                yield (left_default, item)


class Tag:
    __slots__ = ["_interpreter", "_abi", "_platform", "_hash"]

    def __init__(self, interpreter, abi, platform):
        self._interpreter = interpreter.lower()
        self._abi = abi.lower()
        self._platform = platform.lower()
        self._hash = hash((self._interpreter, self._abi, self._platform))

    def __eq__(self, other):
        if not isinstance(other, Tag):
            return NotImplemented
        return (self._hash == other._hash and self._platform == other._platform
                and self._abi == other._abi and self._interpreter == other._interpreter)

    def __hash__(self):
        return self._hash

    def __getstate__(self):
        return (self._interpreter, self._abi, self._platform)

    def __setstate__(self, state):
        self._interpreter, self._abi, self._platform = state
        self._hash = hash(state)
"""

BENCH = """
from lib import Tag, join

people = [(i, "p%d" % i, i % 7) for i in range(40)]
cities = [(k, "c%d" % k) for k in range(0, 9, 2)]
print(list(join(lambda p: p[2], people, lambda c: c[0], cities)))
print(list(join(lambda p: p[2], people, lambda c: c[0], cities, left_default=None)))
print([str(Tag("CP311", "abi3", p).__hash__() > 0) for p in ("linux", "win32", "macos")])
"""

FAST_JOIN = LIB.replace(
    """        try:
            left_matches = d[key]
            for match in left_matches:
                yield (match, item)
        except KeyError:
            if not left_default_is_no_default:
                yield (left_default, item)""",
    """        if key in d:
            for left_match in d[key]:
                yield (left_match, item)
        elif not left_default_is_no_default:
            yield (left_default, item)""",
)
LIMITS = Limits(wall_seconds=60, memory_mb=1024)
pytestmark = pytest.mark.slow  # each records a real workload and runs the tiers on it
TIERS = VerifySettings(tiers=("replay", "fuzz"), fuzz=FuzzSettings(60, 15.0))


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("edits")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    return root


def verdict_for(root: Path, qualname: str, source: str):  # type: ignore[no-untyped-def]
    ref = FunctionRef("lib", qualname)
    capture = capture_calls("python bench.py", root, [ref])[ref]
    assert capture.problem is None, capture.problem
    assert capture.records
    plan = prepare_target(ref, "lib.py", LIB, capture, root=root, settings=TIERS, limits=LIMITS)
    candidate = Candidate(ref, "test", "test", source, "", "lib.py")
    return verify_candidate(candidate, plan, root=root, limits=LIMITS)


def test_a_generator_taking_lambdas_is_fuzzed_with_them(project: Path) -> None:
    verdict = verdict_for(project, "join", FAST_JOIN)
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    fuzz = next(run for run in verdict.runs if run.tier == "fuzz")
    assert fuzz.outcome == "same" and fuzz.inputs >= 30, fuzz
    assert fuzz.note is None or "stopped early" not in fuzz.note


def test_fuzzing_with_the_recorded_callbacks_finds_what_replay_cannot(project: Path) -> None:
    # wrong only where the right sequence repeats an item: the workload's never does
    wrong = FAST_JOIN.replace("for item in rightseq:", "for item in dict.fromkeys(rightseq):")
    verdict = verdict_for(project, "join", wrong)
    assert verdict.status is VerdictStatus.DIFFERENT, verdict.reason
    assert verdict.difference is not None and verdict.difference.tier == "fuzz"


def test_init_of_a_class_whose_getstate_reads_what_init_sets_is_recorded(
    project: Path,
) -> None:
    faster = LIB.replace(
        "self._hash = hash((self._interpreter, self._abi, self._platform))",
        "self._hash = hash((self._interpreter, self._abi, self._platform))  # same",
    )
    verdict = verdict_for(project, "Tag.__init__", faster)
    assert verdict.status is VerdictStatus.EQUIVALENT, verdict.reason
    assert verdict.calls_checked == 3


def test_a_wrong_init_of_that_class_is_caught(project: Path) -> None:
    wrong = LIB.replace("self._platform = platform.lower()", "self._platform = platform")
    verdict = verdict_for(project, "Tag.__init__", wrong)
    assert verdict.status is VerdictStatus.DIFFERENT, verdict.reason


# python-dateutil 16561fc: `_ymd.resolve_ymd` builds the dict of string indexes once and
# passes it to `_resolve_from_stridxs`, which gets a `strids` parameter for it
YMD = """
class _ymd(list):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.ystridx = self.mstridx = self.dstridx = None

    def _resolve_from_stridxs(self):
        strids = {"y": self.ystridx, "m": self.mstridx, "d": self.dstridx}
        strids = {key: strids[key] for key in strids if strids[key] is not None}
        out = {"y": None, "m": None, "d": None}
        out.update({key: self[strids[key]] for key in strids})
        return (out["y"], out["m"], out["d"])

    def resolve_ymd(self):
        strids = {"y": self.ystridx, "m": self.mstridx, "d": self.dstridx}
        strids = {key: strids[key] for key in strids if strids[key] is not None}
        if len(self) == len(strids) > 0:
            return self._resolve_from_stridxs()
        return tuple(self) + (None,) * (3 - len(self))
"""

YMD_BENCH = """
from ymd import _ymd

for values, m in [([2003, 9, 25], 1), ([25, 9], None), ([7], 0)]:
    ymd = _ymd(values)
    ymd.mstridx = m
    if m is not None and len(values) == 1:
        print(ymd.resolve_ymd())
    ymd.ystridx, ymd.dstridx = (0, 2) if len(values) == 3 else (None, None)
    print(ymd.resolve_ymd())
"""

YMD_COMMIT = """
    def _resolve_from_stridxs(self, strids):
        out = {key: self[strids[key]] for key in strids}
        return (out.get("y"), out.get("m"), out.get("d"))

    def resolve_ymd(self):
        strids = (("y", self.ystridx), ("m", self.mstridx), ("d", self.dstridx))
        strids = {key: val for key, val in strids if val is not None}
        if len(self) == len(strids) > 0:
            return self._resolve_from_stridxs(strids)
        return tuple(self) + (None,) * (3 - len(self))
"""


def test_a_method_and_the_method_it_calls_changed_together_verify(make_project) -> None:
    import perfloop

    root = make_project({"ymd.py": YMD, "bench.py": YMD_BENCH})
    result = perfloop.verify(
        "ymd:_ymd.resolve_ymd",
        YMD_COMMIT,
        workload="python bench.py",
        root=root,
        tiers=("replay", "fuzz"),
        mutants=0,
    )
    assert result.decision.value == "equivalent", result.reason
    assert any("replaced: _ymd._resolve_from_stridxs" in note for note in result.notes)


# pyparsing 3.1.4's `ParseResults`: `__slots__`, a `__getstate__` that leaves `_modal` out,
# `__getnewargs__`, and a `__getattr__` that answers "" for a name it does not hold. A copy
# loaded from its own pickling had no `_modal`, so a method reading it read "" where the
# workload's object held True: replaying the original did not reproduce its calls, and
# timing ran every read of `_modal` through `__getattr__` (the maintainer's 1.8x faster
# `copy()`, pyparsing 9c01808, timed 0.66x).
RESULTS = """
class Results:
    __slots__ = ("_toklist", "_name", "_modal")

    def __new__(cls, toklist=None, name=None, **kwargs):
        self = object.__new__(cls)
        self._toklist = list(toklist or [])
        self._name = name
        return self

    def __init__(self, toklist=None, name=None, modal=True):
        self._modal = modal

    def __getattr__(self, name):
        if name.startswith("__"):
            raise AttributeError(name)
        return ""

    def __getstate__(self):
        return (self._toklist, self._name)

    def __setstate__(self, state):
        self._toklist, self._name = state

    def __getnewargs__(self):
        return self._toklist, self._name

    def copy(self):
        ret = Results(self._toklist)
        ret._name = self._name
        return ret

    def describe(self):
        return (self._name, self._modal, len(self._toklist))
"""

RESULTS_BENCH = """
from results import Results

found = [Results(["a", str(i)], name="n%d" % i, modal=i % 2 == 0) for i in range(6)]
print([r.describe() for r in found], [r.copy().describe() for r in found])
"""

RESULTS_COPY_9C01808 = """
    def copy(self):
        ret = object.__new__(Results)
        ret._toklist = self._toklist[:]
        ret._name = self._name
        ret._modal = self._modal
        return ret
"""


def test_an_attribute_its_getstate_leaves_out_is_replayed_as_the_workload_had_it(
    make_project,
) -> None:
    import perfloop

    root = make_project({"results.py": RESULTS, "bench.py": RESULTS_BENCH})
    faster = RESULTS.replace(
        "return (self._name, self._modal, len(self._toklist))",
        "toklist = self._toklist\n        return (self._name, self._modal, len(toklist))",
    )
    result = perfloop.verify(
        "results:Results.describe",
        faster,
        workload="python bench.py",
        root=root,
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision.value == "equivalent", result.reason
    wrong = RESULTS.replace("self._modal, len", "True, len")
    result = perfloop.verify(
        "results:Results.describe",
        wrong,
        workload="python bench.py",
        root=root,
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision.value == "different", result.reason


def test_the_maintainers_copy_that_skips_the_constructor_verifies(make_project) -> None:
    import perfloop

    root = make_project({"results.py": RESULTS, "bench.py": RESULTS_BENCH})
    result = perfloop.verify(
        "results:Results.copy",
        RESULTS_COPY_9C01808,
        workload="python bench.py",
        root=root,
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision.value == "equivalent", result.reason


# construct 2.10.63's "bits2bytes ... reimplemented, faster" (5d96857): the module's
# table of bit strings maps to ints instead of one-byte strings, and the function builds
# `bytes(...)` of them instead of joining. The table is a dict the function reads, so it
# is recorded as state, and the recorded one (bytes values) was put back, in place, into
# the candidate's module before each replayed call: "raised TypeError: 'bytes' object
# cannot be interpreted as an integer, where the original returned b'\x00\x0b\x16'".
BITS = """
BYTES2BITS = {i: bytes((i >> k) & 1 for k in range(7, -1, -1)) for i in range(256)}


def bytes2bits(data):
    return b"".join(BYTES2BITS[b] for b in data)


BITS2BYTES = {bytes2bits(bytes([i])): bytes([i]) for i in range(256)}
def bits2bytes(data):
    if len(data) & 7:
        raise ValueError("data length must be a multiple of 8")
    return b"".join(BITS2BYTES[data[i:i+8]] for i in range(0, len(data), 8))
"""

BITS_BENCH = """
from bits import bits2bytes, bytes2bits

for n in range(40):
    raw = bytes((n * 37 + k * 11) % 256 for k in range(n % 5))
    assert bits2bytes(bytes2bits(raw)) == raw
print("ok")
"""

BITS2BYTES_5D96857 = """
BITS2BYTES = {bytes2bits(bytes([i])): i for i in range(256)}
def bits2bytes(data):
    if len(data) & 7:
        raise ValueError("data length must be a multiple of 8")
    return bytes(BITS2BYTES[data[i:i+8]] for i in range(0, len(data), 8))
"""


def test_a_constant_the_edit_changed_is_the_candidates_own_in_replay(make_project) -> None:
    import perfloop

    root = make_project({"bits.py": BITS, "bench.py": BITS_BENCH})
    result = perfloop.verify(
        "bits:bits2bytes",
        BITS2BYTES_5D96857,
        workload="python bench.py",
        root=root,
        tiers=("replay", "fuzz"),
        mutants=0,
    )
    assert result.decision.value == "equivalent", result.reason
    assert any("replaced: BITS2BYTES" in note for note in result.notes)
    # the same new table, read wrongly: still caught
    wrong = BITS2BYTES_5D96857.replace("range(0, len(data), 8)", "range(0, len(data) - 8, 8)")
    result = perfloop.verify(
        "bits:bits2bytes",
        wrong,
        workload="python bench.py",
        root=root,
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision.value == "different", result.reason


# construct 2.10.64's `VarInt`: `@singleton` (which returns `VarInt()`) leaves the module's
# `VarInt` the one instance of its class, and `_build(self, obj, stream, context, path)`
# writes to a stream, with a parsing context that holds itself (`_root`). perfloop said
# "VarInt._build is a method, not a Python function"; found, its `self` could not be
# pickled (the class is not what its name holds, and by value cloudpickle met a lock);
# recorded, describing the context's type raised RecursionError in the workload.
SINGLETON = """
import io
import threading

_LOCK = threading.RLock()


def singleton(arg):
    return arg()


class Construct:
    def __init__(self):
        self.name = None
        self.flagbuildnone = False

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, attrs):
        for name, value in attrs.items():
            setattr(self, name, value)

    def build(self, obj):
        with _LOCK:
            stream = io.BytesIO()
            context = {"_building": True}
            context["_root"] = context
            self._build(obj, stream, context, "(building)")
            return stream.getvalue()


@singleton
class VarInt(Construct):
    def _build(self, obj, stream, context, path):
        if obj < 0:
            raise ValueError(f"VarInt cannot build from negative number {obj}")
        x = obj
        while x > 0b01111111:
            stream.write(bytes([0b10000000 | (x & 0b01111111)]))
            x >>= 7
        stream.write(bytes([x]))
        return obj
"""

SINGLETON_BENCH = """
from varint import VarInt

print([VarInt.build(n * 977) for n in range(60)])
"""

VARINT_BUILD_9A25017 = """
@singleton
class VarInt(Construct):
    def _build(self, obj, stream, context, path):
        if obj < 0:
            raise ValueError(f"VarInt cannot build from negative number {obj}")
        x = obj
        B = bytearray()
        while x > 0b01111111:
            B.append(0b10000000 | (x & 0b01111111))
            x >>= 7
        B.append(x)
        stream.write(bytes(B))
        return obj
"""


def test_a_method_of_a_class_its_module_binds_to_its_one_instance(make_project) -> None:
    import perfloop

    root = make_project({"varint.py": SINGLETON, "bench.py": SINGLETON_BENCH})
    result = perfloop.verify(
        "varint:VarInt._build",
        VARINT_BUILD_9A25017,
        workload="python bench.py",
        root=root,
        tiers=("replay", "fuzz"),
        mutants=0,
    )
    assert result.decision.value == "equivalent", result.reason
    assert result.calls_recorded == 60
    wrong = VARINT_BUILD_9A25017.replace("        B.append(x)\n", "")
    result = perfloop.verify(
        "varint:VarInt._build",
        wrong,
        workload="python bench.py",
        root=root,
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision.value == "different", result.reason
    assert "args[2]" in result.reason  # the stream it wrote to (args[0] is self)


TREEBUILDER = """
def getETreeBuilder(ElementTreeImplementation):
    ElementTree = ElementTreeImplementation

    class Element:
        def __init__(self, name):
            self._element = ElementTree.Element(name)

        def _getAttributes(self):
            return self._element.attrib

        def _setAttributes(self, attributes):
            for key in list(self._element.attrib.keys()):
                del self._element.attrib[key]
            for key, value in attributes.items():
                self._element.set(key, value)

        attributes = property(_getAttributes, _setAttributes)

    return locals()
"""
TREEBUILDER_BENCH = """
import xml.etree.ElementTree as ET
from treebuilder import getETreeBuilder

Element = getETreeBuilder(ET)["Element"]
node = Element("a")
node.attributes = {"href": "/x", "title": "t"}
print(sorted(node.attributes.items()))
"""


def test_a_method_of_a_class_a_factory_makes_is_refused_with_the_reason(
    make_project, capsys: pytest.CaptureFixture[str]
) -> None:
    """html5lib 1.0.1 makes its tree builders' classes inside `getETreeBuilder(...)`;
    its 1.1 speed-up of `Element._setAttributes` (b2e4802) is named, as Python names it,
    `getETreeBuilder.<locals>.Element._setAttributes`. perfloop said only "is not a
    function reference; write it as module:qualname", though the user had done just that."""
    root = make_project({"treebuilder.py": TREEBUILDER, "bench.py": TREEBUILDER_BENCH})
    (root / "candidate.py").write_text(
        "def _setAttributes(self, attributes):\n"
        "    self._element.attrib.clear()\n"
        "    self._element.attrib.update(attributes)\n"
    )
    target = "treebuilder:getETreeBuilder.<locals>.Element._setAttributes"
    code = main(["verify", target, "--root", str(root), "--candidate", str(root / "candidate.py"),
                 "--workload", "python bench.py"])  # fmt: skip
    captured = capsys.readouterr()
    said = " ".join((captured.out + captured.err).split())
    assert code == 2
    assert "not a function reference" not in said
    assert "is made by a call to treebuilder:getETreeBuilder (a <locals> name)" in said
    assert "move Element to module level" in said
    assert not (root / ".perfloop").exists()
