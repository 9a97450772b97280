"""Decoding what perfloop reads back from a worker or from disk: data only, never code.

Everything the main process reads back from a place where other code could
have written it goes through `decode`: a sandboxed worker's result (candidate
code runs in the worker before the result is encoded, so it can replace
`pickle.dumps`, or write the result file itself), the run store's checkpoints
and the recorder's capture summaries. `decode` can only produce:

- plain values: None, bool, int, float, complex, str, bytes, bytearray, and
  list, tuple, dict, set and frozenset of them;
- `pathlib.PosixPath` (a settings record holds the project root);
- the perfloop result types named in `REGISTRY`: frozen dataclasses and enums
  that the stages hand on, whose construction runs no code but perfloop's own
  field-by-field initialisation.

Why a restricted unpickler and not JSON with type tags: workers, checkpoints and
capture summaries already hand these types on as pickles, and the nested frozen
dataclasses (a `TargetResult` holds candidates, verdicts, measurements) would
need a second, hand-kept encoding of every type. The risk of unpickling is what
the pickle may *call*; here that is closed off in three places:

1. `find_class` returns only the registered classes and the builtin container
   classes above, never a function, a module or any other class: a pickle that
   names `builtins.eval`, `os.system` or `perfloop.sandbox.runner.run_in_worker` is
   refused before anything is called. REDUCE and NEWOBJ can therefore only call
   one of those classes.
2. BUILD (which sets an object's state after it is made) is allowed only on an
   instance of a registered dataclass and only with that dataclass's own field
   names, so a pickle cannot change an enum member, a class, or anything else
   the main process shares. This is why the pure-Python unpickler is used (the
   C one cannot be told to refuse an opcode); results are small, so its cost is
   a few milliseconds.
3. After decoding, every dataclass instance is checked against its field types
   (a worker must not hand back a `Verdict` whose `status` is a string) and its
   `__post_init__` invariants, and the whole value against what the caller
   expects. A cycle or an unknown shape is refused.

A refusal raises `Refused` with the reason, for the caller to turn into a result
(see `perfloop.sandbox`). The user's own recorded values (call arguments and
outcomes) are never decoded here: they stay opaque bytes in the main process and
are unpickled only inside workers.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import importlib
import io
import pathlib
import pickle
import types
import typing
from collections.abc import Mapping, Sequence

# "module:qualname" of every perfloop type a worker, a checkpoint or a summary may hold
REGISTRY: tuple[str, ...] = (
    "perfloop.config:Settings",
    "perfloop.measure.counters:Counted",
    "perfloop.measure.micro:NoiseFloor",
    "perfloop.measure.timing:LearningCheck",
    "perfloop.measure.timing:ProcessTimings",
    "perfloop.measure.whole_workload:WorkloadComparison",
    "perfloop.model:Candidate",
    "perfloop.model:CandidateResult",
    "perfloop.model:Difference",
    "perfloop.model:FunctionRef",
    "perfloop.model:GateResult",
    "perfloop.model:HotFunction",
    "perfloop.model:ImportedModules",
    "perfloop.model:InstructionCounts",
    "perfloop.model:Limits",
    "perfloop.model:LineProfile",
    "perfloop.model:LineTiming",
    "perfloop.model:LLMUsage",
    "perfloop.model:Measurement",
    "perfloop.model:MemoryPeaks",
    "perfloop.model:Profile",
    "perfloop.model:Speedup",
    "perfloop.model:TierRun",
    "perfloop.model:Verdict",
    "perfloop.model:VerdictStatus",
    "perfloop.model:VerificationStrength",
    "perfloop.outside.counterexample:RenderedCall",
    "perfloop.results:BenchResult",
    "perfloop.results:CacheState",
    "perfloop.results:CacheUse",
    "perfloop.results:CheckResult",
    "perfloop.results:CheckStatus",
    "perfloop.results:Counterexample",
    "perfloop.results:Decision",
    "perfloop.results:FunctionCheck",
    "perfloop.results:ReviewAction",
    "perfloop.results:ReviewDecision",
    "perfloop.results:RunResult",
    "perfloop.results:TargetResult",
    "perfloop.results:TargetStatus",
    "perfloop.results:VerifyResult",
    "perfloop.results:WorkloadSpeedup",
    "perfloop.verification.fuzz:FuzzResult",
    "perfloop.verification.interaction:InteractionResult",
    "perfloop.verification.project_tests:TestIndex",
    "perfloop.verification.project_tests:_RunReport",
    "perfloop.verification.replay:ReplayReport",
    "perfloop.verification.symbolic:_SymbolicReport",
)
# where a registered type lived in earlier versions: a store written by one of them (a run
# to resume, a cached step) names it there
MOVED: dict[str, str] = {
    f"perfloop.model:{name}": f"perfloop.results:{name}"
    for name in ("TargetResult", "TargetStatus", "WorkloadSpeedup")
}
# classes pickle names for plain values; calling them with any arguments runs no user code
_PLAIN_CLASSES: dict[tuple[str, str], type] = {
    ("builtins", "complex"): complex,
    ("builtins", "set"): set,
    ("builtins", "frozenset"): frozenset,
    ("builtins", "bytearray"): bytearray,
    ("pathlib", "PosixPath"): pathlib.PosixPath,
}
_SCALARS = (type(None), bool, int, float, complex, str, bytes, bytearray, pathlib.PurePath)
_CONTAINERS = (list, tuple, set, frozenset, dict)
_ATOMS = frozenset({type(None), bool, int, float, complex, str, bytes})


class Refused(ValueError):
    """The data holds something `decode` does not produce; the message says what."""


def decode(data: bytes, expected: object = object, *, source: str = "the data") -> object:
    """Decode `data` to plain values and registered perfloop types, checked against
    `expected` (a type hint); raises `Refused` naming what was wrong in `source`."""
    try:
        value = _Unpickler(io.BytesIO(data)).load()
    except Refused as exc:
        raise Refused(f"{source}: {exc}") from None
    except Exception as exc:  # truncated, corrupted or not a pickle at all
        raise Refused(f"{source}: not a readable perfloop result ({exc})") from None
    check(value, expected, source=source)
    return value


def check(value: object, expected: object, *, source: str = "the data") -> None:
    """Raise `Refused` unless `value` is decodable data of the type hint `expected`."""
    try:
        problem = _check(value, expected, "the value", ())
    except RecursionError:
        problem = "the value is nested too deeply"
    if problem is not None:
        raise Refused(f"{source}: {problem}")


def registered_types() -> tuple[type, ...]:
    """The classes in `REGISTRY`, imported."""
    return tuple(_registered(*name.split(":")) for name in REGISTRY)


@functools.cache
def _registered(module: str, qualname: str) -> type:
    found = importlib.import_module(module)
    for part in qualname.split("."):
        found = getattr(found, part)
    problem = _unfit(found)
    if problem is not None:
        raise TypeError(f"{module}:{qualname} cannot be registered for decoding: {problem}")
    return found  # type: ignore[return-value]


def _unfit(cls: object) -> str | None:
    """Why `cls` may not be in the registry, or None if it is plain data."""
    if not isinstance(cls, type):
        return "not a class"
    if issubclass(cls, enum.Enum):
        return None
    if not dataclasses.is_dataclass(cls) or not cls.__dataclass_params__.frozen:  # type: ignore[attr-defined]
        return "not a frozen dataclass or an enum"
    for name in ("__reduce__", "__reduce_ex__", "__setstate__", "__new__", "__getattr__"):
        if name in vars(cls) and not (name == "__setstate__" and "__slots__" in vars(cls)):
            return f"it defines {name}, which runs code when it is unpickled"
    return None


def _find_registered(module: str, name: str) -> type | None:
    where = MOVED.get(f"{module}:{name}", f"{module}:{name}")
    if where not in REGISTRY:
        return None
    return _registered(*where.split(":"))


class _Unpickler(pickle._Unpickler):  # type: ignore[name-defined,misc]
    """pickle's own unpickler with `find_class` and BUILD restricted (see the module doc)."""

    dispatch: typing.ClassVar[dict[int, object]] = dict(pickle._Unpickler.dispatch)  # type: ignore[attr-defined]

    def find_class(self, module: str, name: str) -> object:
        found = _PLAIN_CLASSES.get((module, name)) or _find_registered(module, name)
        if found is None:
            raise Refused(
                f"{module}.{name} is not a perfloop result type or a plain value; "
                "only data is accepted, so nothing in it was run"
            )
        return found

    def load_build(self) -> None:
        state, instance = self.stack[-1], self.stack[-2]
        cls = type(instance)
        if not dataclasses.is_dataclass(cls) or f"{cls.__module__}:{cls.__qualname__}" not in (
            REGISTRY
        ):
            raise Refused(
                f"it sets the state of a {cls.__qualname__}; only perfloop's data classes may have "
                "state set, so nothing shared with the main process can be changed"
            )
        fields = {f.name for f in dataclasses.fields(instance)}
        parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
        for part in parts:
            if part is None:
                continue
            if not isinstance(part, dict) or not set(part) <= fields:
                raise Refused(f"it sets attributes of a {cls.__qualname__} that are not its fields")
        super().load_build()

    dispatch[pickle.BUILD[0]] = load_build


# --- checking decoded values against type hints ---------------------------------------


def _check(value: object, hint: object, where: str, active: tuple[int, ...]) -> str | None:
    """Why `value` does not fit `hint` (a reason naming `where`), or None if it fits."""
    if type(value) in _ATOMS and (hint is object or hint is type(value)):
        return None  # the common case, first: a string, a number
    if isinstance(value, type):  # a class handed back as a value could be called later
        return f"{where} is the class {value.__qualname__}, not data"
    if hasattr(hint, "__supertype__"):  # a NewType such as RunId
        return _check(value, hint.__supertype__, where, active)  # type: ignore[attr-defined]
    origin = typing.get_origin(hint)
    if origin is typing.Union or origin is types.UnionType:
        return _check_union(value, typing.get_args(hint), where, active)
    if isinstance(value, _CONTAINERS) or dataclasses.is_dataclass(value):
        if id(value) in active:
            return f"{where} contains itself"
        active = (*active, id(value))
    if hint is typing.Any or hint is object or isinstance(hint, typing.TypeVar):
        return _check_any(value, where, active)
    if hint is None or hint is type(None):
        return None if value is None else _wrong(value, "None", where)
    if origin is typing.Literal:
        return None if value in typing.get_args(hint) else _wrong(value, str(hint), where)
    if origin is not None:
        return _check_generic(value, origin, typing.get_args(hint), where, active)
    if isinstance(hint, type):
        if hint is float and type(value) is int:
            return None
        if not isinstance(value, hint):
            return _wrong(value, _name(hint), where)
        return _check_any(value, where, active)
    return f"{where} has a type perfloop cannot check ({hint!r})"


def _check_union(
    value: object, options: tuple[object, ...], where: str, active: tuple[int, ...]
) -> str | None:
    problems = [_check(value, option, where, active) for option in options]
    if None in problems:
        return None
    for option, problem in zip(options, problems):  # the option it claims to be, and why not
        if isinstance(option, type) and isinstance(value, option):
            return problem
    return _wrong(value, " or ".join(_name(o) for o in options), where)


def _check_any(value: object, where: str, active: tuple[int, ...]) -> str | None:
    """Any value `decode` could produce, with every dataclass in it checked by its hints."""
    if isinstance(value, (enum.Enum, *_SCALARS)):
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            problem = _check_any(key, f"{where} key", active) or _check(
                item, object, f"{where}[{key!r}]", active
            )
            if problem:
                return problem
        return None
    if isinstance(value, _CONTAINERS):
        for number, item in enumerate(value):
            if type(item) not in _ATOMS:
                problem = _check(item, object, f"{where}[{number}]", active)
                if problem:
                    return problem
        return None
    if dataclasses.is_dataclass(value):
        return _check_fields(value, where, active)
    return f"{where} is a {type(value).__qualname__}, which decode never produces"


def _check_fields(value: object, where: str, active: tuple[int, ...]) -> str | None:
    cls = type(value)
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    present = set(getattr(value, "__dict__", {})) | {n for n in names if hasattr(value, n)}
    if names - present:
        return f"{where} ({cls.__qualname__}) lacks {', '.join(sorted(names - present))}"
    for name in sorted(names):
        problem = _check(getattr(value, name), hints[name], f"{cls.__qualname__}.{name}", active)
        if problem:
            return problem
    post_init = getattr(cls, "__post_init__", None)
    if post_init is not None:
        try:
            post_init(value)
        except Exception as exc:
            return f"{where} ({cls.__qualname__}) breaks its invariant: {exc}"
    return None


def _check_generic(
    value: object, origin: object, args: tuple[object, ...], where: str, active: tuple[int, ...]
) -> str | None:
    if origin is tuple:
        if not isinstance(value, tuple):
            return _wrong(value, "a tuple", where)
        if len(args) == 2 and args[1] is Ellipsis:
            items = [(item, args[0]) for item in value]
        elif args == ((),):
            items = [] if not value else [(value, None)]
        elif len(args) != len(value):
            return f"{where} has {len(value)} items where {len(args)} were expected"
        else:
            items = list(zip(value, args))
        return _first(items, where, active)
    if origin in (list, set, frozenset, Sequence):
        kinds = (list, tuple) if origin is Sequence else origin
        if not isinstance(value, kinds):  # type: ignore[arg-type]
            return _wrong(value, _name(origin), where)
        item_hint = args[0] if args else object
        return _first([(item, item_hint) for item in value], where, active)  # type: ignore[attr-defined]
    if origin in (dict, Mapping):
        if not isinstance(value, dict):
            return _wrong(value, "a dict", where)
        key_hint, item_hint = args or (object, object)
        pairs = [(k, key_hint) for k in value] + [(v, item_hint) for v in value.values()]
        return _first(pairs, where, active)
    return f"{where} has a type perfloop cannot check ({origin!r})"


def _first(items: list[tuple[object, object]], where: str, active: tuple[int, ...]) -> str | None:
    for number, (item, hint) in enumerate(items):
        if hint is type(item) and hint in _ATOMS:
            continue
        problem = _check(item, hint, f"{where}[{number}]", active)
        if problem:
            return problem
    return None


@functools.cache
def _hints(cls: type) -> dict[str, object]:
    return typing.get_type_hints(cls)


def _wrong(value: object, expected: str, where: str) -> str:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return f"{where} is {shown} ({type(value).__qualname__}) where {expected} was expected"


def _name(hint: object) -> str:
    return getattr(hint, "__qualname__", None) or str(hint)
