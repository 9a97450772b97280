"""Module globals a target reads or writes, as recorded state of its calls.

A function that fills a module-level cache, bumps a module counter or appends to
a module table changes what its later calls see; replayed in a fresh worker it
would start from the module as imported, and the original would not reproduce
its own recording. So the recorder keeps, for each call, the target's global
state: the module-level objects it names as globals (mutable ones; any name it
assigns with `global`) before the call, as bytes, and after it. Replay puts the
before-state in place, calls, and compares the after-state like the arguments.
Standard library and cloudpickle only: this runs inside the user's process.
"""

from __future__ import annotations

import dis
import pickle
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfloop.runtime import pickling


@dataclass(frozen=True)
class GlobalState:
    """The target's module globals: `before` pickled {name: value}, `after` the values."""

    before: bytes
    after: dict[str, object]


_NOT_STATE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    int,
    float,
    complex,
    str,
    bytes,
    bool,
    type(None),
    frozenset,
    tuple,
    range,
)


def _code_objects(code: types.CodeType) -> list[types.CodeType]:
    found = [code]
    for constant in code.co_consts:
        if isinstance(constant, types.CodeType):
            found.extend(_code_objects(constant))
    return found


def global_names(function: Callable[..., object]) -> tuple[tuple[str, ...], frozenset[str]]:
    """(names the function and its nested code read or write as globals, names it assigns)."""
    code = getattr(function, "__code__", None)
    if code is None:
        return (), frozenset()
    read: set[str] = set()
    assigned: set[str] = set()
    for inner in _code_objects(code):
        for instruction in dis.get_instructions(inner):
            if instruction.opname in ("LOAD_GLOBAL", "STORE_GLOBAL", "DELETE_GLOBAL"):
                read.add(str(instruction.argval))
                if instruction.opname != "LOAD_GLOBAL":
                    assigned.add(str(instruction.argval))
    return tuple(sorted(read)), frozenset(assigned)


class Tracker:
    """Which of a function's globals are state, and their values now."""

    def __init__(self, function: Callable[..., object]) -> None:
        self.namespace: dict[str, Any] = getattr(function, "__globals__", {})
        self.names, self.assigned = global_names(function)

    def values(self) -> dict[str, object]:
        return {
            name: self.namespace[name]
            for name in self.names
            if name in self.namespace
            and (name in self.assigned or not isinstance(self.namespace[name], _NOT_STATE))
        }

    def before(self) -> bytes | None:
        """The state before a call as bytes; None when there is none or it cannot be kept."""
        values = self.values()
        if not values:
            return None
        try:
            return pickling.dumps(values)
        except pickling.SerialiseError:
            return None


def restore(namespace: dict[str, Any], state: GlobalState) -> None:
    """Put the recorded before-state in place; containers keep their identity."""
    for name, value in pickle.loads(state.before).items():
        current = namespace.get(name)
        if type(current) is type(value) and isinstance(value, (dict, set)):
            current.clear()  # type: ignore[union-attr]
            current.update(value)  # type: ignore[union-attr]
        elif type(current) is type(value) and isinstance(value, list):
            current[:] = value  # type: ignore[index]
        else:
            namespace[name] = value


def after(namespace: dict[str, Any], state: GlobalState) -> GlobalState:
    """The same names' values now (after a replayed call)."""
    return GlobalState(b"", {name: namespace.get(name) for name in state.after})
