"""Load the user's modules, original or with a candidate's source in place.

A candidate is a whole new module source. Serving it through an import hook
runs it exactly as if the patch were applied on disk, without touching the
user's files: the same module name, the same file name in tracebacks, classes
that pickled instances resolve to. Used by replay, by measurement, and by the
whole-workload A/B. Standard library and perfloop.runtime only: this runs inside user
processes.
"""

from __future__ import annotations

import ast
import collections
import contextlib
import copy
import functools
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import types
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from perfloop.runtime import pickling, state


class _SourceLoader(importlib.abc.SourceLoader):
    """Serves a given source text for one file; never reads or writes bytecode."""

    def __init__(self, path: str, source: str) -> None:
        self.path = path
        self.source = source

    def get_filename(self, fullname: str) -> str:
        return self.path

    def get_data(self, path: str) -> bytes:
        if path == self.path:
            return self.source.encode("utf-8")
        with open(path, "rb") as handle:
            return handle.read()


class _WrappingLoader(importlib.abc.Loader):
    """Delegates to the real loader, then calls back once the module has executed."""

    def __init__(self, inner: importlib.abc.Loader, after: Callable[[types.ModuleType], None]):
        self.inner = inner
        self.after = after

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        self.inner.exec_module(module)
        self.after(module)

    def __getattr__(self, name: str) -> object:
        return getattr(self.inner, name)


class ProjectImportHook(importlib.abc.MetaPathFinder):
    """Serves overridden sources and runs callbacks after chosen modules execute."""

    def __init__(self) -> None:
        self.sources: dict[str, tuple[str, str]] = {}
        self.after_exec: dict[str, list[Callable[[types.ModuleType], None]]] = {}
        # top-level package -> callbacks after each of its modules executes
        self.after_exec_in: dict[str, list[Callable[[types.ModuleType], None]]] = {}

    def override(self, module: str, path: str, source: str) -> None:
        self.sources[module] = (path, source)

    def on_import(self, module: str, callback: Callable[[types.ModuleType], None]) -> None:
        self.after_exec.setdefault(module, []).append(callback)

    def on_import_in(self, package: str, callback: Callable[[types.ModuleType], None]) -> None:
        """Call back after each module of the top-level `package` executes (run first,
        before the callbacks of `on_import`)."""
        callbacks = self.after_exec_in.setdefault(package, [])
        if callback not in callbacks:
            callbacks.append(callback)

    def _callbacks(self, fullname: str) -> list[Callable[[types.ModuleType], None]]:
        return [
            *self.after_exec_in.get(fullname.partition(".")[0], []),
            *self.after_exec.get(fullname, []),
        ]

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.sources and not self._callbacks(fullname):
            return None
        if fullname in self.sources:
            file_path, source = self.sources[fullname]
            spec = importlib.util.spec_from_file_location(
                fullname, file_path, loader=_SourceLoader(file_path, source)
            )
        else:
            spec = self._find_elsewhere(fullname, path, target)
        if spec is None or spec.loader is None:
            return spec
        callbacks = self._callbacks(fullname)
        if callbacks:

            def after(module: types.ModuleType) -> None:
                for callback in callbacks:
                    callback(module)

            spec.loader = _WrappingLoader(spec.loader, after)  # type: ignore[assignment]
        return spec

    def _find_elsewhere(
        self, fullname: str, path: Sequence[str] | None, target: types.ModuleType | None
    ) -> importlib.machinery.ModuleSpec | None:
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                return spec
        return None


_HOOK: ProjectImportHook | None = None


def import_hook() -> ProjectImportHook:
    """The process's one hook, installed first on sys.meta_path on first use."""
    global _HOOK
    if _HOOK is None:
        _HOOK = ProjectImportHook()
        sys.meta_path.insert(0, _HOOK)
    return _HOOK


def load_module_copy(
    name: str, path: str, source: str, original_source: str | None = None
) -> types.ModuleType:
    """Execute `source` as a separate module object (not in sys.modules) named `name`.

    Lets one process hold the original and a candidate side by side for A/B timing.
    With `original_source`, the globals `source` defines otherwise keep the copy's own
    values when a recorded call's state is put in place (`state.define_anew`).
    """
    spec = importlib.util.spec_from_file_location(name, path, loader=_SourceLoader(path, source))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    live = sys.modules.get(name)
    if live is not None and live is not module:
        sources = (source,) if original_source is None else (source, original_source)
        for attribute in set_from_outside(vars(live), vars(module), sources):
            setattr(module, attribute, getattr(live, attribute))
    if original_source is not None and original_source != source:
        state.define_anew(module, redefined_names(original_source, source))
    return module


def set_from_outside(
    live: dict[str, object], copied: dict[str, object], sources: Sequence[str]
) -> list[str]:
    """The globals the live module holds that another module set on it at run time: not in
    the copy after executing its source, and bound by no module-level statement (nor a
    `global` declaration) of any of `sources`.

    mpmath 1.3.0's `__init__` sets `ctx_mp_python.mpf = mp.mpf` (a class its context
    makes at run time), and recorded `mpf` values pickle as `mpmath.ctx_mp_python.mpf`.
    A module copy of ctx_mp_python lacked it, so nothing recorded of
    `PythonMPContext.fdot` unpickled under a copy ("Can't get attribute 'mpf'") and its 5
    verified rewrites were never timed. A name a source binds stays as the copy has it
    (a candidate that drops a helper does not get the original's back)."""
    missing = [name for name in live if name not in copied and not name.startswith("__")]
    if not missing:
        return []
    bound = set().union(*(_module_level_names(source) for source in sources))
    return [name for name in missing if name not in bound]


@functools.lru_cache(maxsize=16)
def _module_level_names(source: str) -> frozenset[str]:
    """The names `source` may bind in its module's namespace: every name stored, defined,
    imported or caught outside function and class bodies (in `if`, `try`, loops and `with`
    too), and every name a `global` statement anywhere declares. More is harmless here: a
    name listed is only one the copy is not given from the live module."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return frozenset()
    names: set[str] = set()
    pending: list[ast.AST] = [tree]
    while pending:
        node = pending.pop()
        if isinstance(node, ast.stmt):
            names.update(_bound_by(node))
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Global):
                    names.update(inner.names)
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        pending.extend(ast.iter_child_nodes(node))
    return frozenset(names)


@functools.lru_cache(maxsize=8)
def redefined_names(original_source: str, source: str) -> frozenset[str]:
    """The top-level names both sources bind that `source` binds by a statement of its own
    (not in `original_source`): a constant a maintainer's edit changed with the function
    that reads it (construct's BITS2BYTES_CACHE, ints where it held bytes).

    Cached: a timing process loads the same two sources again and again, and comparing
    pyparsing 3.1.4's core (6,000 lines) took 0.26 s a load, 1.8 s of a 9.8 s process."""
    try:
        old_tree, new_tree = ast.parse(original_source), ast.parse(source)
    except SyntaxError:
        return frozenset()
    old_dumps = {ast.dump(node) for node in old_tree.body}
    old_names = {name for node in old_tree.body for name in _bound_by(node)}
    return frozenset(
        name
        for node in new_tree.body
        if ast.dump(node) not in old_dumps
        for name in _bound_by(node)
        if name in old_names
    )


def _bound_by(node: ast.stmt) -> list[str]:
    """The names a top-level statement binds (assignments, defs, classes, imports)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    if isinstance(node, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [
            name.id for target in targets for name in ast.walk(target) if isinstance(name, ast.Name)
        ]
    return []


@dataclass(frozen=True)
class Target:
    """A target function as its module holds it, and how perfloop calls it.

    `raw` is what `owner` holds under `attribute` (the name-mangled name for a
    private method `Class.__m`): a function, a staticmethod, a classmethod, a
    property, a cache or another decorator's wrapper. `function` is the plain
    function whose code is the target (decorators unwrapped), and `call` is what
    replay, fuzzing and timing call with the recorded arguments:

    - a plain function or method: the function itself (a method gets self first);
    - a staticmethod: the function (no self); a classmethod: the function, with
      the class first, as the recorder sees it; a property: its getter (self only);
    - a cache (`functools.lru_cache`, `cache`, `cached_property`, anything with
      `cache_info`/`cache_clear`): the undecorated function. Through a cache a call
      would be a lookup of what an earlier call computed, so replay would compare
      nothing and timing would measure the lookup; the undecorated code gives the
      same results for the same arguments, and its speed is what a rewrite changes;
    - any other decorator (`functools.wraps` wrappers, validators, counters): the
      decorated function, as callers call it, so what the decorator adds (argument
      conversion, checks) is part of what is compared.
    """

    owner: object
    attribute: str
    raw: object
    function: types.FunctionType
    call: Callable[..., object]
    receiver: str | None
    """"self" or "cls" when the first recorded argument is the instance or class."""

    @property
    def code(self) -> types.CodeType:
        return self.function.__code__

    def timed(self, original: Target) -> Callable[..., object]:
        """What timing calls for this version of a target whose original is `original`:
        `call`, except for a cache this version adds (the original has none), where it is
        the cached function, as callers call it. Replay and fuzzing compare `call` (the
        undecorated body: a lookup compares nothing); timing the body would hide what the
        cache is for. Timing the cache over repeated recorded calls times lookups, which
        the measure stage sees (the candidate learns) and judges on the whole workload
        instead. A cache both versions have stays out of timing, as a rewrite of the body
        changes only the body's speed."""
        if is_cache(self.raw) and not is_cache(original.raw) and self.receiver is None:
            return self.raw  # type: ignore[return-value]
        return self.call


def call_expression(target: Target, qualname: str) -> str:
    """Python code that reaches `target.call` after `from module import Head`, for a
    pasteable call: `C._C__scan` for `C.__scan`, `C.ratio.fget` for a property,
    `C.make.__func__` for a classmethod (it takes the class first, as recorded),
    `fib.__wrapped__` for a cache."""
    prefix = qualname.rsplit(".", 1)[0] + "." if "." in qualname else ""
    base = f"{prefix}{target.attribute}"
    raw = target.raw
    if isinstance(raw, staticmethod):
        return base  # reached through the class, a staticmethod is its function
    if isinstance(raw, classmethod):
        return f"{base}.__func__"
    if isinstance(raw, property):
        return f"{base}.fget"
    if isinstance(raw, functools.cached_property):
        return f"{prefix}__dict__[{target.attribute!r}].func"
    current, expression = raw, base
    while current is not target.call and hasattr(current, "__wrapped__"):
        current, expression = current.__wrapped__, f"{expression}.__wrapped__"
    return expression if current is target.call else base


def attribute_name(owner: object, name: str) -> str:
    """The name `name` has in `owner`'s dict: `__m` in class `C` is stored as `_C__m`."""
    if isinstance(owner, type) and name.startswith("__") and not name.endswith("__"):
        stripped = owner.__name__.lstrip("_")
        return f"_{stripped}{name}" if stripped else name
    return name


def resolve_target(module: types.ModuleType, qualname: str) -> Target:
    """The target `qualname` in `module`; AttributeError if it is not there, TypeError if
    it is not (or does not wrap) a Python function, with what to do about it."""
    parts = qualname.split(".")
    owner = owner_of(module, qualname)
    attribute = attribute_name(owner, parts[-1])
    if isinstance(owner, type):
        if attribute not in owner.__dict__:
            raise AttributeError(f"{owner.__qualname__} has no attribute {attribute!r}")
        raw = owner.__dict__[attribute]
    else:
        raw = getattr(owner, attribute)
    in_class = isinstance(owner, type)
    function, call, receiver = _unwrap(raw, qualname, in_class)
    return Target(owner, attribute, raw, function, call, receiver)


def owner_of(module: types.ModuleType, qualname: str) -> object:
    """What holds the target `qualname` in `module`: the module, or its class (nested).

    A class whose name the module binds to its one instance is the class: construct
    2.10's `@singleton class VarInt(Construct)` (the decorator returns `VarInt()`) leaves
    `construct.core.VarInt` an instance, and `VarInt._build` is a method of its class,
    which every caller reaches as `self._build`."""
    owner: object = module
    parts = qualname.split(".")
    for depth, part in enumerate(parts[:-1], 1):
        owner = getattr(owner, attribute_name(owner, part))
        cls = type(owner)
        if (
            not isinstance(owner, type)
            and cls.__qualname__ == ".".join(parts[:depth])
            and cls.__module__ == module.__name__
        ):
            owner = cls
    return owner


def _unwrap(
    raw: object, qualname: str, in_class: bool
) -> tuple[types.FunctionType, Callable[..., object], str | None]:
    """(the plain function, what to call with recorded arguments, the receiver's name)."""
    if isinstance(raw, staticmethod):
        function = _plain_function(raw.__func__, qualname)
        return function, function, None
    if isinstance(raw, classmethod):
        function = _plain_function(raw.__func__, qualname)
        return function, function, "cls"
    if isinstance(raw, property):
        if raw.fget is None:
            raise TypeError(f"{qualname} is a property without a getter")
        function = _plain_function(raw.fget, qualname)
        return function, function, "self"
    if isinstance(raw, functools.cached_property):
        function = _plain_function(raw.func, qualname)
        return function, function, "self"
    receiver = "self" if in_class else None
    function = _plain_function(raw, qualname)
    if is_cache(raw):
        return function, function, receiver
    if not callable(raw):
        raise TypeError(f"{qualname} is a {type(raw).__name__}, not a Python function")
    return function, raw, receiver  # type: ignore[return-value]


def is_cache(value: object) -> bool:
    """A memoising decorator's wrapper (functools.lru_cache and cache, cachetools-like)."""
    return hasattr(value, "__wrapped__") and any(
        hasattr(value, name) for name in ("cache_info", "cache_clear", "cache_parameters")
    )


def _plain_function(value: object, qualname: str) -> types.FunctionType:
    """The function defined as `qualname`, found through `__wrapped__` links.

    A function bound under another name (`C.m = helper`) is taken as it is; one made
    inside another function (`decorator.<locals>.wrapper`) without a `__wrapped__`
    link hides the target, and the error says how to fix the decorator.
    """
    current = value
    for _ in range(100):
        if not hasattr(current, "__wrapped__"):
            break
        if _named(current, qualname) and _HAS_CODE_QUALNAME:  # 3.10: wraps copies __qualname__
            break
        current = current.__wrapped__  # type: ignore[attr-defined]
    if not isinstance(current, types.FunctionType):
        raise TypeError(f"{qualname} is a {type(value).__name__}, not a Python function")
    if not _named(current, qualname) and "<locals>" in _code_qualname(current):
        raise TypeError(
            f"{qualname} is replaced by {_code_qualname(current)} when the module runs (a "
            "decorator that does not keep the original in __wrapped__); use functools.wraps "
            "in the decorator so perfloop can find the function"
        )
    return current


_HAS_CODE_QUALNAME = sys.version_info >= (3, 11)


def _named(value: object, qualname: str) -> bool:
    """Defined as `qualname`: by its code's name, which functools.wraps does not copy."""
    return isinstance(value, types.FunctionType) and _code_qualname(value) == qualname


def _code_qualname(function: types.FunctionType) -> str:
    return str(getattr(function.__code__, "co_qualname", function.__qualname__))


def resolve_function(module: types.ModuleType, qualname: str) -> Callable[..., object]:
    """What to call with the recorded arguments of `qualname` (see Target)."""
    return resolve_target(module, qualname).call


def bindings(module: types.ModuleType, target: Target) -> list[tuple[object, str]]:
    """Every (owner, attribute) in `module` and its classes that holds the target's object.

    Code calls a function by whatever name it was bound to: pyparsing 3.1 binds
    `_parse = _parseNoCache` in a class body and calls `self._parse`, so recording
    only `_parseNoCache` would record nothing. The target's own binding comes first.
    """
    found = [(target.owner, target.attribute)]
    for owner in _namespaces(module):
        for name, value in list(vars(owner).items()):
            if value is target.raw and (owner, name) != (target.owner, target.attribute):
                found.append((owner, name))
    return found


def _namespaces(module: types.ModuleType) -> list[object]:
    """The module and every class defined in it, nested classes included."""
    found: list[object] = [module]
    index = 0
    while index < len(found):
        for value in list(vars(found[index]).values()):
            if (
                isinstance(value, type)
                and value.__module__ == module.__name__
                and all(value is not seen for seen in found)
            ):
                found.append(value)
        index += 1
    return found


_DESCRIPTORS = (staticmethod, classmethod, property, functools.cached_property)


def wrap_everywhere(
    module: types.ModuleType,
    target: Target,
    wrap: Callable[[Callable[..., object]], Callable[..., object]],
) -> tuple[str, ...]:
    """Put `wrap(inner)` in place of the target at every binding (registries too: see
    replace_in_registries); the names it now has.

    `inner` is what callers reach through the binding, so behaviour is unchanged:
    the cache or decorator itself for a decorated function (a cached call stays a
    lookup), the plain function inside a staticmethod, classmethod or property. The
    wrapper then receives the arguments `target.call` takes. The descriptor kind is
    kept (a staticmethod stays static, a property keeps its setter).
    """
    raw = target.raw
    inner = target.function if isinstance(raw, _DESCRIPTORS) else raw
    wrapper = wrap(inner)  # type: ignore[arg-type]
    replacement = _rebind(target, wrapper)
    # registries hold what the decorator was given: the plain function under a descriptor
    held = {id(raw): replacement, id(inner): wrapper}
    names = []
    for owner, name in bindings(module, target):
        shown = _shown(owner, name)
        try:
            setattr(owner, name, replacement)
        except (AttributeError, TypeError) as exc:  # a class that refuses new attributes
            if not names:
                message = f"{shown} cannot be replaced by a recording wrapper: {exc}"
                raise TypeError(message) from exc
            continue
        names.append(shown)
    for function, parameter in default_bindings(module, target):
        _set_default(function, parameter, replacement)
        names.append(f"{function.__qualname__}({parameter}=...)")
    names.extend(replace_in_registries(module, held))
    return tuple(names)


_REGISTRY_TYPES = (dict, list, set, collections.OrderedDict, collections.defaultdict)
_REGISTRY_DEPTH = 2  # `_checks['logical_line'][check]`: two containers below a global
_REGISTRY_MAX_ITEMS = 10_000  # a bigger container is a table of data, not a registry


def replace_in_registries(module: types.ModuleType, held: dict[int, object]) -> list[str]:
    """Put `held[id(x)]` in place of each `x` that a registry holds, in place; where.

    A registry is a dict, list or set (exactly those, or OrderedDict and defaultdict)
    reached from the globals of `module`, of its classes and of the other imported
    modules of its package, within two containers, holding the object as a key, a
    value, an item, or inside a tuple item. Registration decorators keep functions
    there and their callers never name them: pycodestyle 2.14's `@register_check`
    keeps every check as a key of `_checks['logical_line']`, and `Checker` calls them
    from there, so recording only the module's names recorded no call. Dict keys are
    put back in their order; tuples are rebuilt.
    """
    package = module.__name__.partition(".")[0]
    namespaces: list[tuple[str, object]] = [
        (f"{owner.__qualname__}." if isinstance(owner, type) else "", owner)  # type: ignore[attr-defined]
        for owner in _namespaces(module)
    ]
    for name, other in list(sys.modules.items()):
        if other is not module and (name == package or name.startswith(package + ".")):
            namespaces.append((f"{name}.", other))
    replaced: list[str] = []
    seen: set[int] = set()
    for prefix, owner in namespaces:
        try:
            attributes = list(vars(owner).items())
        except TypeError:
            continue
        pending = [(f"{prefix}{name}", value, 0) for name, value in attributes]
        while pending:
            where, value, depth = pending.pop()
            if type(value) not in _REGISTRY_TYPES or id(value) in seen:
                continue
            seen.add(id(value))
            if len(value) > _REGISTRY_MAX_ITEMS:
                continue
            if _replace_items(value, held):
                replaced.append(where)
            if depth < _REGISTRY_DEPTH and not isinstance(value, set):
                items = value.items() if isinstance(value, dict) else enumerate(value)
                pending.extend(
                    (f"{where}[{_short_key(key)}]", child, depth + 1) for key, child in items
                )
    return replaced


def _short_key(key: object) -> str:
    text = repr(key) if isinstance(key, (str, int)) else "..."
    return text if len(text) <= 40 else "..."


def _replace_items(container: object, held: dict[int, object]) -> bool:
    """Swap the held objects in one container (see replace_in_registries); whether any."""

    def swapped(item: object) -> object:
        if id(item) in held:
            return held[id(item)]
        if type(item) is tuple and any(id(part) in held for part in item):
            return tuple(held.get(id(part), part) for part in item)
        return item

    if isinstance(container, dict):
        items = list(container.items())
        new = [(swapped(key), swapped(value)) for key, value in items]
        if all(a is c and b is d for (a, b), (c, d) in zip(items, new)):
            return False
        if any(key is not new_key for (key, _), (new_key, _) in zip(items, new)):
            container.clear()  # a key changed: rebuilt, in the same order
            container.update(new)
        else:
            for (key, _), (_, value) in zip(items, new):
                container[key] = value
        return True
    if isinstance(container, list):
        changed = False
        for index, item in enumerate(container):
            new_item = swapped(item)
            if new_item is not item:
                container[index] = new_item
                changed = True
        return changed
    if isinstance(container, set):
        found = [item for item in container if swapped(item) is not item]
        for item in found:
            container.discard(item)
            container.add(swapped(item))
        return bool(found)
    return False


def default_bindings(
    module: types.ModuleType, target: Target
) -> list[tuple[types.FunctionType, str]]:
    """(function, parameter) for each function of `module` and its classes whose parameter
    defaults to the target's object: rich 13.9's `cell_len(text, _cell_len=cached_cell_len)`
    calls its cache only through the default, bound when `cell_len` was defined."""
    found = []
    for owner in _namespaces(module):
        for value in list(vars(owner).values()):
            # only a staticmethod or classmethod is looked into: asking any module value
            # for `__func__` runs its class's __getattr__, and pyasn1 0.6.1's `noValue`
            # raises PyAsn1Error there (not AttributeError), which broke every recording
            is_wrapper = isinstance(value, (staticmethod, classmethod))
            function = value.__func__ if is_wrapper else value
            if not isinstance(function, types.FunctionType):
                continue
            code = function.__code__
            positional = code.co_varnames[: code.co_argcount]
            defaults = function.__defaults__ or ()
            for name, default in zip(positional[len(positional) - len(defaults) :], defaults):
                if default is target.raw:
                    found.append((function, name))
            for name, default in (function.__kwdefaults__ or {}).items():
                if default is target.raw:
                    found.append((function, name))
    return found


def _set_default(function: types.FunctionType, parameter: str, value: object) -> None:
    code = function.__code__
    positional = code.co_varnames[: code.co_argcount]
    defaults = list(function.__defaults__ or ())
    first = len(positional) - len(defaults)
    if parameter in positional[first:]:
        defaults[positional.index(parameter) - first] = value
        function.__defaults__ = tuple(defaults)
    else:
        function.__kwdefaults__ = {**(function.__kwdefaults__ or {}), parameter: value}


def _shown(owner: object, name: str) -> str:
    return f"{owner.__qualname__}.{name}" if isinstance(owner, type) else name  # type: ignore[attr-defined]


def bound_names(module: types.ModuleType, target: Target) -> tuple[str, ...]:
    """The names the target has in its module and its classes (as wrap_everywhere says)."""
    return tuple(_shown(owner, name) for owner, name in bindings(module, target))


def _rebind(target: Target, wrapper: Callable[..., object]) -> object:
    raw = target.raw
    if isinstance(raw, staticmethod):
        return staticmethod(wrapper)
    if isinstance(raw, classmethod):
        return classmethod(wrapper)
    if isinstance(raw, property):
        return raw.getter(wrapper)
    if isinstance(raw, functools.cached_property):
        replacement = functools.cached_property(wrapper)
        replacement.attrname = raw.attrname
        return replacement
    if isinstance(target.owner, type) and not hasattr(raw, "__get__"):
        return staticmethod(wrapper)  # a callable object that does not bind self
    return wrapper


def replace_function(
    module: types.ModuleType, qualname: str, replacement: Callable[..., object]
) -> None:
    owner: object = module
    parts = qualname.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, attribute_name(owner, part))
    setattr(owner, attribute_name(owner, parts[-1]), replacement)


def load_function_into(
    module: types.ModuleType, qualname: str, original_source: str, source: str
) -> Callable[..., object] | None:
    """The function `qualname` as `source` (a whole module) defines it, compiled in the
    already-imported `module`: its globals are the module's, a method's name mangling
    and `super()` cell are its class's. Nothing else of the module runs again, so an
    import-time registry (networkx 3.2's `_dispatch`: "Algorithm already exists")
    is not asked twice. Top-level imports, constants and undecorated helper functions the
    candidate adds are run in
    the module when their names are free. A decorated target whose decorators are
    unchanged is not decorated again: the original's decorated object runs the new code
    (`_code_swap`). None when `source` changes more than that (the caller then executes
    the whole module as a copy).
    """
    try:
        old_tree, new_tree = ast.parse(original_source), ast.parse(source)
    except SyntaxError:
        return None
    parts = qualname.split(".")
    if len(parts) > 2:
        return None
    added = _added_statements(old_tree, new_tree, parts[0])
    if added is None:
        return None
    definition = _definition(new_tree, parts)
    decorated = None
    if definition is None:
        decorated = _same_decorators_stripped(old_tree, new_tree, parts)
        definition = decorated
    if definition is None or not _same_class_apart_from(old_tree, new_tree, parts):
        return None
    original: Target | None = None
    if decorated is not None:
        try:
            original = resolve_target(module, qualname)
        except (TypeError, AttributeError):
            return None
        if is_cache(original.raw):  # the cache would answer the candidate's recursive calls
            return None
    added = [node for node in added if not _binds_the_same(module, node)]
    if not _names_free(module, added):
        return None
    filename = getattr(module, "__file__", None) or "<candidate>"
    if added:
        exec(compile(ast.Module(body=added, type_ignores=[]), filename, "exec"), module.__dict__)
    holder = types.ModuleType(module.__name__)
    code = compile(ast.Module(body=[definition], type_ignores=[]), filename, "exec")
    exec(code, module.__dict__, holder.__dict__)
    try:
        target = resolve_target(holder, qualname)
    except (TypeError, KeyError, AttributeError):  # not a plain function or method
        return None
    if original is not None:
        return _code_swap(original, target.function)
    function = target.call
    if len(parts) == 2:
        _point_class_cell(function, owner_of(module, qualname))
    return function


@dataclass(frozen=True)
class CodeSwap:
    """A decorated target's candidate: the original's plain function (inside whatever
    the decorators made of it) runs the candidate's code while it is swapped in."""

    plain: types.FunctionType
    new: types.FunctionType


def _code_swap(original: Target, new: types.FunctionType) -> Callable[..., object] | None:
    """What calls a decorated target's candidate, without running its decorators again
    (networkx 3.4's `@_dispatchable` refuses a second registration; `argmap` compiles
    its wrapper lazily): the original's decorated object, as callers call it, whose plain
    function gets the candidate's code, defaults and keyword defaults while `swapped_in`
    has it in place. None when the two codes cannot be exchanged (other closure cells)."""
    plain = original.function
    if new.__code__.co_freevars != plain.__code__.co_freevars:
        return None
    call = original.call

    def candidate(*args: object, **kwargs: object) -> object:
        return call(*args, **kwargs)

    functools.update_wrapper(candidate, new)  # its signature, name and __wrapped__: the new
    candidate.__perfloop_code_swap__ = CodeSwap(plain, new)  # type: ignore[attr-defined]
    return candidate


def _same_decorators_stripped(
    old_tree: ast.Module, new_tree: ast.Module, parts: list[str]
) -> ast.stmt | None:
    """The decorated def to compile without its decorators, when the new one has the
    same decorators as the original (a registry must not be asked twice); for a
    method, a bare class holding only it. None otherwise."""
    old, new = _decorated_def(old_tree, parts), _decorated_def(new_tree, parts)
    if old is None or new is None or not new.decorator_list:
        return None
    dump = [ast.dump(d) for d in old.decorator_list], [ast.dump(d) for d in new.decorator_list]
    if dump[0] != dump[1]:
        return None
    bare = copy.copy(new)
    bare.decorator_list = []
    if len(parts) == 1:
        return bare
    top = _last_named(new_tree.body, parts[0])
    holder = ast.ClassDef(name=parts[0], bases=[], keywords=[], body=[bare], decorator_list=[])
    if sys.version_info >= (3, 12):
        holder.type_params = []
    return ast.copy_location(holder, top)  # type: ignore[arg-type]


def _decorated_def(
    tree: ast.Module, parts: list[str]
) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
    body = tree.body
    if len(parts) == 2:
        top = _last_named(tree.body, parts[0])
        if not isinstance(top, ast.ClassDef):
            return None
        body = top.body
    found = [node for node in body if _node_named(node, parts[-1])]
    if len(found) != 1 or not isinstance(found[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    return found[0]


def load_class_into(
    module: types.ModuleType,
    qualname: str,
    original_source: str,
    source: str,
    again: bool = False,
) -> type | None:
    """The class `qualname` (top level) as `source` (a whole module) defines it, compiled
    in the already-imported `module` as `load_function_into` compiles a function: its
    globals are the module's, nothing else of the module runs again, and the imports,
    constants and helpers the candidate adds are run in the module when their names are
    free. Every method, class attribute and `__slots__` may differ from the original's.
    None when `source` changes more than the class and such additions. `again`: the same
    source was loaded so before, its additions are in the module; only the class is
    compiled anew (a fresh class, for timing first passes)."""
    try:
        old_tree, new_tree = ast.parse(original_source), ast.parse(source)
    except SyntaxError:
        return None
    if "." in qualname:
        return None
    added = _added_statements(old_tree, new_tree, qualname)
    definition = _last_named(new_tree.body, qualname)
    if added is None or not isinstance(definition, ast.ClassDef):
        return None
    added = [node for node in added if not _binds_the_same(module, node)]
    if not again and not _names_free(module, added):
        return None
    filename = getattr(module, "__file__", None) or "<candidate>"
    if added and not again:
        exec(compile(ast.Module(body=added, type_ignores=[]), filename, "exec"), module.__dict__)
    holder: dict[str, object] = {}
    exec(
        compile(ast.Module(body=[definition], type_ignores=[]), filename, "exec"),
        module.__dict__,
        holder,
    )
    found = holder.get(qualname)
    return found if isinstance(found, type) else None


_Definition = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def _added_statements(
    old_tree: ast.Module, new_tree: ast.Module, top_name: str
) -> list[ast.stmt] | None:
    """The imports and constants `new_tree` adds at the top level; None if it changes
    anything else besides the definition named `top_name` (a class: only one method)."""
    old_dumps = {ast.dump(node) for node in old_tree.body if not _node_named(node, top_name)}
    new_dumps = {ast.dump(node) for node in new_tree.body if not _node_named(node, top_name)}
    if not old_dumps <= new_dumps:
        return None  # the candidate removed or changed another statement
    added = [
        node
        for node in new_tree.body
        if not _node_named(node, top_name) and ast.dump(node) not in old_dumps
    ]
    if not all(_is_import_or_constant(node) for node in added):
        return None
    return added


def _node_named(node: ast.stmt, name: str) -> bool:
    return isinstance(node, _Definition) and node.name == name


def _is_import_or_constant(node: ast.stmt) -> bool:
    """An import, a constant, or a helper function (undecorated: defining it runs nothing)."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return True
    if isinstance(node, ast.FunctionDef):
        return not node.decorator_list
    targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
    return isinstance(node, (ast.Assign, ast.AnnAssign)) and all(
        isinstance(target, ast.Name) for target in targets
    )


def _last_named(body: list[ast.stmt], name: str) -> ast.stmt | None:
    found = [node for node in body if _node_named(node, name)]
    return found[-1] if found else None


def _only_plain(body: list[ast.stmt], name: str) -> ast.stmt | None:
    """The one undecorated def of `name` in `body`; None when it is decorated or defined
    more than once (a property's getter and setter: compiling one alone breaks the other,
    and decorators such as registries must not run twice)."""
    found = [node for node in body if _node_named(node, name)]
    if len(found) != 1 or found[0].decorator_list:  # type: ignore[attr-defined]
        return None
    return found[0]


def _definition(tree: ast.Module, parts: list[str]) -> ast.stmt | None:
    """The def to compile: the function, or for a method a bare class holding only it."""
    if len(parts) == 1:
        top = _only_plain(tree.body, parts[0])
        return top if isinstance(top, (ast.FunctionDef, ast.AsyncFunctionDef)) else None
    top = _last_named(tree.body, parts[0])
    if not isinstance(top, ast.ClassDef):
        return None
    method = _only_plain(top.body, parts[1])
    if not isinstance(method, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return None
    holder = ast.ClassDef(name=top.name, bases=[], keywords=[], body=[method], decorator_list=[])
    if sys.version_info >= (3, 12):
        holder.type_params = []
    return ast.copy_location(holder, top)


def _same_class_apart_from(old_tree: ast.Module, new_tree: ast.Module, parts: list[str]) -> bool:
    """For a method: the class is the same in both sources once that method is left out."""
    if len(parts) == 1:
        return True
    old, new = _last_named(old_tree.body, parts[0]), _last_named(new_tree.body, parts[0])
    if not isinstance(old, ast.ClassDef) or not isinstance(new, ast.ClassDef):
        return False

    def without(node: ast.ClassDef) -> str:
        kept = [item for item in node.body if not _node_named(item, parts[1])]
        return ast.dump(
            ast.ClassDef(node.name, node.bases, node.keywords, kept, node.decorator_list)
        )

    return without(old) == without(new)


_MISSING = object()


def _binds_the_same(module: types.ModuleType, node: ast.stmt) -> bool:
    """An import that binds only names the module already has, to the same objects: a
    candidate's `from registry import not_empty` where the module imports
    `from registry import Dispatchable, not_empty` (the line differs, the names do not).
    Such a line adds nothing, and must not send the candidate to a copy of the module."""
    names = module.__dict__
    if isinstance(node, ast.ImportFrom):
        try:
            source_name = importlib.util.resolve_name(
                "." * node.level + (node.module or ""), module.__package__ or None
            )
        except (ImportError, ValueError):
            return False
        source = sys.modules.get(source_name)
        if source is None:
            return False
        for alias in node.names:
            if alias.name == "*":
                return False
            value = getattr(source, alias.name, _MISSING)
            if value is _MISSING:
                value = sys.modules.get(f"{source_name}.{alias.name}", _MISSING)
            if value is _MISSING or names.get(alias.asname or alias.name, _MISSING) is not value:
                return False
        return True
    if isinstance(node, ast.Import):
        for alias in node.names:
            if alias.name not in sys.modules:
                return False
            bound, value = (
                (alias.asname, sys.modules[alias.name])
                if alias.asname
                else (alias.name.split(".")[0], sys.modules.get(alias.name.split(".")[0]))
            )
            if names.get(bound, _MISSING) is not value:
                return False
        return True
    return False


def _names_free(module: types.ModuleType, added: list[ast.stmt]) -> bool:
    """Whether the added statements bind only names the module does not have yet."""
    for node in added:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [(alias.asname or alias.name).split(".")[0] for alias in node.names]
        elif isinstance(node, ast.FunctionDef):
            names = [node.name]
        else:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]  # type: ignore[attr-defined]
            names = [target.id for target in targets]
        if any(name in module.__dict__ for name in names):
            return False
    return True


def _point_class_cell(function: Callable[..., object], cls: object) -> None:
    """Make `super()` and `__class__` in a method compiled in a stand-in class mean `cls`."""
    code = getattr(function, "__code__", None)
    if code is None or "__class__" not in code.co_freevars:
        return
    cell = function.__closure__[code.co_freevars.index("__class__")]  # type: ignore[index]
    cell.cell_contents = cls


@contextlib.contextmanager
def serving(module: types.ModuleType | None) -> Iterator[None]:
    """Let `module` stand in sys.modules under its name for a while (None: nothing
    changes), so that what is unpickled meanwhile is made from its classes and what is
    pickled names them as the original's. A module copy (a candidate's) also gets its
    own table of the classes made at run time (`pickling.classes_of`)."""
    if module is None:
        yield
        return
    name = module.__name__
    previous = sys.modules.get(name)
    if previous is module:
        yield
        return
    sys.modules[name] = module
    try:
        with pickling.classes_of(module):
            yield
    finally:
        if previous is None:
            sys.modules.pop(name, None)
        else:
            sys.modules[name] = previous


@contextlib.contextmanager
def swapped_in(
    module: types.ModuleType, qualname: str, function: Callable[..., object]
) -> Iterator[None]:
    """Let `function` stand where `qualname` is in `module` for a while (an in-place
    candidate: its recursive calls and the module's other functions reach it)."""
    parts = qualname.split(".")
    owner = owner_of(module, qualname)
    swap = getattr(function, "__perfloop_code_swap__", None)
    if isinstance(swap, CodeSwap):  # a decorated target: its plain function runs the new code
        plain, saved = (
            swap.plain,
            (swap.plain.__code__, swap.plain.__defaults__, swap.plain.__kwdefaults__),
        )
        plain.__code__, plain.__defaults__, plain.__kwdefaults__ = (
            swap.new.__code__,
            swap.new.__defaults__,
            swap.new.__kwdefaults__,
        )
        try:
            yield
        finally:
            plain.__code__, plain.__defaults__, plain.__kwdefaults__ = saved
        return
    name = attribute_name(owner, parts[-1])
    previous = vars(owner)[name]
    setattr(owner, name, _dressed_like(previous, function))
    try:
        yield
    finally:
        setattr(owner, name, previous)


def _dressed_like(previous: object, function: Callable[..., object]) -> object:
    """`function` wrapped as the original was bound: a static or class method, a property."""
    if isinstance(previous, staticmethod):
        return staticmethod(function)
    if isinstance(previous, classmethod):
        return classmethod(function)
    if isinstance(previous, property):
        return property(function, previous.fset, previous.fdel, previous.__doc__)
    return function
