"""Calls written as Python a user can paste and run: `naturalsize(float('nan'))`.

`repr` is not always source: a NaN shows as `nan`, an infinity as `inf`, an object
without a useful repr as `<Cart object at 0x...>`, a list inside itself as `[[...]]`.
`value_source` writes the builtin values whose repr is not an expression as
expressions that rebuild them (containers included); `call_source` writes a call
and checks, by evaluating its arguments with nothing but the builtins in scope,
that the text rebuilds them exactly, so a caller can say when it does not.
"""

from __future__ import annotations

import builtins
import math
from dataclasses import dataclass

from perfloop.verification.compare import DEFAULT_POLICY, ComparePolicy, compare_values

MAX_ARGUMENT_CHARACTERS = 4000


@dataclass(frozen=True)
class CallSource:
    """`text` is `qualname(arguments)`; `exact` is True when pasting it rebuilds the arguments."""

    text: str
    exact: bool


def call_source(
    qualname: str,
    args: tuple[object, ...],
    kwargs: dict[str, object],
    policy: ComparePolicy = DEFAULT_POLICY,
) -> CallSource:
    """The call as source, and whether evaluating its arguments gives back equal values."""
    parts = [value_source(a) for a in args] + [f"{k}={value_source(v)}" for k, v in kwargs.items()]
    text = f"{qualname}({', '.join(parts)})"
    return CallSource(text, _rebuilds(parts, args, kwargs, policy))


def argument_source(value: object, policy: ComparePolicy = DEFAULT_POLICY) -> CallSource:
    """One value as source, and whether evaluating it gives back an equal value."""
    text = value_source(value)
    return CallSource(text, _rebuilds([text], (value,), {}, policy))


def value_source(value: object) -> str:
    """An expression for `value`: its repr, except where the repr is not Python."""
    try:
        text = _source(value, set())
    except RecursionError:
        return f"<{type(value).__qualname__}: nested too deeply to write out>"
    if len(text) > MAX_ARGUMENT_CHARACTERS:
        return text[: MAX_ARGUMENT_CHARACTERS - 3] + "..."
    return text


def _rebuilds(
    parts: list[str], args: tuple[object, ...], kwargs: dict[str, object], policy: ComparePolicy
) -> bool:
    if any(len(part) > MAX_ARGUMENT_CHARACTERS for part in parts):
        return False
    scope = {"__builtins__": builtins}  # worker side only: the text holds user reprs
    try:
        rebuilt = eval(f"(lambda *a, **k: (a, k))({', '.join(parts)})", scope)
        return compare_values((args, kwargs), rebuilt, "arguments", policy) is None
    except Exception:  # a repr that is not Python, or a value that cannot be compared
        return False


def _source(value: object, inside: set[int]) -> str:
    kind = type(value)
    if kind is float:
        return _float_source(value)  # type: ignore[arg-type]
    if kind is complex:
        number: complex = value  # type: ignore[assignment]
        if math.isfinite(number.real) and math.isfinite(number.imag):
            return repr(number)
        return f"complex({_float_source(number.real)}, {_float_source(number.imag)})"
    if kind in (list, tuple, set, frozenset, dict):
        if id(value) in inside:
            return "<the container itself>"  # it contains itself: no expression rebuilds it
        inside.add(id(value))
        try:
            return _container_source(value, inside)
        finally:
            inside.discard(id(value))
    return _repr(value)


def _float_source(number: float) -> str:
    if math.isnan(number):
        return "float('nan')"
    if math.isinf(number):
        return "float('inf')" if number > 0 else "-float('inf')"
    return repr(number)


def _container_source(value: object, inside: set[int]) -> str:
    if isinstance(value, dict):
        items = ", ".join(f"{_source(k, inside)}: {_source(v, inside)}" for k, v in value.items())
        return f"{{{items}}}"
    assert isinstance(value, (list, tuple, set, frozenset))
    items = ", ".join(_source(item, inside) for item in value)
    if type(value) is list:
        return f"[{items}]"
    if type(value) is tuple:
        return f"({items},)" if len(value) == 1 else f"({items})"
    if not value:
        return f"{type(value).__name__}()"
    return f"{{{items}}}" if type(value) is set else f"frozenset({{{items}}})"


def _repr(value: object) -> str:
    try:
        return repr(value)
    except Exception as exc:
        return f"<{type(value).__qualname__}: repr failed with {type(exc).__name__}>"
