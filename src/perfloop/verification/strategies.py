"""Hypothesis strategies and edge cases from the shapes of the captured inputs.

Each shape gives a strategy that stays close to what the workload used (ints
in and just around the seen range, strings over the seen alphabet, lists up to
a little longer than the longest seen, dicts with the seen key types, records
with the seen keys), mixes in the captured values themselves, the literals of
the original's source and their neighbours (where boundaries live), and the
classic edge cases: empty, one element, duplicates, negatives, zero, very
large ints, unicode, NaN and infinities. Hypothesis shrinks towards the start
of each `one_of`, so the plain generated values come first.

`edge_calls` lists explicit examples: the first captured call with one
argument at a time replaced by each edge case of its shape.
"""

from __future__ import annotations

import math
import pickle
from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from perfloop.verification.shapes import (
    AtomShape,
    BytesShape,
    CallForm,
    Constants,
    DictShape,
    FloatShape,
    IntShape,
    OneOf,
    Opaque,
    RecordShape,
    SeqShape,
    Shape,
    StrShape,
    Together,
    TupleShape,
)

Call = tuple[tuple[Any, ...], dict[str, Any]]
Strategy = st.SearchStrategy[Any]

MAX_GENERATED_LEN = 24
UNICODE_EXTRAS = "é ßİı\u00a0ﬁΣς²\t\n😀\x00"
HUGE_INTS = (2**63, -(2**63) - 1, 10**30)
SPECIAL_FLOATS = (0.0, -0.0, math.nan, math.inf, -math.inf, 0.1, 1e-300, 1e300)


def _kind_of(name: str) -> Callable[[list[Any]], Any]:
    return {"list": list, "tuple": tuple, "set": set, "frozenset": frozenset}[name]


class StrategyBuilder:
    """Strategies for shapes, with the source's literals mixed in where the types fit."""

    def __init__(self, constants: Constants | None = None) -> None:
        self.constants = constants or Constants()

    # --- strategies

    def strategy(self, shape: Shape | None) -> Strategy:
        if shape is None:
            return st.none()
        method = getattr(self, "_" + type(shape).__name__)
        return method(shape)  # type: ignore[no-any-return]

    def _IntShape(self, shape: IntShape) -> Strategy:
        span = shape.high - shape.low
        margin = max(2, span // 4)
        interesting = sorted(
            {0, 1, -1, shape.low, shape.high, shape.low - 1, shape.high + 1}
            | {c + d for c in self.constants.ints for d in (-1, 0, 1)}
        )
        return st.one_of(
            st.integers(shape.low - margin, shape.high + margin),
            st.sampled_from(interesting),
        )

    def _FloatShape(self, shape: FloatShape) -> Strategy:
        span = shape.high - shape.low
        low, high = shape.low - max(1.0, span / 4), shape.high + max(1.0, span / 4)
        interesting = [*SPECIAL_FLOATS, shape.low, shape.high, *self.constants.floats]
        interesting += [float(c) for c in self.constants.ints if abs(c) < 2**53]
        options = [
            st.floats(low, high, allow_nan=False, allow_infinity=False),
            st.sampled_from(interesting),
        ]
        if shape.integral and abs(low) < 2**53 and abs(high) < 2**53:
            options.insert(0, st.integers(math.floor(low), math.ceil(high)).map(float))
        return st.one_of(*options)

    def _StrShape(self, shape: StrShape) -> Strategy:
        alphabet = "".join(sorted(set(shape.alphabet + " " + UNICODE_EXTRAS)))
        max_len = min(shape.max_len + 2, MAX_GENERATED_LEN)
        options: list[Strategy] = [st.text(alphabet=alphabet, max_size=max_len)]
        if shape.samples:
            samples = st.sampled_from(shape.samples)
            options.append(samples)
            options.append(_substrings(samples))
        if shape.alphabet:
            options.append(st.text(alphabet=shape.alphabet, max_size=max_len))
        if self.constants.strs:
            options.append(st.sampled_from(self.constants.strs))
            pieces = _literal_pieces(self.constants.strs)
            options.append(st.lists(st.sampled_from(pieces), min_size=1, max_size=3).map("".join))
        return st.one_of(*options)

    def _BytesShape(self, shape: BytesShape) -> Strategy:
        options = [st.binary(max_size=min(shape.max_len + 2, MAX_GENERATED_LEN))]
        if shape.samples:
            options.append(st.sampled_from(shape.samples))
        return st.one_of(*options)

    def _AtomShape(self, shape: AtomShape) -> Strategy:
        return st.booleans() if shape.kind == "bool" else st.none()

    def _SeqShape(self, shape: SeqShape) -> Strategy:
        item = self.strategy(shape.item) if shape.item is not None else st.integers(-3, 3)
        max_len = min(shape.max_len + 2, MAX_GENERATED_LEN)
        kind = _kind_of(shape.kind)
        if shape.kind in ("set", "frozenset"):
            return st.lists(item, max_size=max_len).map(lambda xs: kind(_hashable(xs)))
        with_duplicate = st.lists(item, min_size=1, max_size=max_len).map(lambda xs: xs + xs[:1])
        return st.one_of(st.lists(item, max_size=max_len), with_duplicate).map(kind)

    def _TupleShape(self, shape: TupleShape) -> Strategy:
        return st.tuples(*(self.strategy(item) for item in shape.items))

    def _DictShape(self, shape: DictShape) -> Strategy:
        key = self.strategy(shape.key) if shape.key is not None else st.text(max_size=3)
        value = self.strategy(shape.value) if shape.value is not None else st.none()
        max_len = min(shape.max_len + 2, MAX_GENERATED_LEN)
        return st.lists(st.tuples(key, value), max_size=max_len).map(_dict_of_hashable)

    def _RecordShape(self, shape: RecordShape) -> Strategy:
        return st.fixed_dictionaries({name: self.strategy(field) for name, field in shape.fields})

    def _OneOf(self, shape: OneOf) -> Strategy:
        return st.one_of(*(self.strategy(option) for option in shape.options))

    def _Opaque(self, shape: Opaque) -> Strategy:
        if not shape.samples:  # no captured value could be serialised: nothing to draw from
            return st.nothing()
        return st.sampled_from(shape.samples).map(pickle.loads)

    def call_strategy(self, forms: list[CallForm]) -> Strategy | None:
        """(args, kwargs) in any of the captured call forms; None when no form can be
        generated (an argument whose captured values could not be serialised)."""

        def form_strategy(form: CallForm) -> Strategy:
            def alone(place: int | str, shape: Shape) -> Strategy:
                return st.none() if form.drawn_together(place) else self.strategy(shape)

            args = st.tuples(*(alone(i, shape) for i, shape in enumerate(form.args)))
            kwargs = st.fixed_dictionaries(
                {name: alone(name, shape) for name, shape in form.kwargs}
            )
            if not form.together:
                return st.tuples(args, kwargs)
            groups = st.tuples(
                *(st.sampled_from(group.samples).map(pickle.loads) for group in form.together)
            )
            return st.tuples(args, kwargs, groups).map(
                lambda drawn: _put_together(*drawn, form.together)
            )

        strategies = [form_strategy(form) for form in forms]
        drawable = [strategy for strategy in strategies if not strategy.is_empty]
        return st.one_of(*drawable) if drawable else None

    # --- edge cases

    def edges(self, shape: Shape | None) -> list[Any]:
        """Explicit edge values of a shape; [] for shapes without any."""
        if isinstance(shape, IntShape):
            values = [0, 1, -1, shape.low - 1, shape.high + 1, *HUGE_INTS]
            return values + [c + d for c in self.constants.ints[:8] for d in (-1, 0, 1)]
        if isinstance(shape, FloatShape):
            return [*SPECIAL_FLOATS, -1.0, *self.constants.floats[:8]]
        if isinstance(shape, StrShape):
            sample = shape.samples[0] if shape.samples else "ab"
            first = sample[:1] or "a"
            return [
                "",
                first,
                " ",
                first + first,
                f"  {sample}  ",
                sample.upper(),
                "ß",
                "İ",
                "²",
                "😀",
                sample + sample,
                *self.constants.strs[:8],
                *[c for c in _literal_pieces(self.constants.strs) if len(c) == 1][:12],
            ]
        if isinstance(shape, BytesShape):
            return [b"", b"\x00", b"\xff" * 3]
        if isinstance(shape, SeqShape):
            kind = _kind_of(shape.kind)
            item_edges = self.edges(shape.item)[:6] if shape.item is not None else []
            values = [kind([])]
            for item in item_edges:
                values.append(_maybe(kind, [item]))
            if item_edges and shape.kind in ("list", "tuple"):
                values.append(kind([item_edges[0], item_edges[0]]))
                values.append(kind(item_edges[:4]))
                values.append(kind(list(reversed(item_edges[:4]))))
            return [v for v in values if v is not None]
        if isinstance(shape, DictShape):
            return [{}]
        if isinstance(shape, RecordShape):
            return []  # its fields' edges come through the generated records
        if isinstance(shape, OneOf):
            return [edge for option in shape.options for edge in self.edges(option)[:6]]
        if isinstance(shape, TupleShape):
            return []
        if isinstance(shape, AtomShape):
            return [None] if shape.kind == "none" else [True, False]
        return []

    def edge_calls(self, base: Call, form: CallForm, limit: int = 60) -> list[Call]:
        """The base call with one argument at a time replaced by each of its edge cases."""
        calls: list[Call] = []
        args, kwargs = base
        for index, shape in enumerate(form.args):  # not one of arguments drawn together:
            for value in self.edges(shape) if not form.drawn_together(index) else ():
                calls.append(((*args[:index], value, *args[index + 1 :]), dict(kwargs)))
        for name, shape in form.kwargs:  # replacing it would cut what ties them
            for value in self.edges(shape) if not form.drawn_together(name) else ():
                calls.append((tuple(args), {**kwargs, name: value}))
        return calls[:limit]


def _put_together(
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    groups: tuple[tuple[Any, ...], ...],
    together: tuple[Together, ...],
) -> Call:
    """The call with each group's places filled from its one drawn sample."""
    placed = list(args)
    named = dict(kwargs)
    for group, values in zip(together, groups):
        for place, value in zip(group.places, values):
            if isinstance(place, int):
                placed[place] = value
            else:
                named[place] = value
    return tuple(placed), named


def _literal_pieces(literals: tuple[str, ...]) -> list[str]:
    """The source's short string literals and each character of the shortest ones: a
    literal tested with `in` is a set of characters, and the boundaries are the single
    characters. pycodestyle 2.14's rewrite of `module_imports_on_top_of_file` (PR 1292)
    raises IndexError on the logical line `u` (one of its prefixes 'uUbB'), and treats
    `br"..."` as no docstring; the original's literals are 'uUbB' and 'rR'."""
    shortest = sorted((literal for literal in literals if 1 < len(literal) <= 8), key=len)
    chars = [c for literal in shortest for c in literal]
    return list(dict.fromkeys([*chars, *literals]))


def _substrings(samples: Strategy) -> Strategy:
    return st.tuples(samples, st.integers(0, 200), st.integers(0, 200)).map(
        lambda t: t[0][min(t[1], t[2]) : max(t[1], t[2])]
    )


def _hashable(values: list[Any]) -> list[Any]:
    kept = []
    for value in values:
        try:
            hash(value)
        except TypeError:
            continue
        kept.append(value)
    return kept


def _dict_of_hashable(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    result: dict[Any, Any] = {}
    for key, value in pairs:
        try:
            result[key] = value
        except TypeError:
            continue
    return result


def _maybe(kind: Callable[[list[Any]], Any], items: list[Any]) -> Any:
    try:
        return kind(items)
    except TypeError:
        return None
