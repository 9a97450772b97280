"""drop-typing-cast: `cast(T, X)` from `typing` becomes `X`."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypi_sdists import cached_sdist, unpacked
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.apply import apply_rule
from perfloop.propose.rules.drop_typing_cast import DropTypingCast

RULE = DropTypingCast()


def test_plain_and_module_casts_become_their_argument() -> None:
    before = """
        import typing
        from typing import Optional, Tuple, cast


        def lookup(cache, key, default):
            value = cache.get(key)
            if value is None:
                return typing.cast("Optional[int]", default)
            value = cast(Tuple[int, str, int], value)
            total = cast(int, value[0] + value[2]) * 2
            return (cast(Optional[str], value[1])), total, cast(typing.Any, cast(int | None, total))
        """
    assert rewrite(RULE, before, "lookup") == source(
        """
        import typing
        from typing import Optional, Tuple, cast


        def lookup(cache, key, default):
            value = cache.get(key)
            if value is None:
                return default
            total = (value[0] + value[2]) * 2
            return (value[1]), total, total
        """
    )


def test_an_aliased_typing_module_and_typing_extensions() -> None:
    before = """
        import typing as t
        from typing_extensions import cast


        def first(items):
            return t.cast(t.List[int], items)[0] + cast("int", items[1])
        """
    assert rewrite(RULE, before, "first") == source(
        """
        import typing as t
        from typing_extensions import cast


        def first(items):
            return items[0] + items[1]
        """
    )


def test_a_line_that_only_casts_goes_and_an_emptied_block_passes() -> None:
    before = """
        from typing import cast


        def first(items, strict):
            if strict:
                items = cast(list, items)
            else:
                items = cast("list[int]", items)  # the checker's view
                items = cast(list, (items))
            return items[0]
        """
    assert rewrite(RULE, before) == source(
        """
        from typing import cast


        def first(items, strict):
            if strict:
                pass
            else:
                items = (items)
            return items[0]
        """
    )


UNSAFE = {
    "cast from elsewhere": "from mylib import cast\n\ndef f(x):\n    return cast(int, x)\n",
    "cast rebound in the function": (
        "from typing import cast\n\ndef f(x, cast):\n    return cast(int, x)\n"
    ),
    "cast bound twice in the module": (
        "from typing import cast\ncast = print\n\ndef f(x):\n    return cast(int, x)\n"
    ),
    "a type built by a call": (
        "from typing import cast\n\ndef f(x):\n    return cast(make_type(), x)\n"
    ),
    "keyword arguments": "from typing import cast\n\ndef f(x):\n    return cast(typ=int, val=x)\n",
    "no typing import": "def f(x):\n    return cast(int, x)\n",
}


@pytest.mark.parametrize("before", UNSAFE.values(), ids=UNSAFE.keys())
def test_stays_silent_where_cast_may_not_be_typing_cast(before: str) -> None:
    assert rewrite(RULE, before) is None


CASTING = """
from typing import Dict, List, Optional, cast

def scale(values, factor):
    out = cast(List[float], [])
    for v in cast(List[Optional[float]], values):
        out.append(cast(float, v if v is not None else 0.0) * factor)
    return cast(Dict[str, List[float]], {"scaled": out})
"""


@given(
    st.lists(st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)), max_size=8),
    st.integers(-3, 3),
)
def test_same_result_as_the_original(values: list[float | None], factor: int) -> None:
    original = load(CASTING)
    rewritten = load(rewrite(RULE, CASTING) or "")
    assert outcome(original, values, factor) == outcome(rewritten, values, factor)


def test_fires_on_pyparsings_packrat_lookup(tmp_path: Path) -> None:
    """pyparsing 3.1.4's `ParserElement._parseCache` (23% of a grammar workload's time)
    casts every cache hit to `Tuple[int, ParseResults, int]`: a subscripted generic built
    through typing's cache on each call. The sdist's own core.py, as released."""
    root = unpacked(cached_sdist("pyparsing==3.1.4", "pyparsing-3.1.4.tar.gz"), tmp_path)
    module = cst.parse_module((root / "pyparsing" / "core.py").read_text(encoding="utf-8"))
    result = apply_rule(module, "ParserElement._parseCache", RULE)
    assert result is not None
    assert "cast(" not in result.function_source
    assert "value = value" not in result.function_source
    assert "loc_, result, endloc = value[0], value[1].copy(), value[2]" in result.function_source
    compile(result.module_source, "core.py", "exec")
    # `ret = typing.cast(ParseExpression, ret)`, through `import typing`
    assert apply_rule(module, "ParserElement.__add__", RULE) is None  # no cast there
    assert apply_rule(module, "ParseExpression.copy", RULE) is not None
