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

Singletons the call can observe are state too, though the target names none of them:
the workload sets `decimal.getcontext().prec = 50` and then calls a function doing
Decimal arithmetic; mpmath 1.3.0's `mp.dps = 60` sets the precision every `mpf`
computes at, reached through the arguments' class (`mpf.context` is `mp`), so
`QuadratureRule.transform_nodes` replayed in a worker computed at 53 bits. Such state
is kept under keys that start with `@`: `@decimal.getcontext()` (the thread's decimal
context: precision, rounding, exponent limits, traps, flags), `@random.getstate()` (the
state of `random`'s shared generator, which the workload may have seeded, when the
target's module or one around it uses `random`) and `@module:path` for an
instance a module keeps under a name (`@mpmath:mp`) that is reachable from the
call's arguments (through their attributes, items and classes), or that a module
around the target keeps (of its package, or one it imports: `config.settings`) and
whose settings are no longer as that module's import left them (a worker has them
so; the import hook notes them as each module of the package finishes executing).
Such an object's settings, its attributes that hold plain data (numbers, strings, and
lists, tuples, sets and dicts of them), are recorded before the call, put back in
place before replay (in place: mpmath's `mpf._ctxdata` holds the very
`_prec_rounding` list), and compared after it, also where the call is what changed
them. The rest of such an object (its caches, functions, other objects) is not: the
reasons are kept with the recording, for a message when the original does not replay.

Standard library and cloudpickle only: this runs inside the user's process.
"""

from __future__ import annotations

import copy
import dataclasses
import dis
import enum
import functools
import importlib
import itertools
import os
import pickle
import random
import sys
import types
import weakref
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any

from perfloop.runtime import pickling


@dataclass(frozen=True)
class GlobalState:
    """The target's globals and class attributes (`Class.attr`) after a call; the values
    before it travel with the call's inputs (see `StatefulInputs`)."""

    after: dict[str, object]
    # `@` singletons found but not recorded (or recorded in part) -> why
    left_out: dict[str, str] = dataclasses.field(default_factory=dict)


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


def _may_be_class_state(cls: type, name: str) -> bool:
    """Whether `cls.name` can hold state: not a function, descriptor or class, and not a
    member of an Enum, which is fixed at the class's creation and refuses `setattr`
    ("cannot reassign member"; pyparsing 3.1.4's `Forward.parseImpl` reads
    `Diagnostics.warn_on_parse_using_empty_Forward`)."""
    if isinstance(vars(cls)[name], _NOT_CLASS_STATE):
        return False
    return not (isinstance(cls, enum.EnumMeta) and name in cls.__members__)


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
            if interpreters_own(value):
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
                if not _same(value, attributes.get(name, _ABSENT)) and not _dunder(name):
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


def interpreters_own(value: object) -> bool:
    """Whether `value` is the interpreter's own (`sys.modules`, `sys.path`, `os.environ`...)
    that a module holds under a name of its own: cbor2 5.6.5's `_encoder` does `from sys
    import modules`, and as the workload imported more modules, the global looked changed,
    so every recorded call of `CBOREncoder.encode_map` carried the workload's sys.modules
    as module state (its `sitecustomize` loaded in no worker; put in place, it would have
    refilled the worker's). Not the module's state: the process's."""
    owned = (sys.modules, sys.path, sys.meta_path, sys.path_hooks, sys.path_importer_cache)
    return any(value is each for each in owned) or value is os.environ


def _same(value: object, before: object) -> bool:
    """The same object, capture's own wrappers aside: the histories' method wrappers
    come and go in the class while the workload runs (perfloop.runtime.histories)."""
    return value is before or pickling.uninstrumented(value) is pickling.uninstrumented(before)


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
            if _may_be_class_state(cls, name)
        ]
        self.baseline: ModuleSnapshot | None = None
        self.left_out: set[str] = set()  # names whose values cannot be pickled or loaded
        self.why_left_out: dict[str, str] = {}  # `@` singletons among them -> why
        self.partial: dict[str, str] = {}  # `@` singletons recorded in part -> what is not
        self._uses_random: bool | None = None  # its module or one around it uses `random`
        self._around_seen = -1  # modules_looked_through() when those around were found
        self._around_found: list[tuple[object, str]] = []
        self.loads_back: set[str] = set()  # names whose values were seen to load back

    def watch_changes_since(self, snapshot: ModuleSnapshot) -> None:
        """Take what the workload changes in the module after `snapshot` as state too, and
        in the settings of the singletons around it after now (or after the import of
        their module, for those of the target's package: `note_as_imported`)."""
        self.baseline = snapshot
        try:
            for obj, _ in self._around():
                _as_imported(obj)
        except Exception:  # what cannot be looked at now is recorded with every call
            pass

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
            if not _may_be_class_state(holder, name) or pickling.stateless(value):
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
        if self.baseline is not None and not _same(value, self.baseline.value(name)):
            return False
        return pickling.stateless(value)

    def values(self, args: tuple[object, ...] = ()) -> dict[str, object]:
        """The state a call with `args` runs with: what it names, what the receiver's class
        in another module holds of it, and what the workload changed."""
        found = {k: v for k, v in self._named().items() if not self._unchanged(k, v)}
        found.update(self._held_by_receiver(args))
        if self.baseline is not None:
            found.update(self.baseline.changed())
        found.update(self._singletons(args))
        return {
            name: value
            for name, value in found.items()
            if name not in self.left_out and not interpreters_own(value)
        }

    def _singletons(self, args: tuple[object, ...]) -> dict[str, object]:
        """`@` key -> settings: the decimal context, random's generator, the singletons
        among the arguments, and those the modules around keep whose settings are not as
        the import left them (see the module's docstring)."""
        found: dict[str, object] = {}
        if "decimal" in sys.modules:
            found[DECIMAL_CONTEXT] = _decimal_settings(flags=True)
        if self._uses_random is None:  # looked at once the module has been imported
            self._uses_random = _uses_random(self.module)
        if self._uses_random:
            found[RANDOM_STATE] = random.getstate()
        try:
            in_arguments = _singletons_in_arguments(args)
            around = self._changed_around()
        except Exception as exc:  # an object that cannot even be looked at: go without
            self.partial.setdefault(
                SINGLETON, f"singletons: looking for them failed ({type(exc).__name__}: {exc})"
            )
            return found
        for obj, key in in_arguments:
            found[key], skipped = _settings(obj)
            self._note_partial(obj, key, skipped)
        found.update(around)
        return found

    def _note_partial(self, obj: object, key: str, skipped: list[str]) -> None:
        if skipped and key not in self.partial:
            self.partial[key] = (
                f"{where(key)} (a {type(obj).__qualname__}): only its plain-data attributes "
                f"are recorded, not {_names(skipped)}"
            )

    def _around(self) -> list[tuple[object, str]]:
        """The singletons the modules around keep (looked for again when more modules
        have been imported, or one that was being imported has finished)."""
        looks = pickling.modules_looked_through()
        if self._around_seen != looks:
            self._around_seen = looks
            self._around_found = _singletons_around(self.module)
        return self._around_found

    def _changed_around(self) -> dict[str, object]:
        """`@` key -> settings, for the singletons around whose settings changed since the
        target's module was imported (those that did not are in a worker as the import
        left them), and those made later (what the import left is not known)."""
        found: dict[str, object] = {}
        for obj, key in self._around():
            settings, skipped = _settings(obj)
            imported = _AS_IMPORTED.get(id(obj))
            if imported is None or imported[0] is not obj or settings != imported[1]:
                found[key] = settings
                self._note_partial(obj, key, skipped)
        return found

    def _add_held_by_inputs(self, values: dict[str, object], inputs: object) -> None:
        """Add the singletons around that the call's inputs hold a container of, as the
        import left them or not: the call may fill it through its argument (simplejson
        3.19.3's first JSONObject of a document gets `_default_decoder.memo` still empty),
        and replay must give the argument and the singleton one container then too."""
        try:
            unseen = [(obj, key) for obj, key in self._around() if key not in values]
        except Exception:
            return
        held: list[tuple[object, str]] = []
        for obj, key in unseen:
            for value in (pickling.instance_dict(obj) or {}).values():
                if type(value) in (list, dict, set):
                    held.append((value, key))
        if not held:
            return
        met = pickling.times_met(inputs, [container for container, _ in held]) or []
        for (_, key), times in zip(held, met):
            if times and key not in values and key not in self.left_out:
                obj = _singleton(key)
                if obj is not None:
                    values[key], skipped = _settings(obj)
                    self._note_partial(obj, key, skipped)

    def keys_after(self, before: dict[str, object]) -> list[str]:
        """What to compare after a call: the state it ran with, and the singletons around
        whose settings differ from the import's now."""
        try:
            changed = self._changed_around()
        except Exception:
            changed = {}
        return [*before, *(key for key in changed if key not in before)]

    def before(
        self, args: tuple[object, ...] = (), kwargs: dict[str, object] | None = None
    ) -> dict[str, object]:
        """The state before a call, leaving out (once, for good) what does not serialise."""
        values = self.values(args)
        self._add_held_by_inputs(values, (args, kwargs or {}))
        for name in [name for name in values if name not in self.loads_back]:
            try:
                pickling.check_loads(pickling.dumps(values[name]))
                self.loads_back.add(name)
            except Exception as exc:  # cannot be pickled, or does not load back
                self.left_out.add(name)
                if name.startswith(SINGLETON):
                    self.why_left_out[name] = (
                        f"{where(name)}: its settings do not pickle and load back "
                        f"({type(exc).__name__}: {exc})"
                    )
                del values[name]
        return values

    def notes(self) -> dict[str, str]:
        """The singletons the call could observe that are not (wholly) recorded -> why."""
        return {**self.partial, **self.why_left_out}


# A container of the state that the call's inputs hold too, as (key, setting name or None
# for a global): simplejson 3.19.3's JSONObject(state, ..., memo) gets the very `memo` dict
# of `simplejson._default_decoder`, and adds keys to it. Put in place by refilling the
# worker's own dict, the state no longer was what the loaded `memo` argument is: the call
# filled the argument, the module's dict stayed as it was, and replay read "module state
# after the call differs: simplejson._default_decoder['memo']: ... (2 keys missing)".
# The worker's own container is still the one refilled (other objects of the module may
# hold it: mpmath's `mpf._ctxdata` is `mp._prec_rounding`), and the loaded inputs are
# made to hold it instead of their copy (`repointed`).
Shared = tuple[tuple[str, "str | None"], ...]


class StatefulInputs:
    """A call's inputs and the state it ran with, pickled as one: loading it puts the
    state in place in the module and gives (args, kwargs)."""

    def __init__(
        self, module: str, values: dict[str, object], inputs: object, shared: Shared = ()
    ) -> None:
        self.module = module
        self.values = values
        self.inputs = inputs
        self.shared = shared

    def __reduce__(self) -> tuple[object, ...]:
        return restore_then_inputs, (self.module, self.values, self.inputs, self.shared)


def shared_containers(values: dict[str, object], inputs: object) -> Shared:
    """The containers (lists, dicts, sets) among `values` (globals, and singletons'
    settings) that pickling `inputs` meets too: the call's arguments hold them."""
    places: list[tuple[str, str | None]] = []
    containers: list[object] = []
    for key, value in values.items():
        if key in (DECIMAL_CONTEXT, RANDOM_STATE) or key.startswith(RECEIVER):
            continue
        held = value.items() if key.startswith(SINGLETON) else [(None, value)]  # type: ignore[attr-defined]
        for name, setting in held:
            if type(setting) in (list, dict, set):
                places.append((key, name))
                containers.append(setting)
    if not containers:
        return ()
    met = pickling.times_met(inputs, containers) or [0] * len(containers)
    return tuple(place for place, times in zip(places, met) if times)


def restore_then_inputs(
    module: str, values: dict[str, object], inputs: object, shared: Shared = ()
) -> object:
    """Put the recorded state in place in `module` (imported if need be), return inputs;
    not the globals a candidate's module defines anew (`define_anew`)."""
    namespace = vars(importlib.import_module(module))
    anew = defined_anew(namespace)
    kept = {k: v for k, v in values.items() if k not in anew} if anew else values
    return repointed(inputs, restore(namespace, kept, shared))


# A candidate's module -> the globals its source binds by statements the original's lacks
# (keyed by the id of its namespace, which is what a function's `__globals__` gives).
# construct 2.10.63's faster `bits2bytes` (5d96857) maps bit strings to ints in its
# BITS2BYTES_CACHE, where the original maps them to bytes: the dict is state the original
# reads, so the recorded one was put in place (in place: cleared and refilled) in the
# candidate's module before each replayed and timed call, and the new code failed on
# the old values ("'bytes' object cannot be interpreted as an integer").
_DEFINED_ANEW: dict[int, tuple[weakref.ref[types.ModuleType], frozenset[str]]] = {}
DEFINED_ANEW = "the candidate defines it anew"
"""Why such a global's state after the call is not compared with the original's."""


def define_anew(module: types.ModuleType, names: Iterable[str]) -> None:
    """Keep the recorded values of `names` out of `module` (a candidate's): its source
    defines them otherwise than the original (a constant the edit changed, in a form of
    its own), so their values are the candidate's, before a call and after it."""
    names = frozenset(names)
    if names:
        _DEFINED_ANEW[id(vars(module))] = (weakref.ref(module), names)


def defined_anew(namespace: dict[str, Any]) -> frozenset[str]:
    """The globals of a candidate's module namespace that it defines anew (`define_anew`)."""
    found = _DEFINED_ANEW.get(id(namespace))
    if found is None:
        return frozenset()
    module = found[0]()
    if module is None or vars(module) is not namespace:  # another dict at the same id
        del _DEFINED_ANEW[id(namespace)]
        return frozenset()
    return found[1]


@dataclasses.dataclass(frozen=True)
class _Loaded:
    """Pickled StatefulInputs as loaded by `_StateAside`: the recorded state kept apart."""

    module: str
    values: dict[str, object]
    inputs: object
    shared: Shared = ()


class _StateAside(pickle.Unpickler):
    """Loads pickled StatefulInputs as `_Loaded`, putting nothing in place in any module."""

    def find_class(self, module: str, name: str) -> Any:
        if module == __name__ and name == restore_then_inputs.__name__:
            return _Loaded
        return super().find_class(module, name)


def _load_state_aside(data: bytes) -> object:
    """Every part loaded (as the recorder proves a worker can), without loaded class
    attributes landing on the workload's live classes (pickling.check_loads)."""
    return pickling.check_loads(data, _StateAside)


def load_inputs_only(data: bytes) -> object:
    """The inputs of pickled StatefulInputs (or any pickle), without putting recorded
    state in place here."""
    loaded = _load_state_aside(data)
    return loaded.inputs if isinstance(loaded, _Loaded) else loaded


def recorded_settings(data: bytes) -> list[tuple[str, str, object]]:
    """(module to import, the setting as an expression, its recorded value) for each
    setting of a singleton (see the module's docstring) that pickled inputs were
    recorded with and that this process has otherwise: what a pasted call must set
    first (`decimal.getcontext().prec`, 50)."""
    loaded = _load_state_aside(data)
    if not isinstance(loaded, _Loaded):
        return []
    found: list[tuple[str, str, object]] = []
    for key, value in loaded.values.items():
        if not key.startswith(SINGLETON) or not isinstance(value, dict):
            continue
        if key == DECIMAL_CONTEXT:
            module, where_now = "decimal", "decimal.getcontext()"
            now = _decimal_settings(flags=False)
            value = {name: value[name] for name in _DECIMAL_FIELDS}
        else:
            module = key[len(SINGLETON) :].partition(":")[0]
            where_now = where(key)
            obj = _singleton(key)
            now = {} if obj is None else _settings(obj)[0]
        for name, recorded in value.items():
            if type(now.get(name, _ABSENT)) is not type(recorded) or now[name] != recorded:
                found.append((module, f"{where_now}.{name}", recorded))
    return found


def _put(holder: Any, name: str, value: object, set_value: Callable[[object], None]) -> object:
    """Set one value, keeping a container's identity (other objects may hold it); the
    object now in place."""
    current = holder.get(name, _ABSENT)
    if current is value:
        return value  # loaded by reference (a class, an enum member, a sentinel)
    if type(current) is type(value) and isinstance(value, (dict, set)):
        current.clear()
        current.update(value)
        return current
    if type(current) is type(value) and isinstance(value, list):
        current[:] = value
        return current
    set_value(value)
    return value


RECEIVER = "<receiver>:"


def restore(
    namespace: dict[str, Any], values: dict[str, object], shared: Shared = ()
) -> dict[int, object]:
    """Put recorded values in place (`name`, `Class.attr`, `@` singletons); containers keep
    identity. For the containers the call's inputs hold (`shared`): id of the loaded one
    -> the one in place, which the inputs must hold instead (`repointed`)."""
    swaps: dict[int, object] = {}
    for key, value in values.items():
        if key.startswith(SINGLETON):
            names = {name for held, name in shared if held == key}
            _restore_singleton(key, value, names, swaps)  # type: ignore[arg-type]
            continue
        if key.startswith(RECEIVER):
            continue
        path, _, name = key.rpartition(".")
        if not path:
            now = _put(namespace, key, value, functools.partial(namespace.__setitem__, key))
        else:
            cls = _class_at(namespace, path)
            if cls is None:
                continue
            now = _put(vars(cls), name, value, functools.partial(setattr, cls, name))
        if (key, None) in shared and now is not value:
            swaps[id(value)] = now
    return swaps


_REPOINT_LIMIT = 100_000  # objects of a call's inputs looked through


def repointed(inputs: object, swaps: dict[int, object]) -> object:
    """`inputs` holding, wherever they held a loaded container of `swaps` (by id), the one
    put in place in the module instead: in dicts, lists, instances' attributes and slots,
    closures' cells, and the top-level arguments. A tuple or set deeper down keeps what it
    holds (it cannot be changed in place)."""
    if not swaps:
        return inputs

    def swapped(value: object) -> object:
        return swaps.get(id(value), value)

    seen: set[int] = set()
    stack: list[object] = [inputs]
    while stack and len(seen) < _REPOINT_LIMIT:
        obj = stack.pop()
        if id(obj) in seen or isinstance(obj, _NOT_WALKED):
            continue
        seen.add(id(obj))
        kind = type(obj)
        if kind is dict:
            for name, value in obj.items():  # type: ignore[attr-defined]
                if id(value) in swaps:
                    obj[name] = swaps[id(value)]  # type: ignore[index]
                else:
                    stack.append(value)
        elif kind is list:
            for index, value in enumerate(obj):  # type: ignore[arg-type]
                if id(value) in swaps:
                    obj[index] = swaps[id(value)]  # type: ignore[index]
                else:
                    stack.append(value)
        elif isinstance(obj, (tuple, set, frozenset)):
            stack.extend(obj)
        elif isinstance(obj, types.FunctionType):
            for cell in obj.__closure__ or ():
                try:
                    value = cell.cell_contents
                except ValueError:  # an empty cell
                    continue
                if id(value) in swaps:
                    cell.cell_contents = swaps[id(value)]
                else:
                    stack.append(value)
            stack.extend((obj.__defaults__ or (), obj.__kwdefaults__ or {}))
        elif isinstance(obj, types.MethodType):
            stack.extend((obj.__self__, obj.__func__))
        else:
            held = pickling.instance_dict(obj)
            if held is not None:
                stack.append(held)
            for name, value in pickling.slot_values(obj).items():
                if id(value) in swaps:
                    object.__setattr__(obj, name, swaps[id(value)])
                else:
                    stack.append(value)
    if isinstance(inputs, tuple) and len(inputs) == 2 and isinstance(inputs[0], tuple):
        args, kwargs = inputs
        return tuple(swapped(a) for a in args), {k: swapped(v) for k, v in kwargs.items()}
    return inputs


_NOT_WALKED = (str, bytes, int, float, complex, bool, type(None), type, types.ModuleType)


def _value_now(namespace: dict[str, Any], key: str, receiver: type | None) -> object:
    if key == DECIMAL_CONTEXT:
        return _decimal_settings(flags=False)
    if key == RANDOM_STATE:
        return random.getstate()
    if key.startswith(SINGLETON):
        obj = _singleton(key)
        return None if obj is None else _settings(obj)[0]
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
    namespace: dict[str, Any],
    state: GlobalState,
    *,
    receiver: type | None = None,
    left_out: dict[str, str] | None = None,
) -> GlobalState:
    """The same names' values now (after a call): `<receiver>:` keys on `receiver`'s
    classes; with what was not recorded and why. A global the candidate's module defines
    anew (`define_anew`) is left out, with that reason: its value is the candidate's own,
    in a form the original's need not share.

    Of a singleton whose recorded settings `state` holds, only those attributes: which of
    its attributes hold plain data is a fact of one process. pyasn1's module-level
    `decoder.decode` keeps tag caches full of TagSet objects in the workload (not
    recorded) and empty, so plain, in a worker: replaying the original found "2
    unexpected keys in actual, e.g. '_Decoder__tagCache'" and called the function
    dependent on unrecorded state. (A plain attribute that only the replayed call adds
    to a singleton is not compared.)"""
    anew = defined_anew(namespace)
    values = {}
    for key in state.after:
        if key in anew:
            continue
        now = _value_now(namespace, key, receiver)
        recorded = state.after[key]
        if key.startswith(SINGLETON) and isinstance(now, dict) and isinstance(recorded, dict):
            now = {name: value for name, value in now.items() if name in recorded}
        values[key] = now
    why = dict(left_out or {})
    why.update((key, DEFINED_ANEW) for key in state.after if key in anew)
    return GlobalState(values, why)


SINGLETON = "@"
"""The first character of a singleton's key (see the module's docstring)."""
DECIMAL_CONTEXT = "@decimal.getcontext()"
RANDOM_STATE = "@random.getstate()"


def _uses_random(module: str) -> bool:
    """Whether `module`, or a module around it (`_modules_around`), holds the `random`
    module or one of its functions (`from random import choice`): then the state of
    random's shared generator, which `random.seed(7)` in the workload fixed, is the
    call's state too (a worker's is seeded afresh)."""
    held = [sys.modules[module]] if module in sys.modules else []
    for namespace in [vars(m) for m in held + _modules_around(module)]:
        for value in list(namespace.values()):
            if value is random:
                return True
            bound = issubclass(type(value), (types.MethodType, types.BuiltinMethodType))
            if bound and value.__self__ is random._inst:  # type: ignore[attr-defined]
                return True
    return False


_DECIMAL_FIELDS = ("prec", "rounding", "Emin", "Emax", "capitals", "clamp")


def _decimal_settings(flags: bool) -> dict[str, object]:
    """The thread's decimal context as plain data (`decimal` is imported here, not at the
    top: the context is recorded only in a process whose own code imported it). Its
    flags (the signals raised since they were last cleared) are put in place before a
    call, but not compared after it: a rewrite that computes the same values by other
    steps may raise other Inexact or Rounded signals."""
    import decimal

    context = decimal.getcontext()
    found: dict[str, object] = {name: getattr(context, name) for name in _DECIMAL_FIELDS}
    found["traps"] = sorted(signal.__name__ for signal, on in context.traps.items() if on)
    if flags:
        found["flags"] = sorted(signal.__name__ for signal, on in context.flags.items() if on)
    return found


def _decimal_context(settings: dict[str, Any]) -> Any:
    import decimal

    def signals(names: list[str]) -> list[type[decimal.DecimalException]]:
        return [getattr(decimal, name) for name in names]

    fields = {name: settings[name] for name in _DECIMAL_FIELDS}
    return decimal.Context(
        **fields, traps=signals(settings["traps"]), flags=signals(settings.get("flags", []))
    )


_PLAIN = (type(None), bool, int, float, complex, str, bytes)
_CODE = (
    type,
    types.ModuleType,
    types.FunctionType,
    types.BuiltinFunctionType,
    types.MethodType,
    functools.partial,
)
_PLAIN_ITEMS = 1000  # items of containers looked through before an attribute is "not plain"


def _plain(value: object, budget: list[int]) -> bool:
    """Numbers, strings, and lists, tuples, sets and dicts of them (exactly those types)."""
    budget[0] -= 1
    if budget[0] < 0:
        return False
    if type(value) in _PLAIN:
        return True
    if type(value) in (list, tuple, set, frozenset):
        return all(_plain(item, budget) for item in value)  # type: ignore[attr-defined]
    if type(value) is dict:
        return all(_plain(k, budget) and _plain(v, budget) for k, v in value.items())  # type: ignore[attr-defined]
    return False


def _settings(obj: object) -> tuple[dict[str, object], list[str]]:
    """(the attributes of `obj` that hold plain data, the names of the others)."""
    settings: dict[str, object] = {}
    skipped: list[str] = []
    for name, value in sorted((pickling.instance_dict(obj) or {}).items()):
        if _dunder(name):
            continue
        if _plain(value, [_PLAIN_ITEMS]):
            settings[name] = value
        elif not issubclass(type(value), _CODE):  # functions and classes: code, not state
            skipped.append(name)
    return settings, skipped


def _names(names: list[str], shown: int = 5) -> str:
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return ", ".join(names[:shown]) + more


def where(key: str) -> str:
    """How a message names a singleton: `mpmath.mp`, `decimal.getcontext()`."""
    return key[len(SINGLETON) :].replace(":", ".")


def _singleton(key: str) -> object:
    module, _, path = key[len(SINGLETON) :].partition(":")
    try:
        return pickling.resolve_name(module, path)
    except Exception:
        return None


def _restore_singleton(
    key: str,
    settings: dict[str, Any],
    held_by_inputs: Collection[str] = (),
    swaps: dict[int, object] | None = None,
) -> None:
    """Put a singleton's recorded settings in place: lists, dicts and sets keep identity
    (mpmath's `mpf._ctxdata` holds the context's `_prec_rounding` list); for those the
    call's inputs hold (`held_by_inputs`, by name), note in `swaps` which container the
    inputs must hold instead of the loaded one."""
    if key == DECIMAL_CONTEXT:  # decimal may not be imported yet in this process
        importlib.import_module("decimal").setcontext(_decimal_context(settings))
        return
    if key == RANDOM_STATE:
        random.setstate(settings)  # type: ignore[arg-type]
        return
    held = pickling.instance_dict(_singleton(key))
    if held is None:
        return
    for name, value in settings.items():
        if type(held.get(name, _ABSENT)) is type(value) and held[name] == value:
            now = held[name]  # as recorded already (a frozen dataclass refuses even the same)
        else:
            now = _put(held, name, value, functools.partial(held.__setitem__, name))
        if name in held_by_inputs and now is not value and swaps is not None:
            swaps[id(value)] = now


_WALK_LIMIT = 500  # objects of a call's arguments looked at for singletons


def _singleton_key(obj: object, within: str | None = None) -> str | None:
    """`@module:path` if a module keeps `obj`, an instance with state, under a name (in a
    module of the package `within`, if given)."""
    if not pickling.module_instance(obj):
        return None
    name = pickling.module_instance_name(obj)
    if name is None or name[0] in pickling.NOT_IMPORTABLE:
        return None
    if within is not None and name[0].partition(".")[0] != within:
        return None  # imported from elsewhere (`__future__`'s features)
    if _unset_at_import(*name):
        return None
    return f"{SINGLETON}{name[0]}:{name[1]}"


def _unset_at_import(module: str, path: str) -> bool:
    """Whether `module`'s import (seen by the import hook) left the global that starts
    `path` unset or None: a worker's module has no object there to put settings in.
    pycparser 2.22's ply keeps the last lexer built as `ply.lex.lexer` (None at import);
    its parser reaches that very lexer through its arguments, which carry it by value, so
    the worker's None was compared with the recorded lexer and every call of the hottest
    target "did not reproduce"."""
    at_import = _GLOBALS_AT_IMPORT.get(module)
    if at_import is None:
        return False  # its import was not seen: what it left is not known
    return at_import.get(path.partition(".")[0], type(None)) is type(None)


def _singletons_in_arguments(args: tuple[object, ...]) -> list[tuple[object, str]]:
    """(object, `@module:path`) for each singleton among the arguments, their attributes
    and items (a bounded walk), or held by their classes (`mpf.context` is `mp`)."""
    found: dict[int, tuple[object, str]] = {}

    def note(obj: object) -> bool:
        if id(obj) in found:
            return True
        key = _singleton_key(obj)
        if key is not None:
            found[id(obj)] = (obj, key)
        return key is not None

    seen: set[int] = set()
    classes: set[type] = set()
    queue = list(args)
    while queue and len(seen) < _WALK_LIMIT:
        obj = queue.pop()
        if id(obj) in seen or type(obj) in _PLAIN:
            continue
        seen.add(id(obj))
        classes.add(type(obj))
        if note(obj):
            continue  # its settings are its state here
        if type(obj) in (list, tuple, set, frozenset):
            items: Iterable[object] = obj  # type: ignore[assignment]
        elif type(obj) is dict:
            items = obj.values()  # type: ignore[attr-defined]
        else:
            items = (pickling.instance_dict(obj) or {}).values()
        if len(queue) < _WALK_LIMIT:
            queue.extend(itertools.islice(items, _WALK_LIMIT))
    for cls in classes:
        if cls.__module__ == "builtins":
            continue
        for klass in cls.__mro__[:-1]:
            for value in list(vars(klass).values()):
                if not issubclass(type(value), _NOT_CLASS_STATE):
                    note(value)
    return list(found.values())


_AS_IMPORTED: dict[int, tuple[object, dict[str, object]]] = {}
"""id -> (singleton, a copy of its settings as the import of its module left them)."""
_GLOBALS_AT_IMPORT: dict[str, dict[str, type]] = {}
"""module -> {global name: the type of its value} as the import of the module left them."""


def _as_imported(obj: object) -> None:
    if id(obj) not in _AS_IMPORTED or _AS_IMPORTED[id(obj)][0] is not obj:
        _AS_IMPORTED[id(obj)] = (obj, copy.deepcopy(_settings(obj)[0]))


def note_as_imported(module: types.ModuleType) -> None:
    """Note the settings of the singletons `module` keeps, as its import left them: those
    a call later finds the same need not be recorded (a worker has them so)."""
    namespace = vars(module)
    _GLOBALS_AT_IMPORT[module.__name__] = {name: type(v) for name, v in list(namespace.items())}
    for value in list(namespace.values()):
        try:
            if not issubclass(type(value), _NOT_STATE) and pickling.module_instance(value):
                _as_imported(value)
        except Exception:  # recorded with every call instead
            continue


def _singletons_around(module: str) -> list[tuple[object, str]]:
    """(object, `@module:path`) for each singleton the modules around `module` keep."""
    found: dict[int, tuple[object, str]] = {}
    for held_by in _modules_around(module):
        package = held_by.__name__.partition(".")[0]
        for value in list(vars(held_by).values()):
            if id(value) in found or issubclass(type(value), _NOT_STATE):
                continue
            key = _singleton_key(value, within=package)
            if key is not None:
                found[id(value)] = (value, key)
    return list(found.values())


def _modules_around(module: str) -> list[types.ModuleType]:
    """The modules whose singletons a function of `module` can observe without being
    passed them: the other modules of its package, and the modules it holds as globals
    or whose functions and classes it holds (`import config`, `from config import
    scale`), but not the standard library's nor perfloop's."""
    namespace = vars(sys.modules[module]) if module in sys.modules else {}
    package = module.partition(".")[0]
    names = {name for name in sys.modules if name.partition(".")[0] == package}
    for value in list(namespace.values()):
        if issubclass(type(value), types.ModuleType):
            names.add(value.__name__)
        elif issubclass(type(value), (type, types.FunctionType)):
            names.add(str(getattr(value, "__module__", "")))
    names.discard(module)  # its own globals: recorded by name, or as changed since import
    return [
        sys.modules[name]
        for name in sorted(names)
        if name in sys.modules
        and name.partition(".")[0] not in _NOT_AROUND
        and name.partition(".")[0] not in sys.stdlib_module_names
        and isinstance(getattr(sys.modules[name], "__dict__", None), dict)
    ]


_NOT_AROUND = frozenset({"perfloop", "cloudpickle", "builtins", "__main__", "__mp_main__"})
