"""Calls written as Python: the text must evaluate back to the very values, or say it does not."""

from __future__ import annotations

import math

import pytest

from perfloop.verification.compare import compare_values
from perfloop.verification.pasteable import call_source, value_source

INF = math.inf


@pytest.mark.parametrize(
    "value",
    [
        math.nan,  # humanize 4.9.0 naturalsize(nan): repr gives `nan`, a NameError when pasted
        INF,
        -INF,
        -0.0,
        1e300,
        complex(math.nan, 1.0),
        [math.nan, (INF,), {"k": -INF}, {1.5}, frozenset({-0.0})],
        (),
        (math.nan,),
        set(),
        frozenset(),
        {"quote's": 'and "double"'},
        b"\x00bytes",
        None,
        True,
    ],
)
def test_the_source_of_a_builtin_value_evaluates_back_to_it(value: object) -> None:
    text = value_source(value)
    assert compare_values(value, eval(text, {"__builtins__": __builtins__})) is None, text
    assert call_source("f", (value,), {"x": value}).exact


class Opaque:
    """An object whose repr is `<...Opaque object at 0x...>`: not Python."""


def test_a_call_whose_arguments_have_no_python_form_is_marked_not_pasteable() -> None:
    loop: list[object] = []
    loop.append(loop)
    for args in [(Opaque(),), (loop,), ([1, Opaque()],)]:
        written = call_source("f", args, {})
        assert not written.exact, written.text
    assert call_source("f", (math.nan,), {}).text == "f(float('nan'))"
    assert call_source("f", (), {"size": -INF}).text == "f(size=-float('inf'))"


def test_a_value_too_long_to_show_is_cut_and_not_pasteable() -> None:
    written = call_source("f", (list(range(5000)),), {})
    assert written.text.endswith("...)") and not written.exact
