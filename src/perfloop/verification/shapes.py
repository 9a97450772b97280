"""What the captured inputs of a target look like: their types, ranges, alphabets and sizes.

Fuzzing (tier 2) generates new inputs "like the ones the workload made, and
their edge cases". This module describes the captured values as shapes (plain
frozen data: an int range, a string alphabet, a list of some item shape with a
maximal length, a dict with fixed keys...), one per parameter of each call
form seen. `perfloop.verification.strategies` turns shapes into Hypothesis strategies.
Values of other types (instances of the user's classes, numpy arrays) become
`Opaque`: the captured values themselves, replayed as they are.

It runs in the worker (the values are unpickled there only), except
`source_constants`, which reads the original's source text.
"""

from __future__ import annotations

import ast
import contextlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from perfloop.qualnames import find_function
from perfloop.runtime import pickling

MAX_SAMPLES = 20  # captured values kept per shape for sampling
MAX_SAMPLE_BYTES = 20_000  # a captured value bigger than this, pickled, is not sampled
MAX_FIXED_TUPLE = 6  # tuples always this long or shorter are records, not sequences
MAX_RECORD_KEYS = 16
# containers nested deeper are sampled whole (Opaque): a dict that holds itself (construct
# 2.10's parsing context keeps itself as `_root`) otherwise recursed until RecursionError
MAX_DEPTH = 8
_TOGETHER_LOOKED_AT = 5  # calls of a form looked at for arguments that hold one object
_CONTAINER_TYPES = (list, tuple, set, frozenset, dict)


@dataclass(frozen=True)
class IntShape:
    low: int
    high: int


@dataclass(frozen=True)
class FloatShape:
    low: float
    high: float
    integral: bool  # every finite value seen was a whole number


@dataclass(frozen=True)
class StrShape:
    alphabet: str
    max_len: int
    samples: tuple[str, ...]


@dataclass(frozen=True)
class BytesShape:
    max_len: int
    samples: tuple[bytes, ...]


@dataclass(frozen=True)
class AtomShape:
    """None or bool."""

    kind: str  # "none" | "bool"


@dataclass(frozen=True)
class SeqShape:
    kind: str  # "list" | "tuple" | "set" | "frozenset"
    item: Shape | None  # None: only empty ones were seen
    max_len: int


@dataclass(frozen=True)
class TupleShape:
    items: tuple[Shape, ...]


@dataclass(frozen=True)
class DictShape:
    key: Shape | None
    value: Shape | None
    max_len: int


@dataclass(frozen=True)
class RecordShape:
    """A dict that always had the same string keys: a record."""

    fields: tuple[tuple[str, Shape], ...]


@dataclass(frozen=True)
class OneOf:
    options: tuple[Shape, ...]


@dataclass(frozen=True)
class Opaque:
    """Values perfloop does not generate: the captured ones, pickled."""

    type_name: str
    samples: tuple[bytes, ...]


Shape = (
    IntShape
    | FloatShape
    | StrShape
    | BytesShape
    | AtomShape
    | SeqShape
    | TupleShape
    | DictShape
    | RecordShape
    | OneOf
    | Opaque
)


@dataclass(frozen=True)
class Together:
    """Arguments that held one same object in the workload's calls, drawn together: the
    values of `places` (positions, keyword names) in one recorded call, pickled as one so
    the object stays one. Drawn apart, each holds its own copy of it, and the call made of
    them is one no caller makes: sqlparse 0.5.1's `ReindentFilter._get_offset(self,
    token)` looks for `token` by identity in the statement `self` holds, and fuzzing a
    maintainer's correct rewrite (a51df6d) with `self` of one call and `token` of another
    read DIFFERENT."""

    places: tuple[int | str, ...]
    samples: tuple[bytes, ...]


@dataclass(frozen=True)
class CallForm:
    """One way the function was called: positional shapes and keyword shapes, and the
    arguments that are drawn together (their own shapes then give only edge cases)."""

    args: tuple[Shape, ...]
    kwargs: tuple[tuple[str, Shape], ...]
    calls: int  # how many captured calls had this form
    together: tuple[Together, ...] = ()

    def drawn_together(self, place: int | str) -> bool:
        return any(place in group.places for group in self.together)


@dataclass(frozen=True)
class Constants:
    """Literals in the original's source: boundaries a rewrite is likely to get wrong."""

    ints: tuple[int, ...] = ()
    floats: tuple[float, ...] = ()
    strs: tuple[str, ...] = ()

    def joined(self, other: Constants) -> Constants:
        """These and `other`'s (a candidate's literals: its boundaries count as much)."""
        return Constants(
            tuple(sorted({*self.ints, *other.ints})),
            tuple(sorted({*self.floats, *other.floats})),
            tuple(sorted({*self.strs, *other.strs}))[:40],
        )


def infer(values: Sequence[object], depth: int = 0) -> Shape | None:
    """The shape of a list of values seen in one place; None for an empty list. Below
    MAX_DEPTH levels, containers are samples of an opaque shape."""
    if not values:
        return None
    groups: dict[type, list[object]] = {}
    for value in values:
        groups.setdefault(type(value), []).append(value)
    shapes = [
        Opaque(_type_name(kind), _pickled_samples(group))
        if depth >= MAX_DEPTH and kind in _CONTAINER_TYPES
        else _infer_type(kind, group, depth)
        for kind, group in groups.items()
    ]
    merged = _merge_opaque(shapes)
    return merged[0] if len(merged) == 1 else OneOf(tuple(merged))


def _infer_type(kind: type, values: list[object], depth: int) -> Shape:
    if kind is bool:
        return AtomShape("bool")
    if kind is type(None):
        return AtomShape("none")
    if kind is int:
        ints = [v for v in values if isinstance(v, int)]
        return IntShape(min(ints), max(ints))
    if kind is float:
        floats = [v for v in values if isinstance(v, float) and math.isfinite(v)]
        if not floats:
            return FloatShape(-1.0, 1.0, False)
        return FloatShape(min(floats), max(floats), all(f.is_integer() for f in floats))
    if kind is str:
        strings = [v for v in values if isinstance(v, str)]
        alphabet = "".join(sorted(set("".join(strings))))[:200]
        return StrShape(alphabet, max(map(len, strings)), _samples(strings))
    if kind is bytes:
        blobs = [v for v in values if isinstance(v, bytes)]
        return BytesShape(max(map(len, blobs)), _samples(blobs))
    if kind is tuple and _fixed_length(values):
        length = len(values[0])  # type: ignore[arg-type]
        items = [infer([v[i] for v in values], depth + 1) for i in range(length)]  # type: ignore[index]
        if all(item is not None for item in items):
            return TupleShape(tuple(items))  # type: ignore[arg-type]
    if kind in (list, tuple, set, frozenset):
        sequences = [list(v) for v in values]  # type: ignore[call-overload]
        items = [item for seq in sequences for item in seq]
        return SeqShape(kind.__name__, infer(items, depth + 1), max(map(len, sequences)))
    if kind is dict:
        dicts = [v for v in values if isinstance(v, dict)]
        record = _record(dicts, depth)
        if record is not None:
            return record
        keys = [k for d in dicts for k in d]
        values_held = [x for d in dicts for x in d.values()]
        return DictShape(
            infer(keys, depth + 1), infer(values_held, depth + 1), max(map(len, dicts))
        )
    return Opaque(_type_name(kind), _pickled_samples(values))


def _fixed_length(values: list[object]) -> bool:
    lengths = {len(v) for v in values}  # type: ignore[arg-type]
    return len(lengths) == 1 and 0 < next(iter(lengths)) <= MAX_FIXED_TUPLE


def _record(dicts: list[dict[object, object]], depth: int) -> RecordShape | None:
    keysets = {tuple(d) for d in dicts}
    if len(keysets) != 1:
        return None
    keys = next(iter(keysets))
    if not keys or len(keys) > MAX_RECORD_KEYS or not all(isinstance(k, str) for k in keys):
        return None
    fields = []
    for key in keys:
        shape = infer([d[key] for d in dicts], depth + 1)
        assert shape is not None
        fields.append((str(key), shape))
    return RecordShape(tuple(fields))


def _merge_opaque(shapes: list[Shape]) -> list[Shape]:
    opaque = [s for s in shapes if isinstance(s, Opaque)]
    if len(opaque) <= 1:
        return shapes
    merged = Opaque(
        " | ".join(s.type_name for s in opaque),
        tuple(b for s in opaque for b in s.samples)[:MAX_SAMPLES],
    )
    return [s for s in shapes if not isinstance(s, Opaque)] + [merged]


def _samples(values: Iterable[str | bytes]) -> tuple:  # type: ignore[type-arg]
    seen: dict[object, None] = {}
    for value in values:
        if len(value) <= 200:
            seen.setdefault(value)
        if len(seen) >= MAX_SAMPLES:
            break
    return tuple(seen)


def _pickled_samples(values: list[object]) -> tuple[bytes, ...]:
    samples: list[bytes] = []
    for value in values:
        try:
            # perfloop's serialiser, as capture used: callbacks (lambdas, local functions)
            # are arguments too (toolz 0.9.0's join(leftkey, ...)); plain pickle refuses them
            data = pickling.dumps(value, faithful=True)
        except Exception:
            continue
        if len(data) <= MAX_SAMPLE_BYTES and data not in samples:
            samples.append(data)
        if len(samples) >= MAX_SAMPLES:
            break
    if not samples:  # keep at least one, however big
        for value in values[:1]:
            with contextlib.suppress(Exception):
                samples.append(pickling.dumps(value, faithful=True))
    return tuple(samples)


def _type_name(kind: type) -> str:
    module = getattr(kind, "__module__", "?")
    name = getattr(kind, "__qualname__", "?")
    return name if module == "builtins" else f"{module}.{name}"


def call_forms(calls: Sequence[tuple[tuple[object, ...], dict[str, object]]]) -> list[CallForm]:
    """The forms of the captured calls (positional count, keyword names), most used first."""
    forms: dict[tuple[int, tuple[str, ...]], list[tuple[tuple[object, ...], dict[str, object]]]]
    forms = {}
    for args, kwargs in calls:
        forms.setdefault((len(args), tuple(sorted(kwargs))), []).append((args, kwargs))
    result = []
    for (count, names), group in sorted(forms.items(), key=lambda item: -len(item[1])):
        args = tuple(infer([a[i] for a, _ in group]) for i in range(count))
        kwargs = tuple((name, infer([k[name] for _, k in group])) for name in names)
        together = _drawn_together(group, count, names)
        result.append(CallForm(args, kwargs, len(group), together))  # type: ignore[arg-type]
    return result


def _drawn_together(
    calls: Sequence[tuple[tuple[object, ...], dict[str, object]]],
    count: int,
    names: tuple[str, ...],
) -> tuple[Together, ...]:
    """The groups of places whose values held one same object in any of the first
    calls of a form, with samples from the first MAX_SAMPLES (each call's values pickled
    once more: sqlparse's tokens hold their statements, 0.1 s a call)."""
    places: list[int | str] = [*range(count), *names]
    if len(places) < 2:
        return ()
    calls = calls[:MAX_SAMPLES]
    groups: list[set[int]] = []
    for args, kwargs in calls[:_TOGETHER_LOOKED_AT]:
        for held in pickling.held_together([*args, *(kwargs[name] for name in names)]):
            joined = [group for group in groups if group & held]
            groups = [group for group in groups if not group & held]
            groups.append(set(held).union(*joined))
    together = []
    for group in sorted(groups, key=min):
        indexes = sorted(group)
        values = [tuple(([*a, *(k[n] for n in names)])[i] for i in indexes) for a, k in calls]
        together.append(Together(tuple(places[i] for i in indexes), _pickled_samples(values)))
    return tuple(together)


def source_constants(module_source: str, qualname: str) -> Constants:
    """Int, float and short string literals in the function's body (not its docstring)."""
    try:
        tree = ast.parse(module_source)
    except SyntaxError:
        return Constants()
    node = find_function(tree, qualname)
    if node is None:
        return Constants()
    docstring = ast.get_docstring(node, clean=False)
    ints: set[int] = set()
    floats: set[float] = set()
    strs: set[str] = set()
    for child in ast.walk(node):
        if not isinstance(child, ast.Constant):
            continue
        value = child.value
        if isinstance(value, bool):
            continue
        if isinstance(value, int) and abs(value) < 10**18:
            ints.add(value)
        elif isinstance(value, float) and math.isfinite(value):
            floats.add(value)
        elif isinstance(value, str) and value != docstring and len(value) <= 40:
            strs.add(value)
    return Constants(tuple(sorted(ints)), tuple(sorted(floats)), tuple(sorted(strs))[:30])


# --- observed runtime types ------------------------------------------------------------
# The recorder notes each parameter's runtime types (perfloop.runtime.recorder.describe_type:
# `int`, `list[str]`, `dict[str, int | float]`, `NoneType`) for every call it records, also
# calls whose values it could not keep (an outcome that does not pickle, a byte budget used
# up, a call the reservoir later replaced). Fuzzing draws from those types too: a parameter
# the kept calls show only as empty lists gets items of the observed item type, and a type
# the kept calls lack (None for an optional argument) becomes one more option.

_DEFAULT_SIZE = 4
_SCALARS: dict[str, Shape] = {
    "int": IntShape(-8, 8),
    "float": FloatShape(-8.0, 8.0, False),
    "str": StrShape("abcdefgh", 8, ()),
    "bytes": BytesShape(8, ()),
    "bool": AtomShape("bool"),
    "NoneType": AtomShape("none"),
}
_CONTAINERS = ("list", "tuple", "set", "frozenset")


def described_shape(description: str) -> Shape | None:
    """The shape of a runtime type description (`list[int | str]`); None for a type
    fuzzing cannot make (a class of the user's, a nested type it cannot read)."""
    name, _, inner = description.strip().partition("[")
    if not inner:
        return _SCALARS.get(name)
    if not inner.endswith("]"):
        return None
    parts = _split_top(inner[:-1], ",")
    if name in _CONTAINERS and len(parts) == 1:
        item = _union_shape(parts[0])
        return SeqShape(name, item, _DEFAULT_SIZE) if item is not None else None
    if name == "dict" and len(parts) == 2:
        key, value = _union_shape(parts[0]), _union_shape(parts[1])
        return DictShape(key, value, _DEFAULT_SIZE) if key is not None and value else None
    return None


def _union_shape(text: str) -> Shape | None:
    """`int | str`: the shapes of the options fuzzing can make (None if none)."""
    options = [described_shape(part) for part in _split_top(text, "|")]
    made = [option for option in options if option is not None]
    if not made:
        return None
    return made[0] if len(made) == 1 else OneOf(tuple(made))


def _split_top(text: str, separator: str) -> list[str]:
    """`text` split at `separator` outside brackets."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"[": 1, "]": -1}.get(char, 0)
        if char == separator and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _kind_names(shape: Shape) -> set[str]:
    """The outer runtime type names a shape stands for."""
    if isinstance(shape, OneOf):
        return {name for option in shape.options for name in _kind_names(option)}
    if isinstance(shape, AtomShape):
        return {"bool" if shape.kind == "bool" else "NoneType"}
    if isinstance(shape, SeqShape):
        return {shape.kind}
    if isinstance(shape, (DictShape, RecordShape)):
        return {"dict"}
    if isinstance(shape, TupleShape):
        return {"tuple"}
    if isinstance(shape, Opaque):
        return {part.strip() for part in shape.type_name.split("|")}
    names = {IntShape: "int", FloatShape: "float", StrShape: "str", BytesShape: "bytes"}
    return {names[type(shape)]}


def _fill_empty(shape: Shape, observed: Sequence[Shape]) -> Shape:
    """Items for containers seen only empty, from the observed containers of that kind."""
    if isinstance(shape, OneOf):
        return OneOf(tuple(_fill_empty(option, observed) for option in shape.options))
    for seen in observed:
        empty_seq = isinstance(shape, SeqShape) and shape.item is None
        if empty_seq and isinstance(seen, SeqShape) and seen.kind == shape.kind:
            return SeqShape(shape.kind, seen.item, max(shape.max_len, seen.max_len))
        empty_dict = isinstance(shape, DictShape) and shape.key is None
        if empty_dict and isinstance(seen, DictShape):
            return DictShape(seen.key, seen.value, max(shape.max_len, seen.max_len))  # type: ignore[union-attr]
    return shape


def with_observed(shape: Shape | None, descriptions: Sequence[str]) -> Shape | None:
    """`shape` (inferred from the kept values) widened by the observed types: containers
    seen only empty get the observed items, and observed types it lacks become options
    (after its own, so shrinking still heads for values like the kept ones)."""
    if shape is None:
        return None
    observed = [s for s in map(described_shape, descriptions) if s is not None]
    shape = _fill_empty(shape, observed)
    known = _kind_names(shape)
    extra = [s for s in observed if not _kind_names(s) & known]
    if not extra:
        return shape
    options = shape.options if isinstance(shape, OneOf) else (shape,)
    return OneOf((*options, *extra))


def forms_with_observed(
    forms: Sequence[CallForm], parameters: Sequence[str], observed: dict[str, Sequence[str]]
) -> list[CallForm]:
    """Each form's shapes widened by the observed types of their parameters (positional
    arguments named in the order of `parameters`, the function's signature)."""
    if not observed:
        return list(forms)
    widened = []
    for form in forms:
        args = tuple(
            with_observed(shape, observed.get(parameters[i], ()) if i < len(parameters) else ())
            for i, shape in enumerate(form.args)
        )
        kwargs = tuple((name, with_observed(s, observed.get(name, ()))) for name, s in form.kwargs)
        widened.append(replace(form, args=args, kwargs=kwargs))  # type: ignore[arg-type]
    return widened
