"""Fuzzing inputs look like the captured ones, plus their edge cases."""

from __future__ import annotations

import enum
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


# A parse tree whose nodes know their parent, and a filter that holds the statement it is
# working on: sqlparse 0.5.1's `ReindentFilter._get_offset(self, token)` is called with a
# token of the statement `self` holds, and looks for it there by identity.
class Node:
    def __init__(self, *children: Node) -> None:
        self.parent: Node | None = None
        self.children = list(children)
        for child in children:
            child.parent = self


class Filter:
    def __init__(self, statement: Node) -> None:
        self.statement = statement


class Kind(enum.Enum):
    WORD = 1


def _leaves(node: Node) -> list[Node]:
    return [node] if not node.children else [x for c in node.children for x in _leaves(c)]


def _tree() -> Node:
    return Node(Node(Node(), Node()), Node())


def test_arguments_that_hold_one_object_are_drawn_together_from_one_call() -> None:
    calls = []
    for _ in range(3):
        statement = _tree()
        for leaf in _leaves(statement):
            calls.append(((Filter(statement), leaf), {}))
    (form,) = call_forms(calls)
    assert [group.places for group in form.together] == [(0, 1)]

    @settings(max_examples=30, suppress_health_check=list(HealthCheck), database=None)
    @given(StrategyBuilder().call_strategy([form]))
    def drawn(call: tuple[tuple[object, ...], dict[str, object]]) -> None:
        (walker, token), _ = call
        assert isinstance(walker, Filter)
        assert any(token is leaf for leaf in _leaves(walker.statement))  # the same object

    drawn()
    # an edge case replaces one argument alone: not one of these
    assert StrategyBuilder().edge_calls(calls[0], form) == []


def test_a_keyword_argument_can_be_drawn_together_with_a_positional_one() -> None:
    statement = _tree()
    (form,) = call_forms([((Filter(statement),), {"token": _leaves(statement)[0]})])
    assert [group.places for group in form.together] == [(0, "token")]


def test_arguments_that_share_only_immutable_or_named_values_are_drawn_apart() -> None:
    word = "select"
    calls = [
        ((Filter(_tree()), _leaves(_tree())[0]), {}),  # two unrelated trees
        (([word, Kind.WORD, math.pi, (1, 2)], [word, Kind.WORD, math.pi, (1, 2)]), {}),
        ((Basket([1]), Basket([2]), 3), {}),
    ]
    assert all(form.together == () for form in call_forms(calls))
