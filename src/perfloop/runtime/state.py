"""Module globals and class attributes a target reads or writes, as recorded state.

A function that fills a module-level cache, bumps a module counter or appends to
a module table changes what its later calls see; replayed in a fresh worker it
would start from the module as imported, and the original would not reproduce
its own recording. So the recorder keeps, for each call, the target's global
state: the module-level objects it names as globals (mutable ones; any name it
assigns with `global`) before the call, as bytes, and after it. Replay puts the
before-state in place, calls, and compares the after-state like the arguments.

Class attributes are state the same way: pyparsing 3.1.4's `enable_packrat()`,
called by the workload, replaces `ParserElement.packrat_cache`, which
`_parseCache` reads; a worker that imports the module sees the class as defined.
The attributes kept are those the target's code names (`X.attr`, `self.attr`)
that live in the `__dict__` of its own class or of a class of its module it
names as a global, except functions, descriptors and classes. They are keyed
`Class.attr` beside the plain global names. The class of a method's receiver
may live in another module, and hold what the code names there: pygments
2.17.2's `RegexLexer.get_tokens_unprocessed` reads `self._tokens`, which the
metaclass sets on the lexer's own class (`Modula2Lexer`, another module) at its
first instantiation; an instance unpickled in a worker has a class without it.
Such attributes are kept too, keyed `module:Class.attr`. A value that cannot be
pickled is left out (the first call finds which), and so is a value without
state that is still the object the import made: a sentinel `_MISSING = object()`
that defaults hold must stay that very object in replay, not become a copy.

The values before the call are pickled together with the call's arguments, in
one pickle, so what they share survives: pyparsing's packrat cache is keyed by
the very parser elements that are the call's `self`. Loading the inputs puts the
values in place (`StatefulInputs`).

What the workload changed in the target's module after importing it is state too,
whatever the target names: `enable_packrat()` also rebinds `ParserElement._parse`
(to `_parseCache`), which the target reaches only through other methods. A
`ModuleSnapshot` taken when the targets are wrapped keeps every module global and
every attribute of the module's own classes; each recorded call adds those whose
value is no longer the same object.

Standard library and cloudpickle only: this runs inside the user's process.
"""

from __future__ import annotations

import dis
import functools
import importlib
import pickle
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from perfloop.runtime import pickling


@dataclass(frozen=True)
class GlobalState:
    """The target's globals and class attributes (`Class.attr`) after a call; the values
    before it travel with the call's inputs (see `StatefulInputs`)."""

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


_NOT_CLASS_STATE = (
    types.ModuleType,
    type,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    staticmethod,
    classmethod,
    property,
    functools.cached_property,
    types.MemberDescriptorType,
    types.GetSetDescriptorType,
    types.WrapperDescriptorType,
    types.MethodDescriptorType,
)
_ATTRIBUTE_OPS = frozenset(
    {"LOAD_ATTR", "STORE_ATTR", "DELETE_ATTR", "LOAD_METHOD", "LOAD_SUPER_ATTR"}
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


def attribute_names(function: Callable[..., object]) -> frozenset[str]:
    """The attribute names the function and its nested code read, write or delete."""
    code = getattr(function, "__code__", None)
    if code is None:
        return frozenset()
    return frozenset(
        str(instruction.argval)
        for inner in _code_objects(code)
        for instruction in dis.get_instructions(inner)
        if instruction.opname in _ATTRIBUTE_OPS
    )


def _class_at(namespace: dict[str, Any], path: str) -> type | None:
    """The class a dotted path names in a module's namespace (`Outer.Inner`), or in
    another module (`package.module:Outer.Inner`)."""
    if ":" in path:
        module, _, path = path.partition(":")
        namespace = vars(importlib.import_module(module))
    found: object = namespace.get(path.split(".")[0])
    for part in path.split(".")[1:]:
        found = getattr(found, "__dict__", {}).get(part)
    return found if isinstance(found, type) else None


def _classes(
    function: Callable[..., object], namespace: dict[str, Any], names: tuple[str, ...]
) -> list[tuple[str, type]]:
    """(path, class) for the function's own class and the module's classes it names."""
    module = namespace.get("__name__")
    paths = [name for name in names if getattr(namespace.get(name), "__module__", None) == module]
    owner = getattr(function, "__qualname__", "").rpartition(".")[0]
    if owner and "<locals>" not in owner:
        paths.insert(0, owner)
    found: dict[str, type] = {}
    for path in paths:
        cls = _class_at(namespace, path)
        if cls is not None and cls.__module__ == module:
            found.setdefault(path, cls)
    return list(found.items())


class ModuleSnapshot:
    """A module's globals and its own top-level classes' attributes, as imported, and the
    pickled contents of its mutable globals (up to CONTENT_LIMIT bytes each)."""

    def __init__(self, module: types.ModuleType) -> None:
        self.namespace: dict[str, Any] = vars(module)
        self.values: dict[str, object] = dict(self.namespace)
        self.classes = [
            (name, value, dict(vars(value)))
            for name, value in self.namespace.items()
            if isinstance(value, type) and value.__module__ == module.__name__
        ]
        self.contents: dict[str, bytes] = {}
        for name, value in self.values.items():
            if _dunder(name) or isinstance(value, _NOT_STATE) or pickling.stateless(value):
                continue
            try:
                data = pickling.dumps(value)
            except pickling.SerialiseError:
                continue
            if len(data) <= CONTENT_LIMIT:
                self.contents[name] = data

    def changed(self) -> dict[str, object]:
        """`name` or `Class.attr` -> value, for each one rebound, added or (a mutable
        module global: pyperformance's richards fills `taskWorkArea.taskTab`, which
        the target reaches only through other methods) changed inside since."""
        found: dict[str, object] = {}
        for name, value in self.namespace.items():
            rebound = value is not self.values.get(name, _ABSENT) and not _dunder(name)
            if rebound or (
                name in self.contents and _pickled_differently(value, self.contents[name])
            ):
                found[name] = value
        for path, cls, attributes in self.classes:
            for name, value in vars(cls).items():
                if value is not attributes.get(name, _ABSENT) and not _dunder(name):
                    found[f"{path}.{name}"] = value
        return found

    def value(self, key: str) -> object:
        """What `name` or `Class.attr` was at import (_ABSENT if it was not there)."""
        path, _, name = key.rpartition(".")
        if not path:
            return self.values.get(key, _ABSENT)
        for class_path, _, attributes in self.classes:
            if class_path == path:
                return attributes.get(name, _ABSENT)
        return _ABSENT


_ABSENT = object()
CONTENT_LIMIT = 1_000_000
"""Bytes of a mutable module global's pickle beyond which changes inside it are not
looked for (it is pickled again at each recorded call to compare)."""


def _pickled_differently(value: object, before: bytes) -> bool:
    try:
        return pickling.dumps(value) != before
    except pickling.SerialiseError:
        return False


def _dunder(name: str) -> bool:
    """Python's own bookkeeping (`__builtins__`, `__slotnames__` that copyreg adds)."""
    return name.startswith("__") and name.endswith("__")


class Tracker:
    """Which of a function's globals and class attributes are state, and their values now."""

    def __init__(self, function: Callable[..., object], receiver: str | None = None) -> None:
        """`receiver`: "self" or "cls" when the first argument of a call is the instance
        or the class (perfloop.runtime.loader.Target.receiver)."""
        self.namespace: dict[str, Any] = getattr(function, "__globals__", {})
        self.module = str(self.namespace.get("__name__", ""))
        self.names, self.assigned = global_names(function)
        self.attributes = attribute_names(function)
        self.receiver = receiver
        self.class_attributes = [
            (f"{path}.{name}", cls, name)
            for path, cls in _classes(function, self.namespace, self.names)
            for name in sorted(self.attributes & set(vars(cls)))
            if not isinstance(vars(cls)[name], _NOT_CLASS_STATE)
        ]
        self.baseline: ModuleSnapshot | None = None
        self.left_out: set[str] = set()  # names whose values cannot be pickled or loaded
        self.loads_back: set[str] = set()  # names whose values were seen to load back

    def watch_changes_since(self, snapshot: ModuleSnapshot) -> None:
        """Take what the workload changes in the module after `snapshot` as state too."""
        self.baseline = snapshot

    def _held_by_receiver(self, args: tuple[object, ...]) -> dict[str, object]:
        """`module:Class.attr` -> value, for what the code names that the receiver's class,
        or a base of it, holds in a module other than the target's (those the target's
        own module holds are found as named or as changed since import)."""
        if self.receiver is None or not args:
            return {}
        cls = args[0] if self.receiver == "cls" else type(args[0])
        if not isinstance(cls, type):
            return {}
        found: dict[str, object] = {}
        for name in sorted(self.attributes):
            holder = next((k for k in cls.__mro__[:-1] if name in vars(k)), None)
            if holder is None or holder.__module__ in (self.module, "builtins"):
                continue
            value = vars(holder)[name]
            if isinstance(value, _NOT_CLASS_STATE) or pickling.stateless(value):
                continue
            if holder.__module__ in pickling.NOT_IMPORTABLE or "<locals>" in holder.__qualname__:
                found[f"{RECEIVER}{holder.__qualname__}.{name}"] = value
            else:
                found[f"{holder.__module__}:{holder.__qualname__}.{name}"] = value
        return found

    def _named(self) -> dict[str, object]:
        """The globals and class attributes the function's own code names."""
        found = {
            name: self.namespace[name]
            for name in self.names
            if name in self.namespace
            and (name in self.assigned or not isinstance(self.namespace[name], _NOT_STATE))
        }
        for key, cls, name in self.class_attributes:
            if name in vars(cls):
                found[key] = vars(cls)[name]
        return found

    def _unchanged(self, name: str, value: object) -> bool:
        """A value without state, still the object the import made (a sentinel)."""
        if self.baseline is not None and value is not self.baseline.value(name):
            return False
        return pickling.stateless(value)

    def values(self, args: tuple[object, ...] = ()) -> dict[str, object]:
        """The state a call with `args` runs with: what it names, what the receiver's class
        in another module holds of it, and what the workload changed."""
        found = {k: v for k, v in self._named().items() if not self._unchanged(k, v)}
        found.update(self._held_by_receiver(args))
        if self.baseline is not None:
            found.update(self.baseline.changed())
        return {name: value for name, value in found.items() if name not in self.left_out}

    def before(self, args: tuple[object, ...] = ()) -> dict[str, object]:
        """The state before a call, leaving out (once, for good) what does not serialise."""
        values = self.values(args)
        for name in [name for name in values if name not in self.loads_back]:
            try:
                pickling.check_loads(pickling.dumps(values[name]))
                self.loads_back.add(name)
            except Exception:  # cannot be pickled, or does not load back
                self.left_out.add(name)
                del values[name]
        return values


class StatefulInputs:
    """A call's inputs and the state it ran with, pickled as one: loading it puts the
    state in place in the module and gives (args, kwargs)."""

    def __init__(self, module: str, values: dict[str, object], inputs: object) -> None:
        self.module = module
        self.values = values
        self.inputs = inputs

    def __reduce__(self) -> tuple[object, ...]:
        return restore_then_inputs, (self.module, self.values, self.inputs)


def restore_then_inputs(module: str, values: dict[str, object], inputs: object) -> object:
    """Put the recorded state in place in `module` (imported if need be), return inputs."""
    restore(vars(importlib.import_module(module)), values)
    return inputs


class _InputsOnly(pickle.Unpickler):
    """Loads pickled StatefulInputs as their inputs, leaving the module's state alone."""

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == restore_then_inputs.__name__:
            return _inputs_alone
        return super().find_class(module, name)


def _inputs_alone(module: str, values: dict[str, object], inputs: object) -> object:
    return inputs


def load_inputs_only(data: bytes) -> object:
    """The inputs of pickled StatefulInputs (or any pickle), every part loaded (as the
    recorder proves a worker can), without putting recorded state in place here, nor
    loaded class attributes on the workload's live classes (pickling.check_loads)."""
    return pickling.check_loads(data, _InputsOnly)


def _put(holder: Any, name: str, value: object, set_value: Callable[[object], None]) -> None:
    """Set one value, keeping a container's identity (other objects may hold it)."""
    current = holder.get(name)
    if type(current) is type(value) and isinstance(value, (dict, set)):
        current.clear()
        current.update(value)
    elif type(current) is type(value) and isinstance(value, list):
        current[:] = value
    else:
        set_value(value)


RECEIVER = "<receiver>:"


def restore(namespace: dict[str, Any], values: dict[str, object]) -> None:
    """Put recorded values in place (`name` or `Class.attr`); containers keep identity."""
    for key, value in values.items():
        if key.startswith(RECEIVER):
            continue
        path, _, name = key.rpartition(".")
        if not path:
            _put(namespace, key, value, functools.partial(namespace.__setitem__, key))
            continue
        cls = _class_at(namespace, path)
        if cls is not None:
            _put(vars(cls), name, value, functools.partial(setattr, cls, name))


def _value_now(namespace: dict[str, Any], key: str, receiver: type | None) -> object:
    path, _, name = key.rpartition(".")
    if not path:
        return namespace.get(key)
    if path.startswith(RECEIVER):
        qualname = path[len(RECEIVER) :]
        holders = receiver.__mro__ if isinstance(receiver, type) else ()
        cls = next((k for k in holders if k.__qualname__ == qualname), None)
    else:
        cls = _class_at(namespace, path)
    return None if cls is None else vars(cls).get(name)


def receiver_class(receiver: str | None, args: tuple[object, ...]) -> type | None:
    if receiver is None or not args:
        return None
    found = args[0] if receiver == "cls" else type(args[0])
    return found if isinstance(found, type) else None


def after(
    namespace: dict[str, Any], state: GlobalState, receiver: type | None = None
) -> GlobalState:
    """The same names' values now (after a replayed call)."""
    return GlobalState({key: _value_now(namespace, key, receiver) for key in state.after})
