"""gate: cheap static checks that a candidate is worth verifying.

A candidate passes when, in this order:

1. its module parses;
2. it still defines the target function (by qualname, `Class.method` included);
3. the function keeps its name and signature: the kind of def (async or not),
   the decorators, every parameter's name, kind and default, and the annotations;
4. it is not a duplicate of a candidate already tried (normalised AST hash of the
   whole module, kept in `seen`);
5. it differs from the original (normalised: comments and formatting do not count);
6. every module it imports is in the standard library, already imported by the
   original module, or the project's own code: the target's own package, a relative
   import inside it, or a top-level module the caller names in `own_modules`.

Why annotations count as signature: they are runtime data (`__annotations__`)
that `functools.singledispatch`, dataclass-like validators and CLI or web
frameworks read, while verification calls the function directly and would not
notice the difference. Decorators count for the same reason: they change how
every call behaves.

One decorator is judged instead of refused: a cache (`@functools.lru_cache`,
`@cache`, cachetools' `@cached`, ...) added to a module-level function whose body
depends on nothing but its arguments and changes nothing (perfloop.propose.rules._purity, the
analysis the `cache-pure-function` rule uses). A cache over anything else is refused
with what the function reads or changes (`_cache_refusal`); what the recorded calls
must show besides (plain-value arguments, immutable results) is checked once they are
at hand (`gate_on_calls`). Verification then compares the undecorated body, and
timing times the cached function callers call (perfloop.runtime.loader.Target).

Every failure comes back as a `GateResult` with a reason a user can act on; the
gate never raises on bad candidate code.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import re
import sys

import libcst as cst

from perfloop.model import Candidate, GateResult, TargetCapture
from perfloop.propose.rules._purity import module_view
from perfloop.qualnames import find_cst_function, find_function

_FunctionNode = ast.FunctionDef | ast.AsyncFunctionDef


def gate_candidate(
    candidate: Candidate,
    original_module_source: str,
    seen: set[str],
    own_modules: frozenset[str] = frozenset(),
    whole_class: bool = False,
) -> GateResult:
    """Pass or fail `candidate` with a reason; adds its normalised hash to `seen` once checked.

    `whole_class`: the candidate's target is a class, whose methods callers reach must keep
    their signatures (see `_class_change`); the rest of the class may change.

    `own_modules` are top-level modules of the user's project besides the target's
    own package (always counted): importing them adds no dependency.

    The hash goes into `seen` when the candidate gets as far as the duplicate
    check (so the same code is not verified twice, whatever later checks say).
    """
    qualname = candidate.function.qualname
    try:
        tree = ast.parse(candidate.module_source)
    except SyntaxError as error:
        return _fail(
            f"the candidate does not parse: line {error.lineno}: {error.msg}"
            f"{_offending_line(error)}"
        )
    except (ValueError, RecursionError, MemoryError) as error:  # null bytes, absurd nesting
        return _fail(f"the candidate does not parse: {error}")
    try:
        original = ast.parse(original_module_source)
    except SyntaxError as error:
        return _fail(
            f"the original module does not parse (line {error.lineno}: {error.msg}); "
            "was it changed since the workload ran?"
        )

    changed = (
        _class_change(original, tree, qualname)
        if whole_class
        else _function_change(original, tree, qualname)
    )
    if changed is not None:
        return _fail(changed)

    fingerprint = normalised_hash(tree)
    if fingerprint in seen:
        return _fail("duplicate of a candidate already tried")
    seen.add(fingerprint)
    if fingerprint == normalised_hash(original):
        return _fail(
            "no change: the candidate is the same code as the original (at most comments or "
            "formatting differ)"
        )

    own = own_modules | {candidate.function.module.split(".")[0]}
    new_import = _new_dependency(tree, original, candidate.function.module, own)
    if new_import is not None:
        return _fail(new_import)
    return GateResult(passed=True)


def _function_change(original: ast.Module, tree: ast.Module, qualname: str) -> str | None:
    """Why a candidate of the function `qualname` changes what callers reach, or None."""
    new_function = find_function(tree, qualname)
    if new_function is None:
        return (
            f"the candidate has no function {qualname}; a candidate must keep the function it "
            "rewrites under the same name (and in the same class)"
        )
    old_function = find_function(original, qualname)
    if old_function is None:
        return f"the original module has no function {qualname} to compare against"
    added = _added_cache(old_function, new_function)
    if added is not None:
        refused = _cache_refusal(tree, qualname, added)
        if refused is not None:
            return refused
        new_function = _without(new_function, added)
    changed = _signature_change(old_function, new_function)
    if changed is not None:
        return (
            f"the candidate changes the signature of {qualname}: {changed}; callers depend on "
            "it, so keep it exactly as it was"
        )
    return None


# decorators that memoise (functools' and cachetools'): isort 6.0's speedup of
# `exists_case_sensitive` (PR 2264) is `@lru_cache(maxsize=1000)` over a function that
# calls os.path.exists, which a user heard of as "changes the signature"
_CACHES = ("lru_cache", "cache", "cached", "memoize", "memoized", "cached_property")


def _added_cache(old: _FunctionNode, new: _FunctionNode) -> str | None:
    """The memoising decorator the new function adds (its source), else None."""
    old_decorators = {_source(d) for d in old.decorator_list}
    for decorator in new.decorator_list:
        text = _source(decorator) or ""
        name = text.partition("(")[0].rpartition(".")[2]
        if name in _CACHES and text not in old_decorators:
            return text
    return None


def _without(function: _FunctionNode, decorator: str) -> _FunctionNode:
    """`function` without the decorator whose source is `decorator` (for the signature
    check: the cache is judged on its own)."""
    bare = copy.copy(function)
    bare.decorator_list = [d for d in function.decorator_list if _source(d) != decorator]
    return bare


def _cache_refusal(tree: ast.Module, qualname: str, added: str) -> str | None:
    """Why the cache `added` to `qualname` cannot be sound, whatever the calls, or None.

    A cache answers a repeated call with what the first one returned: the same only if
    the function depends on nothing but its arguments and changes nothing (the test in
    perfloop.propose.rules._purity, which the `cache-pure-function` rule uses too). What
    the recorded calls must show besides (hashable plain-value arguments, immutable results) is
    `cache_refusal_on_calls`'s to check."""
    head = f"the candidate adds @{added} to {qualname}, but"
    if "." in qualname:
        return (
            f"{head} {qualname} is defined in a class, and perfloop judges a new cache only on "
            "a module-level function (on a method, a cache keeps its answers by `self`, whose "
            "state can change between calls)"
        )
    module = cst.parse_module(ast.unparse(tree))
    function = find_cst_function(module.body, qualname)
    if function is None:
        return f"{head} perfloop could not find {qualname} in the candidate to check its body"
    view = module_view(module)
    decorators = [d for d in function.decorators if _cst_source(d.decorator) != added]
    why = view.impurity(function.with_changes(decorators=decorators))
    if why is None:
        return None
    return (
        f"{head} {qualname} {why}, so a cached answer can go stale (or an effect would happen "
        "only on the first call): a cache is sound only over a function that depends on "
        "nothing but its arguments and changes nothing"
    )


def _cst_source(node: cst.CSTNode) -> str:
    """A libcst expression's source as ast.unparse writes it (the gate's decorator text)."""
    try:
        return ast.unparse(ast.parse(cst.Module(body=[]).code_for_node(node), mode="eval"))
    except SyntaxError:
        return ""


_VALUE_TYPES = frozenset({"int", "str", "bytes", "NoneType", "bool", "tuple", "frozenset"})
"""Argument types a cache keys soundly: hashable, compared by value, and unequal values
never share a key (float is left out: 0.0 == -0.0; bool and int together neither)."""

_IMMUTABLE_RESULTS = _VALUE_TYPES | {"float", "complex"}
"""Result types a cache may hand to every later caller: nobody can change them."""


def cache_refusal_on_calls(
    candidate: Candidate, original_module_source: str, capture: TargetCapture
) -> str | None:
    """For a candidate the gate passed that adds a cache (see `_cache_refusal`): why the
    recorded calls show the cache would behave differently, or None (also when it adds
    none). Read from the types the recorder wrote down (`ObservedType`, `return_types`;
    a container's items are described from its first five), no recorded value decoded:

    - an argument that is not a plain value (a list: lru_cache raises TypeError where the
      original did not; an object: kept by identity or its own hash, while the function
      may read what changes in it); a float (a cache answers f(-0.0) with f(0.0)'s
      answer, they are equal keys); bool and int in one parameter (f(True) gets f(1)'s);
    - a result that can be changed (a list, a dict, an object): a cache hands the one
      object to every later caller, and what one caller changes the next one sees."""
    added = added_cache(candidate, original_module_source)
    if added is None:
        return None
    head = f"the candidate adds @{added} to {candidate.function.qualname}, but"
    for observed in capture.parameter_types:
        for described in observed.types:
            names = _type_names(described)
            if not names <= _VALUE_TYPES:
                other = sorted(names - _VALUE_TYPES)[0]
                if other in {"float", "complex"}:
                    what = (
                        "a cache takes equal numbers for one key, and would answer a call with "
                        "-0.0 with what the call with 0.0 returned"
                    )
                elif other in {"list", "dict", "set", "bytearray"}:
                    what = (
                        "a cache cannot hash it: every such call would raise TypeError where "
                        "the original returned"
                    )
                else:
                    what = (
                        "a cache keeps answers by its hash or identity, while what the "
                        "function reads of it can change between calls"
                    )
                return (
                    f"{head} its recorded calls pass {_a(other)} as `{observed.parameter}` "
                    f"({described}): {what}"
                )
        every = set().union(*(_type_names(t) for t in observed.types))
        if "bool" in every and "int" in every:
            return (
                f"{head} its recorded calls pass both bools and ints as `{observed.parameter}`: "
                "a cache treats True and 1 as one key, and would answer one with the other's "
                "result"
            )
    for described in capture.return_types:
        names = _type_names(described)
        if not names <= _IMMUTABLE_RESULTS:
            other = sorted(names - _IMMUTABLE_RESULTS)[0]
            return (
                f"{head} its recorded results include {_a(other)} ({described}), which a cache "
                "would hand to every later caller to share: what one caller changes in it, the "
                "next one would see"
            )
    return None


def added_cache(candidate: Candidate, original_module_source: str) -> str | None:
    """The memoising decorator the candidate adds to its function (its source), or None."""
    qualname = candidate.function.qualname
    try:
        old = find_function(ast.parse(original_module_source), qualname)
        new = find_function(ast.parse(candidate.module_source), qualname)
    except SyntaxError:
        return None
    return None if old is None or new is None else _added_cache(old, new)


def new_cache_refusal(
    candidate: Candidate, original_module_source: str, capture: TargetCapture
) -> str | None:
    """Why a cache the candidate adds to its function cannot be judged, in words, or None
    (also when it adds none): the gate's static test (`_cache_refusal`) and the recorded
    calls' (`cache_refusal_on_calls`) together, for a caller that does not gate (`perfloop
    check`, where a git change may add a cache)."""
    added = added_cache(candidate, original_module_source)
    if added is None:
        return None
    tree = ast.parse(candidate.module_source)
    refused = _cache_refusal(tree, candidate.function.qualname, added)
    return refused or cache_refusal_on_calls(candidate, original_module_source, capture)


def gate_on_calls(
    result: GateResult, candidate: Candidate, original_module_source: str, capture: TargetCapture
) -> GateResult:
    """`result`, or a failure when the candidate adds a cache the recorded calls refuse
    (`cache_refusal_on_calls`)."""
    if not result.passed:
        return result
    refused = cache_refusal_on_calls(candidate, original_module_source, capture)
    return result if refused is None else _fail(refused)


def _type_names(described: str) -> set[str]:
    """The type names in a `describe_type` text: `tuple[int | str]` → {tuple, int, str}.
    A float among them counts as not a plain value for arguments (see _VALUE_TYPES)."""
    return set(re.findall(r"[A-Za-z_][\w.]*", described))


def _a(name: str) -> str:
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"


def _class_change(original: ast.Module, tree: ast.Module, qualname: str) -> str | None:
    """Why a whole-class candidate changes what callers reach, or None: the class must be
    there, and keep every method callers call (public ones, `__init__` and the other
    dunders) with its signature. Private methods and attributes, class attributes and
    `__slots__` may change; the interaction tier judges what that does."""
    old_class, new_class = _top_class(original, qualname), _top_class(tree, qualname)
    if old_class is None:
        return f"the original module has no class {qualname} to compare against"
    if new_class is None:
        return (
            f"the candidate has no class {qualname}; a candidate must keep the class it "
            "rewrites under the same name"
        )
    new_methods = _methods(new_class)
    for name, old_method in _methods(old_class).items():
        if name.startswith("_") and not (name.startswith("__") and name.endswith("__")):
            continue  # private: the candidate may drop or change it
        new_method = new_methods.get(name)
        if new_method is None:
            return (
                f"the candidate's {qualname} has no method {name}, which callers reach; "
                "keep every public method and dunder of the class"
            )
        changed = _signature_change(old_method, new_method)
        if changed is not None:
            return (
                f"the candidate changes the signature of {qualname}.{name}: {changed}; "
                "callers depend on it, so keep it exactly as it was"
            )
    return None


def _top_class(tree: ast.Module, name: str) -> ast.ClassDef | None:
    found = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == name]
    return found[-1] if found else None


def _methods(node: ast.ClassDef) -> dict[str, _FunctionNode]:
    """The methods a class body defines (a property's getter, not its setter)."""
    methods: dict[str, _FunctionNode] = {}
    for item in node.body:
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
            decorators = [ast.unparse(d) for d in item.decorator_list]
            if not any(d.endswith((".setter", ".deleter")) for d in decorators):
                methods[item.name] = item
    return methods


def normalised_hash(tree: ast.AST) -> str:
    """A hash of the code that ignores comments, formatting and line numbers."""
    return hashlib.sha256(ast.dump(tree, include_attributes=False).encode()).hexdigest()


def _fail(reason: str) -> GateResult:
    return GateResult(passed=False, reason=reason)


def _offending_line(error: SyntaxError) -> str:
    text = (error.text or "").strip()
    return f" (`{text}`)" if text else ""


def _source(node: ast.AST | None) -> str | None:
    return None if node is None else ast.unparse(node)


def _signature_change(old: _FunctionNode, new: _FunctionNode) -> str | None:
    """What differs between the two signatures, in words, or None."""
    if isinstance(old, ast.AsyncFunctionDef) != isinstance(new, ast.AsyncFunctionDef):
        was = "async def" if isinstance(old, ast.AsyncFunctionDef) else "def"
        now = "async def" if isinstance(new, ast.AsyncFunctionDef) else "def"
        return f"it was `{was}`, it is now `{now}`"
    old_decorators = [_source(d) for d in old.decorator_list]
    new_decorators = [_source(d) for d in new.decorator_list]
    if old_decorators != new_decorators:
        return f"decorators {_listing(old_decorators)} became {_listing(new_decorators)}"
    old_params, new_params = _parameters(old.args), _parameters(new.args)
    if old_params != new_params:
        return f"parameters ({_describe(old_params)}) became ({_describe(new_params)})"
    if _source(old.returns) != _source(new.returns):
        return f"the return annotation {_source(old.returns)} became {_source(new.returns)}"
    return None


def _listing(items: list[str | None]) -> str:
    return "[" + ", ".join(f"@{item}" for item in items) + "]" if items else "[none]"


# (kind, name, default source or None, annotation source or None)
_Parameter = tuple[str, str, str | None, str | None]


def _parameters(args: ast.arguments) -> list[_Parameter]:
    positional = [*args.posonlyargs, *args.args]
    defaults: list[ast.expr | None] = [None] * (len(positional) - len(args.defaults))
    defaults += list(args.defaults)
    result: list[_Parameter] = []
    for index, (arg, default) in enumerate(zip(positional, defaults)):
        kind = "positional-only" if index < len(args.posonlyargs) else "positional-or-keyword"
        result.append((kind, arg.arg, _source(default), _source(arg.annotation)))
    if args.vararg is not None:
        result.append(("*", args.vararg.arg, None, _source(args.vararg.annotation)))
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        result.append(("keyword-only", arg.arg, _source(default), _source(arg.annotation)))
    if args.kwarg is not None:
        result.append(("**", args.kwarg.arg, None, _source(args.kwarg.annotation)))
    return result


def _describe(parameters: list[_Parameter]) -> str:
    parts = []
    for kind, name, default, annotation in parameters:
        text = {"*": f"*{name}", "**": f"**{name}"}.get(kind, name)
        if annotation is not None:
            text += f": {annotation}"
        if default is not None:
            text += f" = {default}" if annotation is not None else f"={default}"
        if kind == "positional-only":
            text += " (positional-only)"
        elif kind == "keyword-only":
            text += " (keyword-only)"
        parts.append(text)
    return ", ".join(parts)


def _imported_modules(tree: ast.AST) -> set[str]:
    """Modules imported anywhere in `tree`, as written (`os.path`, `.helpers`, `..pkg.mod`)."""
    modules: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            modules.add("." * node.level + (node.module or ""))
    return modules


def _new_dependency(
    tree: ast.AST, original: ast.AST, module_name: str, own: frozenset[str] | set[str]
) -> str | None:
    """Why the first new dependency the candidate imports is refused, or None.

    A module counts as a dependency unless it is in the standard library, imported
    by the original, or the project's own (`own` top-level names, relative imports
    that stay inside the target module's package).
    """
    before = _imported_modules(original)
    before_top = {m.split(".")[0] for m in before if not m.startswith(".")}
    package_depth = module_name.count(".")  # how many levels `from .` may climb
    for module in sorted(_imported_modules(tree)):
        if module in before:
            continue
        if module.startswith("."):
            level = len(module) - len(module.lstrip("."))
            if level <= package_depth:
                continue
            where = (
                f"climbs out of the package of {module_name}"
                if package_depth
                else f"cannot work: {module_name} is not in a package"
            )
            return (
                f"the candidate imports {module} (a relative import), which {where}; import the "
                "project's modules by their full name"
            )
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in before_top or top in own:
            continue
        return (
            f"the candidate imports {module}, which is neither in the standard library, nor "
            "imported by the original module, nor a module of this project; a candidate may "
            "not add dependencies (import only what the project already uses)"
        )
    return None
