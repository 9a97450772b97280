"""A verified candidate that runs the original's very instructions on the recorded calls
is not timed: its edit is in code those calls never reach, and a timing could show only
noise (pyparsing 3.1.4's `Forward.parseImpl` measured 1.06x-1.07x for a dead-branch edit)."""

from __future__ import annotations

import contextlib
import sys
import textwrap
from pathlib import Path

import libcst as cst
import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.measure.executed import InstructionTrace, only_the_body_differs, target_codes
from perfloop.propose.apply import apply_rule
from perfloop.propose.rules.set_membership import SetMembership

MODULE = textwrap.dedent(
    """
    LIMIT = 3


    def scan(items, strict=False):
        total = 0
        for item in items:
            if item is None and strict:
                names = ("a", "b", "c")
                raise ValueError([n for n in names if n in repr(item)])
            total += item
        return total
    """
)


def _edited(old: str, new: str) -> str:
    assert old in MODULE
    return MODULE.replace(old, new, 1)


DEAD_EDIT = _edited('names = ("a", "b", "c")', 'names = {"a", "b", "c"}')
LIVE_EDIT = _edited("total += item", "total = total + item")


def test_only_an_edit_inside_the_body_counts() -> None:
    assert only_the_body_differs(MODULE, DEAD_EDIT, "scan")
    assert only_the_body_differs(MODULE, LIVE_EDIT, "scan")
    assert not only_the_body_differs(MODULE, MODULE, "scan")  # nothing to compare
    # the same instructions can do other work when what they load changed
    assert not only_the_body_differs(MODULE, _edited("strict=False", "strict=0"), "scan")
    assert not only_the_body_differs(MODULE, _edited("LIMIT = 3", "LIMIT = 4"), "scan")
    assert not only_the_body_differs(MODULE, "import functools\n" + DEAD_EDIT, "scan")
    decorated = _edited("def scan", "@staticmethod\ndef scan")
    assert not only_the_body_differs(MODULE, decorated, "scan")
    assert not only_the_body_differs(MODULE, DEAD_EDIT, "missing")
    assert not only_the_body_differs(MODULE, "def scan(:\n", "scan")


def _function(source: str, name: str = "scan") -> object:
    namespace: dict[str, object] = {}
    exec(compile(source, "<module>", "exec"), namespace)
    return namespace[name]


def _digest(function: object, *args: object) -> bytes:
    with InstructionTrace(target_codes(function)) as trace, contextlib.suppress(ValueError):
        function(*args)  # type: ignore[operator]
    assert trace.complete
    return trace.digest()


def test_a_branch_no_call_takes_leaves_the_instructions_the_same() -> None:
    original, dead, live = (_function(s) for s in (MODULE, DEAD_EDIT, LIVE_EDIT))
    assert _digest(original, [1, 2, 3]) == _digest(dead, [1, 2, 3])
    assert _digest(original, [1, 2, 3]) != _digest(live, [1, 2, 3])
    # a call that takes the branch runs the edit, and its comprehension (a code object
    # of its own) is traced too
    assert _digest(original, [None], True) != _digest(dead, [None], True)
    assert _digest(original, [1, 2]) != _digest(original, [1, 2, 3])


def test_a_dead_edit_that_changes_how_live_code_reads_a_local_differs() -> None:
    """A lambda in a branch never taken makes `total` a cell: every live read of it
    becomes a LOAD_DEREF, slower or faster, though no executed line was edited."""
    cell = _edited(
        'names = ("a", "b", "c")', 'names = ("a", "b", "c")\n            show = lambda: total'
    )
    assert _digest(_function(MODULE), [1, 2, 3]) != _digest(_function(cell), [1, 2, 3])


def test_another_tracer_is_left_alone() -> None:
    def outer(frame: object, event: str, arg: object) -> None:
        return None

    sys.settrace(outer)
    try:
        with InstructionTrace(target_codes(_function(MODULE))) as trace:
            assert sys.gettrace() is outer
    finally:
        sys.settrace(None)
    # before 3.12 a second sys.settrace would replace the first: it does not trace, and
    # says nothing; on 3.12+ it uses sys.monitoring, beside the other tracer
    assert trace.complete is (sys.version_info >= (3, 12))


@pytest.mark.slow
def test_pyparsings_dead_branch_rewrite_is_not_timed_and_a_live_one_is(tmp_path: Path) -> None:
    """pyparsing 3.1.4's `Forward.parseImpl` (the sdist as released): `set-membership`
    rewrites the stack search of its never-assigned-Forward warning, a branch a working
    grammar never takes. Timed, that edit measured 1.064x [1.053, 1.075] in the
    real-library bed; now it is not timed, and says why. An edit of the path every call
    takes is timed as before."""
    root = unpacked(cached_sdist("pyparsing==3.1.4", "pyparsing-3.1.4.tar.gz"), tmp_path)
    core = (root / "pyparsing" / "core.py").read_text(encoding="utf-8")
    rewritten = apply_rule(cst.parse_module(core), "Forward.parseImpl", SetMembership())
    assert rewritten is not None and "parse_fns_set" in rewritten.function_source
    (root / "workload.py").write_text(
        textwrap.dedent(
            """
            import pyparsing as pp

            ident = pp.Word(pp.alphas + "_", pp.alphanums + "_")
            call = pp.Forward()
            operand = call | pp.pyparsing_common.number | ident
            expr = pp.infix_notation(operand, [(pp.one_of("* /"), 2, pp.OpAssoc.LEFT)])
            call <<= pp.Group(ident + pp.Suppress("(") + pp.Optional(expr) + pp.Suppress(")"))
            source = " * ".join(f"f{i}(a{i} / {i})" for i in range(12))
            print(len(expr.parse_string(source, parse_all=True)))
            """
        )
    )
    target = "pyparsing.core:Forward.parseImpl"
    dead = perfloop.bench(
        target, rewritten.function_source, workload="python workload.py", root=root
    )
    assert dead.calls_recorded > 10
    measurement = dead.measurement
    assert measurement.speedup is None and measurement.error is None
    assert measurement.untimed is not None
    assert f"each of its {dead.calls_recorded} recorded calls" in measurement.untimed
    assert "very instructions the original runs" in measurement.untimed
    assert dead.exit_code == 0
    live_source = rewritten.function_source.replace(
        "return super().parseImpl(instring, loc, do_actions)",
        "return ParseElementEnhance.parseImpl(self, instring, loc, do_actions)",
    )
    assert live_source != rewritten.function_source
    live = perfloop.bench(target, live_source, run=dead.run_id, root=root)
    assert live.measurement.untimed is None
    assert live.measurement.speedup is not None, live.measurement.error
