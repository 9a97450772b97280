"""Calls on objects of the workload's own classes are recorded, and the recorded calls
are the project's own.

attrs 25.3.0 (python-attrs/attrs 7369ad9f, "Improve performance of asdict in the
common case"): a workload defines its `@attr.s` classes in the script it runs and calls
`attr.asdict` on them. Plain pickle wrote those instances by the name `__main__.Item`,
which a worker (whose `__main__` is its own) cannot find, so `verify` said "undecided:
... recorded call 1 does not load in a process that imported the project afresh
(AttributeError: Can't get attribute 'Item' on <module 'perfloop.sandbox.worker' ...>)".
And with perfloop's own environment holding another attrs, the workload's `python`
(perfloop's interpreter) imported that one: the calls recorded were of attrs 26.1.0,
not of the project's `src/attr`, and nothing said so.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.capture import capture_calls
from perfloop.model import FunctionRef, Limits, VerdictStatus
from perfloop.project import TargetError
from perfloop.verification.replay import replay

LIMITS = Limits(wall_seconds=30, memory_mb=1024)

LIB = """
def as_dict(obj):
    out = {}
    for name, value in vars(obj).items():
        out[name] = as_dict(value) if hasattr(value, "__dict__") else value
    return out
"""

BENCH = """
import functools

import lib


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Item:
    def __init__(self, name, where):
        self.name = name
        self.where = where


def key(item):
    return item.name


for i in range(3):
    print(lib.as_dict(Item(f"item{i}", Point(i, -i))))
print(sorted([Item("b", None), Item("a", None)], key=key)[0].name)
"""


def test_calls_on_instances_of_the_workloads_own_classes_replay(make_project) -> None:
    root = make_project({"lib.py": LIB, "bench.py": BENCH})
    target = FunctionRef("lib", "as_dict")
    capture = capture_calls("python bench.py", root, [target])[target]
    assert capture.problem is None
    assert len(capture.records) == 6  # three items, each with its point
    original = replay(
        "lib", "as_dict", root / "lib.py", None, capture.records, root=root, limits=LIMITS
    )
    assert original.status is VerdictStatus.EQUIVALENT, original.reason
    assert original.calls_checked == 6
    # and a rewrite that differs on them is told apart, so the objects really loaded
    wrong = LIB.replace("out[name] = as_dict(value)", "out[name.upper()] = as_dict(value)")
    verdict = replay(
        "lib", "as_dict", root / "lib.py", wrong, capture.records, root=root, limits=LIMITS
    )
    assert verdict.status is VerdictStatus.DIFFERENT, verdict.reason
    assert "got {'X': 0, 'Y': 0}" in str(verdict)


def test_a_target_the_workload_imported_from_another_copy_is_refused(
    make_project, tmp_path: Path
) -> None:
    # the project is a src/ layout; the workload's interpreter finds another `lib` first
    other = tmp_path / "elsewhere"
    (other / "lib").mkdir(parents=True)
    (other / "lib" / "__init__.py").write_text(LIB.replace("out = {}", "out = {'copy': 1}"))
    root = make_project(
        {
            "src/lib/__init__.py": LIB,
            "bench.py": f"import sys\nsys.path.insert(0, {str(other)!r})\n{BENCH}",
        }
    )
    target = FunctionRef("lib", "as_dict")
    with pytest.raises(TargetError) as raised:
        capture_calls("python bench.py", root, [target])
    message = str(raised.value)
    assert message.startswith(
        f"the workload imported lib from {(other / 'lib' / '__init__.py').resolve()}, "
        "not from the project's src/lib/__init__.py: `python` in the workload is the "
        "interpreter perfloop runs under"
    ), message
    assert "install perfloop there" in message


TOKENS = """
class _TokenType(tuple):
    # pygments.token's shape: every type knows its parent and its subtypes
    parent = None

    def split(self):
        return list(self)

    def __init__(self, *args):
        self.subtypes = set()

    def __getattr__(self, val):
        if not val or not val[0].isupper():
            return tuple.__getattribute__(self, val)
        new = _TokenType(self + (val,))
        setattr(self, val, new)
        self.subtypes.add(new)
        new.parent = self
        return new


Token = _TokenType()
for first in range(60):
    for second in range(40):
        getattr(getattr(Token, f"K{first}"), f"S{second}")


class Formatter:
    def __init__(self):
        self.classes = {ttype: "-".join(ttype).lower() for ttype in Token.K0.subtypes}

    def css(self, value):
        return self.classes.get(value, "") + "!"
"""

TOKENS_BENCH = """
from tokens import Formatter, Token

formatter = Formatter()
print(sum(len(formatter.css(getattr(Token.K0, f"S{i % 40}"))) for i in range(400)))
"""


def test_the_replayed_outcome_keeps_the_values_a_module_keeps_by_name(make_project) -> None:
    # pygments 2.20.0's HtmlFormatter._translate_parts: its `self` maps token types to CSS
    # classes. The replayed side was round-tripped with plain pickle, which rebuilt every
    # token type with its parent and subtypes (the whole tree), and comparing it with the
    # recorded side (token types by name) walked that tree: 0.6 s a call, and the
    # original's replay "did not finish within 60 s and was killed"
    root = make_project({"tokens.py": TOKENS, "bench.py": TOKENS_BENCH})
    target = FunctionRef("tokens", "Formatter.css")
    capture = capture_calls("python bench.py", root, [target])[target]
    assert len(capture.records) == 40  # the distinct calls
    original = replay(
        "tokens",
        "Formatter.css",
        root / "tokens.py",
        None,
        capture.records,
        root=root,
        limits=Limits(wall_seconds=20, memory_mb=1024),
    )
    assert original.status is VerdictStatus.EQUIVALENT, original.reason
    assert original.calls_checked == 40
