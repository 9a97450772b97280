"""Whether a function depends on nothing but its arguments and module constants, and
changes nothing: the test a cache over it must pass, said in words when it fails.

One analysis for two users: the `cache-pure-function` rule (which adds a cache only
where it passes) and the gate (a candidate that adds `@functools.lru_cache` or the
like is judged only where it passes, and refused with `impurity`'s reason otherwise).

A function passes (`impurity` gives None) when it has no global/nonlocal/yield/await/
with/del, no nested def or class, no imports; it stores only into locals and into
containers it made itself; it calls only builtins without effects, module functions
that pass the same test, methods of its own fresh containers and of its arguments
(the callers check that those are plain values: ints, strings, bytes), and names
imported from modules other than clocks, randomness, the OS and I/O; and the module
names it reads are bound once, never declared `global` anywhere, and hold constants.

What the syntax cannot show is not seen: a module constant rebound from outside the
module, an imported function with effects, an argument object whose attributes change.
"""

from __future__ import annotations

from collections.abc import Mapping

import libcst as cst

from perfloop.propose.rules import _edits, _tools

EFFECT_FREE_BUILTINS = frozenset(
    {"abs", "all", "any", "ascii", "bin", "bool", "bytes", "chr", "complex", "dict",
     "divmod", "enumerate", "filter", "float", "format", "frozenset", "hex", "int",
     "isinstance", "issubclass", "len", "list", "map", "max", "min", "oct", "ord", "pow",
     "range", "repr", "reversed", "round", "set", "slice", "sorted", "str", "sum", "tuple",
     "type", "zip", "ValueError", "TypeError", "ZeroDivisionError", "ArithmeticError",
     "OverflowError", "IndexError", "KeyError"}
)  # fmt: skip
"""Builtins whose result depends only on their arguments and that change nothing
(a `map` or `filter` only calls what it is given, which the test checks separately)."""

FRESH_CONTAINERS = frozenset({"list", "dict", "set", "bytearray", "sorted"})
"""Calls that return a new container the function may then change."""

IMPURE_MODULES = frozenset(
    {"random", "time", "datetime", "os", "sys", "uuid", "secrets", "threading", "socket",
     "subprocess", "logging", "io", "shutil", "tempfile", "pathlib", "warnings", "signal",
     "asyncio", "multiprocessing", "builtins", "gc", "inspect", "ctypes"}
)  # fmt: skip
"""Modules whose functions read or change state outside their arguments (the file
system, the clock, randomness, the process, other threads)."""

_WHAT_THEY_READ = {
    **dict.fromkeys(("os", "io", "shutil", "tempfile", "pathlib"), "the file system"),
    **dict.fromkeys(("time", "datetime"), "the clock"),
    **dict.fromkeys(("random", "secrets", "uuid"), "randomness"),
    **dict.fromkeys(("socket", "subprocess", "signal"), "the outside world"),
}


def what_it_reads(module: str) -> str:
    """What a function of the impure `module` reads or changes, in words."""
    return _WHAT_THEY_READ.get(module.split(".")[0], "the state of the process")


_DISALLOWED = {
    cst.Global: "declares a name `global`",
    cst.Nonlocal: "declares a name `nonlocal`",
    cst.Yield: "is a generator (`yield`)",
    cst.Await: "awaits",
    cst.With: "enters a `with` block (a context manager's effects)",
    cst.Del: "deletes names or items (`del`)",
    cst.ClassDef: "defines a class inside",
    cst.FunctionDef: "defines a function inside",
    cst.Import: "imports inside its body",
    cst.ImportFrom: "imports inside its body",
}


def module_view(module: cst.Module) -> ModuleView:
    """The view of `module` for `impurity` (its module-level bindings computed here)."""
    return ModuleView(module, _tools.module_level_bindings(module))


class ModuleView:
    """What the purity test needs to know about the module, computed once per module."""

    def __init__(self, module: cst.Module, bindings: Mapping[str, tuple[cst.CSTNode, ...]]):
        self.bindings = bindings
        self.declared_global = {
            name.value
            for node in _tools.walk(module)
            if isinstance(node, cst.Global)
            for name in (item.name for item in node.names)
        }
        self.functions = {
            statement.name.value: statement
            for statement in module.body
            if isinstance(statement, cst.FunctionDef)
        }
        self.verdicts: dict[str, str | None] = {}

    def constant(self, name: str) -> bool:
        """`name` is bound only by the module's top-level statements (they run once, at
        import), each an import, a pure function or a constant, and nothing declares it
        global."""
        return self.not_constant(name) is None

    def not_constant(self, name: str) -> str | None:
        """Why the module name `name` may hold something else between calls, or None."""
        if name in self.declared_global:
            return f"the module variable `{name}`, which a function declares `global`"
        statements = self.bindings.get(name, ())
        if not statements:
            return f"`{name}`, which the module does not bind"
        for statement in statements:
            why = self._not_constant_binding(name, statement)
            if why is not None:
                return why
        return None

    def _not_constant_binding(self, name: str, statement: cst.CSTNode) -> str | None:
        if isinstance(statement, (cst.Import, cst.ImportFrom)):
            impure = _impure_import(statement)
            if impure is None:
                return None
            return f"`{name}`, from the module {impure}, which reads {what_it_reads(impure)}"
        if isinstance(statement, cst.FunctionDef):
            why = self.impurity(statement)
            return None if why is None else f"the function `{name}`, which {why}"
        value = None
        if isinstance(statement, cst.Assign):
            if all(isinstance(t.target, cst.Name) for t in statement.targets):
                value = statement.value
        elif isinstance(statement, cst.AnnAssign):
            value = statement.value
        if value is not None and _constant_expression(
            value, self._imports_re(), self._typing_names()
        ):
            return None
        return f"the module variable `{name}`, which holds a mutable object or is set by code"

    def impure_import(self, name: str) -> str | None:
        """The impure module the module name `name` is imported from, or None."""
        for statement in self.bindings.get(name, ()):
            if isinstance(statement, (cst.Import, cst.ImportFrom)):
                impure = _impure_import(statement)
                if impure is not None:
                    return impure
        return None

    def _imports_re(self) -> bool:
        """`re` names the regular-expression module: bound only by `import re`."""
        statements = self.bindings.get("re", ())
        return (
            bool(statements)
            and "re" not in self.declared_global
            and all(
                isinstance(s, cst.Import)
                and any(_edits._dotted(a.name) == "re" and a.asname is None for a in s.names)
                for s in statements
            )
        )

    def _typing_names(self) -> frozenset[str]:
        """Names the module takes from `typing` by `from typing import NAME` (bound once)."""
        names = set()
        for name, statements in self.bindings.items():
            if len(statements) == 1 and isinstance(statements[0], cst.ImportFrom):
                statement = statements[0]
                module = statement.module
                if (
                    module is not None
                    and not statement.relative
                    and _edits._dotted(module) in {"typing", "typing_extensions"}
                ):
                    names.add(name)
        return frozenset(names)

    def pure(self, func: cst.FunctionDef) -> bool:
        return self.impurity(func) is None

    def impurity(self, func: cst.FunctionDef) -> str | None:
        """Why `func` may answer the same arguments differently, or change something, or None."""
        name = func.name.value
        if name not in self.verdicts:
            self.verdicts[name] = None  # recursion: assumed pure while being checked
            self.verdicts[name] = impurity(func, self)
        return self.verdicts[name]


def _impure_import(statement: cst.Import | cst.ImportFrom) -> str | None:
    """The module an import takes from that is in IMPURE_MODULES, or None."""
    if isinstance(statement, cst.ImportFrom):
        if statement.relative:
            return None
        module = statement.module
        dotted = _edits._dotted(module) if module is not None else ""
        return dotted if dotted.split(".")[0] in IMPURE_MODULES else None
    for alias in statement.names:
        dotted = _edits._dotted(alias.name)
        if dotted.split(".")[0] in IMPURE_MODULES:
            return dotted
    return None


def _constant_expression(
    node: cst.BaseExpression, re_module: bool = False, typing_names: frozenset[str] = frozenset()
) -> bool:
    """Literals, operators on them, tuples and frozensets of them, other constants; with
    `re_module` (`re` is the module), also `re.compile(...)` of them: a compiled pattern
    cannot change (packaging 21.3's `canonicalize_name` reads `_canonicalize_regex`); and
    calls of `typing_names` (`NewType`, `TypeVar`: packaging's `NormalizedName`)."""
    for inner in _tools.walk(node):
        if isinstance(inner, cst.Call):
            func = inner.func
            if re_module and isinstance(func, cst.Attribute) and _code(func) == "re.compile":
                continue
            if _code(func) in typing_names:
                continue
            if not (isinstance(func, cst.Name) and func.value in {"frozenset", "int"}):
                return False
        elif isinstance(inner, (cst.List, cst.Dict, cst.Set, *_tools.COMPREHENSIONS, cst.Lambda)):
            return False
    return True


def _fresh_locals(func: cst.FunctionDef, analysis: _tools.Analysis) -> set[str]:
    """Locals every binding of which makes a new container (a literal, a comprehension,
    `[x] * n`, `list(...)`): the function may change them."""
    fresh = set()
    for name in _tools.bound_names(func.body):
        bindings = analysis.bindings_of(name)
        if bindings and all(_makes_container(b) for b in bindings):
            fresh.add(name)
    return fresh


def _makes_container(binding: _tools.Occurrence) -> bool:
    """True if `binding` is `NAME = <a new container>`."""
    assign = binding.ancestors[-2] if len(binding.ancestors) >= 2 else None
    if not (
        isinstance(assign, cst.Assign)
        and len(assign.targets) == 1
        and assign.targets[0].target is binding.node
    ):
        return False
    value = assign.value
    if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.ListComp, cst.SetComp, cst.DictComp)):
        return True
    if isinstance(value, cst.BinaryOperation) and isinstance(value.operator, cst.Multiply):
        return isinstance(value.left, cst.List)
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, cst.Name)
        and value.func.value in FRESH_CONTAINERS
    )


def _root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, (cst.Attribute, cst.Subscript)):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node)


def impurity(func: cst.FunctionDef, view: ModuleView) -> str | None:
    """Why `func` is not pure across calls (in words: "calls `os.path.exists` ..."), or
    None. The first reason found, in the order of the body."""
    if func.decorators:
        return "has decorators, whose effects perfloop does not know"
    if func.asynchronous is not None:
        return "is async"
    body = func.body
    for node in _tools.walk(body):
        for kind, why in _DISALLOWED.items():
            if isinstance(node, kind):
                return why
    analysis = _tools.Analysis.of(func)
    params = {p.name.value for p in _edits.params_of(func)}
    local = _tools.bound_names(func.body) | params
    fresh = _fresh_locals(func, analysis) - params
    for node in _tools.walk(body):
        if isinstance(node, cst.Name) and not analysis.is_store(node):
            why = _unreadable(node, analysis, local, view)
            if why is not None:
                return f"reads {why}"
        elif isinstance(node, (cst.AssignTarget, cst.AugAssign, cst.AnnAssign)):
            target = node.target
            if not isinstance(target, cst.Name) and not _changes_fresh(target, fresh):
                return f"changes `{_code(target)}`, which outlives the call"
        elif isinstance(node, cst.Call):
            why = _call_refused(node, local, fresh, view)
            if why is not None:
                return f"calls `{_code(node.func)}`{why}"
    return None


def _unreadable(
    node: cst.Name, analysis: _tools.Analysis, local: set[str], view: ModuleView
) -> str | None:
    parent = analysis.ancestors(node)[-1] if analysis.ancestors(node) else None
    if isinstance(parent, cst.Attribute) and parent.attr is node:
        return None  # an attribute's name, not a variable
    if isinstance(parent, (cst.Arg,)) and parent.keyword is node:
        return None
    name = node.value
    if name in local or name in {"True", "False", "None"}:
        return None
    if name in view.bindings:
        return view.not_constant(name)
    if name in _tools.BUILTIN_NAMES and name in EFFECT_FREE_BUILTINS:
        return None
    if name in _tools.BUILTIN_NAMES:
        return f"the builtin `{name}`, which may have effects or read outside state"
    return f"`{name}`, which the module does not bind (set from outside)"


def _changes_fresh(target: cst.BaseExpression, fresh: set[str]) -> bool:
    if isinstance(target, (cst.Tuple, cst.List)):
        return all(
            isinstance(e.value, cst.Name) or _changes_fresh(e.value, fresh) for e in target.elements
        )
    return isinstance(target, cst.Subscript) and _root_name(target) in fresh


def _module_name_refused(name: str, view: ModuleView) -> str | None:
    """For a call through a name the module binds or imports: why it may read outside
    state (an import of a clock, randomness, the OS or I/O; a name that is no constant)."""
    impure = view.impure_import(name)
    if impure is not None:
        return f", from the module {impure}, which reads {what_it_reads(impure)}"
    why = view.not_constant(name)
    return None if why is None else f": {why}"


def _call_refused(call: cst.Call, local: set[str], fresh: set[str], view: ModuleView) -> str | None:
    """Why the call may have effects or read outside state (said after "calls `f`"), or None."""
    func = call.func
    if isinstance(func, cst.Name):
        name = func.value
        if name in local:
            return ", a callable it was given or made, whose effects are unknown"
        if view.impure_import(name) is not None or name in view.bindings:
            return _module_name_refused(name, view)
        if name in EFFECT_FREE_BUILTINS:
            return None
        return ", which may have effects or read outside state"
    if isinstance(func, cst.Attribute):
        root = _root_name(func.value)
        if root is not None and root in fresh:
            return None
        if func.attr.value in _edits.MUTATING_METHODS:
            return f", which changes `{_code(func.value)}` in place"
        if root is None:  # a method of a literal or of a call's result: "".join(...)
            if isinstance(func.value, (cst.SimpleString, cst.ConcatenatedString, cst.Call)):
                return None
            return ", a method of an object whose effects are unknown"
        if root in local:
            return None  # the callers check that arguments are ints, strings or bytes
        if view.impure_import(root) is not None or root in view.bindings:
            return _module_name_refused(root, view)
        return f", and `{root}` is not bound in the module"
    return ", a computed callable whose effects are unknown"
