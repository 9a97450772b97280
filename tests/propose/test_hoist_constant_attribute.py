"""hoist-constant-attribute: `Enum.MEMBER` / `Class.CONSTANT` read in a loop, once before it."""

from __future__ import annotations

import textwrap
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import rewrite, source

from perfloop.propose.rules.hoist_constant_attribute import HoistConstantAttribute

RULE = HoistConstantAttribute()

# chardet 5.2.0, chardet/utf8prober.py: UTF8Prober.feed, with the enums of
# chardet/enums.py inlined (MachineState a plain class, ProbingState an Enum) and a
# stand-in state machine.
CHARDET_UTF8_PROBER = """
from enum import Enum


class ProbingState(Enum):
    DETECTING = 0
    FOUND_IT = 1
    NOT_ME = 2


class MachineState:
    START = 0
    ERROR = 1
    ITS_ME = 2


class UTF8Prober:
    def __init__(self, coding_sm):
        self.coding_sm = coding_sm
        self._state = ProbingState.DETECTING
        self._num_mb_chars = 0

    def feed(self, byte_str):
        for c in byte_str:
            coding_state = self.coding_sm.next_state(c)
            if coding_state == MachineState.ERROR:
                self._state = ProbingState.NOT_ME
                break
            if coding_state == MachineState.ITS_ME:
                self._state = ProbingState.FOUND_IT
                break
            if coding_state == MachineState.START:
                if self.coding_sm.get_current_charlen() >= 2:
                    self._num_mb_chars += 1
        return self._state
"""


def test_chardet_utf8_prober_feed() -> None:
    rewritten = rewrite(RULE, CHARDET_UTF8_PROBER, "UTF8Prober.feed")
    assert rewritten is not None
    assert textwrap.dedent(rewritten[rewritten.index("    def feed") :]) == source(
        """
            def feed(self, byte_str):
                MachineState_ERROR = MachineState.ERROR
                ProbingState_NOT_ME = ProbingState.NOT_ME
                MachineState_ITS_ME = MachineState.ITS_ME
                ProbingState_FOUND_IT = ProbingState.FOUND_IT
                MachineState_START = MachineState.START
                for c in byte_str:
                    coding_state = self.coding_sm.next_state(c)
                    if coding_state == MachineState_ERROR:
                        self._state = ProbingState_NOT_ME
                        break
                    if coding_state == MachineState_ITS_ME:
                        self._state = ProbingState_FOUND_IT
                        break
                    if coding_state == MachineState_START:
                        if self.coding_sm.get_current_charlen() >= 2:
                            self._num_mb_chars += 1
                return self._state
        """
    )


class _Machine:
    """Bytes above 0xF0 are errors, 0xEE is "it's me", ASCII starts a character."""

    def __init__(self) -> None:
        self.charlen = 2

    def next_state(self, c: int) -> int:
        return 1 if c > 0xF0 else 2 if c == 0xEE else 0 if c < 0x80 else 3

    def get_current_charlen(self) -> int:
        return self.charlen


def _prober(module_source: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(module_source, "<example>", "exec"), namespace)
    return namespace["UTF8Prober"](_Machine())


@given(st.lists(st.binary(max_size=30), max_size=4))
def test_same_states_and_counts(chunks: list[bytes]) -> None:
    rewritten = rewrite(RULE, CHARDET_UTF8_PROBER, "UTF8Prober.feed")
    assert rewritten is not None
    before, after = _prober(source(CHARDET_UTF8_PROBER)), _prober(rewritten)
    for chunk in chunks:
        assert before.feed(chunk).name == after.feed(chunk).name
        assert before._num_mb_chars == after._num_mb_chars


def _module(loop_body: str, extra: str = "") -> str:
    return (
        "from enums import State\n"
        "import enums\n"
        f"{extra}\n"
        "def f(xs):\n"
        "    n = 0\n"
        "    for x in xs:\n"
        f"{loop_body}"
        "    return n\n"
    )


def test_a_chain_through_an_imported_module() -> None:
    rewritten = rewrite(RULE, _module("        n += x == enums.State.START\n"), "f")
    assert rewritten is not None
    assert "    enums_State_START = enums.State.START\n    n = 0\n" in rewritten
    assert "n += x == enums_State_START" in rewritten


UNSAFE = {
    "not spelled as a constant": _module("        n += x == State.start\n"),
    "a call": _module("        n += State.COUNT()\n"),
    "rebound somewhere in the module": _module(
        "        n += x == State.START\n", "def g():\n    State.START = 3\n"
    ),
    "the root is a module-level variable": _module(
        "        n += x == config.LIMIT\n", "config = object()\n"
    ),
    "the root is local": _module("        State = x\n        n += State.START\n"),
    "module.CONSTANT (hoist-attribute-lookup's)": _module("        n += x == enums.START\n"),
    "setattr in the function": _module(
        "        n += x == State.START\n        setattr(State, 'START', x)\n"
    ),
    "inside a lambda": _module("        g = lambda: State.START\n"),
    "not in a loop": "from enums import State\ndef f(x):\n    return x == State.START\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


def test_where_it_differs_a_missing_constant_and_an_empty_loop() -> None:
    module = "class State:\n    pass\n\ndef f(xs):\n    for x in xs:\n        x == State.GONE\n"
    rewritten = rewrite(RULE, module, "f")
    assert rewritten is not None
    namespace: dict[str, Any] = {}
    exec(compile(source(module), "<before>", "exec"), namespace)
    namespace["f"]([])  # the loop never runs: no lookup
    exec(compile(rewritten, "<after>", "exec"), namespace)
    with pytest.raises(AttributeError):
        namespace["f"]([])
