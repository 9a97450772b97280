"""isinstance-abc-fast-path: an exact builtin type answers before the ABC's __instancecheck__."""

from __future__ import annotations

import decimal
import fractions
from pathlib import Path

import libcst as cst
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypi_sdists import cached_sdist, unpacked
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.apply import apply_rule
from perfloop.propose.rules.isinstance_abc_fast_path import IsinstanceAbcFastPath

RULE = IsinstanceAbcFastPath()


def test_names_modules_and_collections_abc_get_their_fast_paths() -> None:
    before = """
        import numbers as n
        from collections import abc
        from collections.abc import Sized
        from numbers import Number


        def classify(a, b, c):
            if not isinstance(a, n.Integral):
                if isinstance(b, abc.Mapping):
                    return None
            s = [x for x in c if isinstance(x, Sized)]
            ok = isinstance(a, n.Real) or b
            return isinstance(a, Number), ok, s
        """
    assert rewrite(RULE, before) == source(
        """
        import numbers as n
        from collections import abc
        from collections.abc import Sized
        from numbers import Number


        def classify(a, b, c):
            if not (type(a) is int or isinstance(a, n.Integral)):
                if type(b) is dict or isinstance(b, abc.Mapping):
                    return None
            s = [x for x in c if type(x) in (list, tuple, dict, set, str) or isinstance(x, Sized)]
            ok = type(a) in (int, float) or isinstance(a, n.Real) or b
            return (type(a) in (int, float, complex) or isinstance(a, Number)), ok, s
        """
    )


UNSAFE = {
    "an attribute, which may be a property": (
        "from numbers import Number\n\ndef f(item):\n    return isinstance(item.value, Number)\n"
    ),
    "a class tuple": (
        "from numbers import Number\n\ndef f(x):\n    return isinstance(x, (Number, str))\n"
    ),
    "an ABC of the same name from elsewhere": (
        "from mylib import Number\n\ndef f(x):\n    return isinstance(x, Number)\n"
    ),
    "the ABC's name rebound in the module": (
        "from numbers import Number\nNumber = float\n\n"
        "def f(x):\n    return isinstance(x, Number)\n"
    ),
    "type rebound in the function": (
        "from numbers import Number\n\ndef f(x, type):\n    return isinstance(x, Number)\n"
    ),
    "int rebound in the module": (
        "from numbers import Integral\nint = float\n\n"
        "def f(x):\n    return isinstance(x, Integral)\n"
    ),
    "typing's alias": (
        "from typing import Mapping\n\ndef f(x):\n    return isinstance(x, Mapping)\n"
    ),
    "no import": "def f(x):\n    return isinstance(x, Number)\n",
}


@pytest.mark.parametrize("before", UNSAFE.values(), ids=UNSAFE.keys())
def test_stays_silent_where_the_fast_path_could_answer_otherwise(before: str) -> None:
    assert rewrite(RULE, before) is None


CHECKS = """
import numbers
from collections.abc import Iterable, Mapping, MutableSequence, Sequence, Set


def kinds(x):
    if isinstance(x, bool):
        return "bool"
    found = []
    for name, cls in [("rational", numbers.Rational)]:
        found.append((name, isinstance(x, cls)))
    return (
        isinstance(x, numbers.Number), isinstance(x, numbers.Real), isinstance(x, numbers.Integral),
        isinstance(x, Mapping), isinstance(x, Sequence), isinstance(x, MutableSequence),
        isinstance(x, Set), not isinstance(x, Iterable), found,
    )
"""


class Registered:
    pass


class MyInt(int):
    pass


class MyDict(dict):
    pass


VALUES = st.one_of(
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.complex_numbers(allow_nan=False),
    st.text(max_size=3),
    st.binary(max_size=3),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.integers()),
    st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.sets(st.integers(), max_size=3),
    st.frozensets(st.integers(), max_size=3),
    st.none(),
    st.builds(decimal.Decimal, st.integers()),
    st.builds(fractions.Fraction, st.integers(), st.integers(1, 9)),
    st.builds(MyInt, st.integers()),
    st.builds(MyDict),
    st.builds(Registered),
    st.builds(range, st.integers(0, 5)),
)


@given(VALUES)
def test_same_answers_as_the_original(value: object) -> None:
    original = load(CHECKS)
    rewritten_source = rewrite(RULE, CHECKS)
    assert rewritten_source is not None and rewritten_source.count("type(x)") == 8
    assert outcome(original, value) == outcome(load(rewritten_source), value)


def test_fires_on_jmespaths_number_check(tmp_path: Path) -> None:
    """jmespath 1.0.1's `_is_actual_number` (960,000 calls, 18% of a query workload's time in
    perfloop's profile) ends in `isinstance(x, Number)`. The sdist's own visitor.py."""
    root = unpacked(cached_sdist("jmespath==1.0.1", "jmespath-1.0.1.tar.gz"), tmp_path)
    module = cst.parse_module((root / "jmespath" / "visitor.py").read_text(encoding="utf-8"))
    result = apply_rule(module, "_is_actual_number", RULE)
    assert result is not None
    assert (
        "return type(x) in (int, float, complex) or isinstance(x, Number)" in result.function_source
    )
    compile(result.module_source, "visitor.py", "exec")
