"""Fuzzing inputs look like the captured ones, plus their edge cases."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings

from perfloop.verification.shapes import (
    DictShape,
    FloatShape,
    IntShape,
    OneOf,
    Opaque,
    RecordShape,
    SeqShape,
    StrShape,
    TupleShape,
    call_forms,
    infer,
    source_constants,
)
from perfloop.verification.strategies import StrategyBuilder


class Basket:
    def __init__(self, items: list[int]) -> None:
        self.items = items


def test_shapes_record_ranges_alphabets_lengths_and_records() -> None:
    assert infer([3, 9, -2]) == IntShape(-2, 9)
    assert infer([1.0, 2.0]) == FloatShape(1.0, 2.0, integral=True)
    words = infer(["ab", "ba", "abc"])
    assert isinstance(words, StrShape) and words.alphabet == "abc" and words.max_len == 3
    assert infer([[1, 2], [5]]) == SeqShape("list", IntShape(1, 5), 2)
    assert infer([(1, "a"), (2, "b")]) == TupleShape((IntShape(1, 2), infer(["a", "b"])))
    lines = infer([{"sku": "A-1", "qty": 2}, {"sku": "B-2", "qty": 5}])
    assert isinstance(lines, RecordShape) and [name for name, _ in lines.fields] == ["sku", "qty"]
    assert isinstance(infer([{"a": 1}, {"b": 2, "c": 3}]), DictShape)
    assert isinstance(infer([1, None]), OneOf)
    assert isinstance(infer([Basket([1])]), Opaque)


def test_call_forms_group_calls_by_positional_count_and_keywords() -> None:
    forms = call_forms([((1, 2), {}), ((3, 4), {}), ((1,), {"n": 2})])
    assert [(len(f.args), [k for k, _ in f.kwargs], f.calls) for f in forms] == [
        (2, [], 2),
        (1, ["n"], 1),
    ]


def test_source_constants_skip_the_docstring() -> None:
    source = 'def f(x):\n    """Doc."""\n    return x >= 50 and x != 1.5 and x != "VIP"\n'
    constants = source_constants(source, "f")
    assert constants.ints == (50,) and constants.floats == (1.5,) and constants.strs == ("VIP",)


def test_edge_cases_cover_empty_duplicates_negatives_zero_huge_nan_and_unicode() -> None:
    builder = StrategyBuilder()
    ints = builder.edges(IntShape(1, 9))
    assert {0, -1, 2**63} <= set(ints)
    floats = builder.edges(FloatShape(1.0, 2.0, False))
    assert any(math.isnan(f) for f in floats) and math.inf in floats
    assert any(f == 0 and math.copysign(1, f) < 0 for f in floats)
    assert {"", "ß", "😀"} <= set(builder.edges(StrShape("ab", 2, ("ab",))))
    lists = builder.edges(SeqShape("list", IntShape(1, 9), 3))
    assert [] in lists and any(len(x) == 2 and x[0] == x[1] for x in lists)


def test_edge_calls_replace_one_argument_at_a_time() -> None:
    builder = StrategyBuilder()
    form = call_forms([(([1, 2], "ab"), {})])[0]
    calls = builder.edge_calls((([1, 2], "ab"), {}), form)
    assert (([], "ab"), {}) in calls and (([1, 2], ""), {}) in calls


SHAPE = SeqShape("list", IntShape(10, 20), 4)


@settings(max_examples=200, database=None, suppress_health_check=list(HealthCheck))
@given(StrategyBuilder().strategy(SHAPE))
def test_generated_lists_stay_near_the_seen_range_and_length(value: list[int]) -> None:
    assert isinstance(value, list) and len(value) <= 4 + 2 + 1  # +1: the duplicated element
    assert all(isinstance(x, int) for x in value)
    assert all(-2 <= x <= 23 or x in (-1, 0, 1) for x in value)


def test_a_dict_that_holds_itself_has_a_shape_and_its_samples_keep_the_cycle() -> None:
    # construct 2.10's parsing context keeps itself as `_root`: inferring its shape
    # recursed until RecursionError, and fuzzing blamed the candidate for it
    import pickle

    from perfloop.verification.shapes import Opaque, infer

    context: dict[str, object] = {"_building": True}
    context["_root"] = context
    shape = infer([context, context])
    inner = shape
    for _ in range(20):
        if isinstance(inner, Opaque):
            break
        inner = dict(inner.fields)["_root"]  # type: ignore[union-attr]
    assert isinstance(inner, Opaque) and inner.type_name == "dict"
    sample = pickle.loads(inner.samples[0])
    assert sample["_root"] is sample
