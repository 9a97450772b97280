"""A recipe's edit as a rewrite template: its statements with local names, data attribute
names and carried constants abstracted, tried on other functions.

Generalising one verified edit (before -> after of one function), in the spirit of
anti-unification, abstracts only what can vary without changing what the edit means:

- local names (parameters, assigned locals, loop variables, the function's own name):
  renaming them consistently (a bijection) keeps any edit's meaning;
- attribute names present in both the removed and the added statements and never called
  (`self.items` carried over; a method such as `.append` stays concrete: the edit is about
  what it does);
- constants present the same number of times in both (a threshold carried over), which
  match only constants of the same type.

Globals, builtins, methods, keyword names and everything else stay as they were. The
template covers the statements that changed (the common leading and trailing statements of
the body are left out), so it matches that statement sequence inside any block of another
function. A match is refused when a local the removed statements bound (and the added ones
do not) is used elsewhere in the target, or when a name the edit introduces is already used
there. A template must reproduce its own recipe, or there is none. What it proposes is a
candidate like any other: the pipeline gates, verifies and measures it.
"""

from __future__ import annotations

import ast
import builtins
import copy
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from perfloop.qualnames import find_function, function_source

NAME, ATTRIBUTE, CONSTANT = "_pl_n", "_pl_a", "_pl_c"
MIN_PATTERN_NODES = 6  # a smaller pattern (one `return x`) would match almost anything
_BUILTINS = frozenset(dir(builtins))
_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
_IGNORED_FIELDS = frozenset({"ctx", "type_comment", "kind"})


@dataclass(frozen=True)
class Template:
    """Statements to find (`pattern`) and what replaces them (`replacement`), as source
    with placeholders `_pl_nK` (a local name), `_pl_aK` (an attribute name), `_pl_cK` (a
    constant of the type in `constant_types`). `fresh` are names the edit introduces."""

    pattern: str
    replacement: str
    constant_types: tuple[tuple[str, str], ...] = ()
    fresh: tuple[str, ...] = ()

    @property
    def placeholders(self) -> int:
        return len(set(_placeholders_in(self.pattern)))


@dataclass(frozen=True)
class Applied:
    module_source: str
    function_source: str
    bindings: tuple[tuple[str, str], ...]  # placeholder -> what it stood for in the target


def generalise(before: str, after: str) -> Template | str:
    """The template of the edit `before` -> `after` (one function's source each), or why
    there is none (a sentence)."""
    try:
        old, new = _function_of(before), _function_of(after)
    except (SyntaxError, ValueError) as exc:
        return f"its source does not parse as one function ({exc})"
    if _header(old) != _header(new):
        return "the edit changes the function's signature or decorators"
    removed, added = _changed_statements(old.body, new.body)
    if not removed:
        return "the edit only adds statements: there is nothing to recognise elsewhere"
    nodes = [n for s in removed for n in ast.walk(s) if not isinstance(n, ast.expr_context)]
    if len(nodes) < MIN_PATTERN_NODES:
        return "the changed statements are too small to recognise elsewhere"
    mapping, constant_types, locals_ = _abstraction(old, new, removed, added)
    fresh = sorted(_stored(added) - _stored([old]) - _arguments(old))
    outside = (locals_ & _identifiers(added)) - _identifiers(removed) - set(fresh)
    if outside:
        names = ", ".join(sorted(outside))
        return f"the new statements use locals bound elsewhere in the function ({names})"
    template = Template(
        "\n".join(ast.unparse(_renamed(s, mapping)) for s in removed),
        "\n".join(ast.unparse(_renamed(s, mapping)) for s in added),
        tuple(sorted(constant_types.items())),
        tuple(fresh),
    )
    own = apply_template(template, before, old.name)
    if own is None or _body_dump(_function_of(own.function_source)) != _body_dump(new):
        return "its edit depends on the rest of its function (the template does not reproduce it)"
    return template


def apply_template(template: Template, module_source: str, qualname: str) -> Applied | None:
    """`module_source` with the template applied at its first match in `qualname`, or None."""
    try:
        tree = ast.parse(module_source)
        pattern = ast.parse(template.pattern).body
        replacement = ast.parse(template.replacement).body
    except SyntaxError:
        return None
    function = find_function(tree, qualname)
    if function is None:
        return None
    lines = module_source.splitlines(keepends=True)
    types = dict(template.constant_types)
    for block in _blocks(function):
        for index in range(len(block) - len(pattern) + 1):
            span = block[index : index + len(pattern)]
            bindings: dict[str, object] = {}
            if not all(_match(p, t, bindings, types) for p, t in zip(pattern, span)):
                continue
            if not _injective(bindings) or not _scope_safe(
                function, span, pattern, replacement, bindings, template.fresh
            ):
                continue
            applied = _spliced(lines, span, replacement, bindings, qualname)
            if applied is not None:
                return applied
    return None


# --- generalising ----------------------------------------------------------------------


def _function_of(source: str) -> ast.FunctionDef | ast.AsyncFunctionDef:
    body = ast.parse(source).body
    if len(body) != 1 or not isinstance(body[0], (ast.FunctionDef, ast.AsyncFunctionDef)):
        raise ValueError("expected exactly one def")
    return body[0]


def _header(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    returns = [function.returns] if function.returns else []
    parts = [*function.decorator_list, function.args, *returns]
    return "\n".join(ast.dump(part) for part in parts)


def _body_dump(function: ast.FunctionDef | ast.AsyncFunctionDef) -> str:
    return ast.dump(ast.Module(function.body, []))


def _changed_statements(
    old: list[ast.stmt], new: list[ast.stmt]
) -> tuple[list[ast.stmt], list[ast.stmt]]:
    """The smallest statement sequences that changed: the common leading and trailing
    statements left out, and into a compound statement (a loop, an if) whose header and
    other blocks stayed the same, so `for x in xs: for y in x: out.append(y)` changed
    into `for x in xs: out.extend(x)` gives the inner loop and the `extend` alone."""
    start, old_end, new_end = _changed_span(old, new)
    removed, added = old[start:old_end], new[start:new_end]
    if len(removed) != 1 or len(added) != 1 or type(removed[0]) is not type(added[0]):
        return removed, added
    before, after = removed[0], added[0]
    changed = []
    for name in before._fields:
        one, other = getattr(before, name), getattr(after, name)
        dumped = [ast.dump(n) if isinstance(n, ast.AST) else repr(n) for n in _listed(one)]
        again = [ast.dump(n) if isinstance(n, ast.AST) else repr(n) for n in _listed(other)]
        if dumped != again:
            changed.append(name)
    if len(changed) != 1 or changed[0] not in ("body", "orelse", "finalbody"):
        return removed, added
    inner_old, inner_new = getattr(before, changed[0]), getattr(after, changed[0])
    if not inner_old or not inner_new:
        return removed, added  # an else added or dropped: the whole statement changed
    return _changed_statements(inner_old, inner_new)


def _listed(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _changed_span(old: list[ast.stmt], new: list[ast.stmt]) -> tuple[int, int, int]:
    start = 0
    while start < min(len(old), len(new)) and ast.dump(old[start]) == ast.dump(new[start]):
        start += 1
    old_end, new_end = len(old), len(new)
    while (
        old_end > start
        and new_end > start
        and ast.dump(old[old_end - 1]) == ast.dump(new[new_end - 1])
    ):
        old_end, new_end = old_end - 1, new_end - 1
    return start, old_end, new_end


def _stored(nodes: list[ast.AST] | list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name) and isinstance(sub.ctx, (ast.Store, ast.Del)):
                names.add(sub.id)
            elif isinstance(sub, ast.ExceptHandler) and sub.name:
                names.add(sub.name)
            elif isinstance(sub, ast.alias):
                names.add((sub.asname or sub.name).split(".")[0])
    return names


def _bound_here(nodes: list[ast.stmt]) -> set[str]:
    """The names the statements bind in their own scope (not in comprehensions or lambdas)."""
    names: set[str] = set()
    stack: list[ast.AST] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name) and isinstance(node.ctx, (ast.Store, ast.Del)):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
            continue
        if not isinstance(node, (*_SCOPES, *_COMPREHENSIONS)):
            stack.extend(ast.iter_child_nodes(node))
    return names


def _arguments(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    a = function.args
    every = [*a.posonlyargs, *a.args, *a.kwonlyargs, *filter(None, [a.vararg, a.kwarg])]
    return {arg.arg for arg in every}


def _abstraction(
    old: ast.FunctionDef | ast.AsyncFunctionDef,
    new: ast.FunctionDef | ast.AsyncFunctionDef,
    removed: list[ast.stmt],
    added: list[ast.stmt],
) -> tuple[dict[tuple[str, object], str], dict[str, str], set[str]]:
    """What to abstract, keyed by (kind, value): kind 'name', 'attr' or a constant's type;
    the placeholders' constant types; the function's local names."""
    declared = {
        name
        for node in ast.walk(old)
        if isinstance(node, (ast.Global, ast.Nonlocal))
        for name in node.names
    }
    locals_ = (_stored([old]) | _arguments(old) | {old.name}) - declared - _BUILTINS
    in_removed = _identifiers(removed)
    mapping: dict[tuple[str, object], str] = {}
    for name in sorted(locals_ & in_removed):
        mapping[("name", name)] = f"{NAME}{len(mapping)}"
    called = _called_attributes(removed) | _called_attributes(added)
    removed_attrs, added_attrs = _attributes(removed), _attributes(added)
    carried = sorted((set(removed_attrs) & set(added_attrs)) - called)
    for count, attr in enumerate(carried):
        mapping[("attr", attr)] = f"{ATTRIBUTE}{count}"
    removed_constants, added_constants = _constants(removed), _constants(added)
    constant_types: dict[str, str] = {}
    count = 0
    for key, times in sorted(removed_constants.items(), key=repr):
        if added_constants.get(key) == times:
            placeholder = f"{CONSTANT}{count}"
            mapping[key] = placeholder
            constant_types[placeholder] = key[0]
            count += 1
    return mapping, constant_types, locals_


def _identifiers(nodes: list[ast.stmt]) -> set[str]:
    names: set[str] = set()
    for node in nodes:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                names.add(sub.id)
            elif isinstance(sub, ast.arg):
                names.add(sub.arg)
    return names


def _attributes(nodes: list[ast.stmt]) -> Counter[str]:
    return Counter(s.attr for n in nodes for s in ast.walk(n) if isinstance(s, ast.Attribute))


def _called_attributes(nodes: list[ast.stmt]) -> set[str]:
    return {
        s.func.attr
        for n in nodes
        for s in ast.walk(n)
        if isinstance(s, ast.Call) and isinstance(s.func, ast.Attribute)
    }


def _constants(nodes: list[ast.stmt]) -> Counter[tuple[str, object]]:
    found: Counter[tuple[str, object]] = Counter()
    for node in nodes:
        in_fstrings = {
            id(c) for j in ast.walk(node) if isinstance(j, ast.JoinedStr) for c in ast.walk(j)
        }
        for sub in ast.walk(node):
            if (
                isinstance(sub, ast.Constant)
                and id(sub) not in in_fstrings
                and type(sub.value) in (int, float, str, bytes)
            ):
                found[(type(sub.value).__name__, sub.value)] += 1
    return found


class _Renamer(ast.NodeTransformer):
    def __init__(self, mapping: dict[tuple[str, object], str]) -> None:
        self.mapping = mapping

    def visit_Name(self, node: ast.Name) -> ast.AST:
        node.id = self.mapping.get(("name", node.id), node.id)
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = self.mapping.get(("name", node.arg), node.arg)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = self.mapping.get(("attr", node.attr), node.attr)
        return node

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        for value in node.values:  # names inside replacement fields, not the literal parts
            if isinstance(value, ast.FormattedValue):
                self.visit(value)
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        placeholder = self.mapping.get((type(node.value).__name__, node.value))
        if placeholder is None or isinstance(node.value, bool):
            return node
        return ast.copy_location(ast.Name(placeholder, ast.Load()), node)


def _renamed(node: ast.stmt, mapping: dict[tuple[str, object], str]) -> ast.stmt:
    return _Renamer(mapping).visit(copy.deepcopy(node))


def _placeholders_in(source: str) -> Iterator[str]:
    for node in ast.walk(ast.parse(source)):
        for value in (getattr(node, "id", None), getattr(node, "attr", None)):
            if isinstance(value, str) and value.startswith(("_pl_n", "_pl_a", "_pl_c")):
                yield value


# --- matching and applying -------------------------------------------------------------


def _blocks(function: ast.AST) -> Iterator[list[ast.stmt]]:
    """Every statement list in the function, its nested defs and classes left out."""
    stack = [function]
    while stack:
        node = stack.pop()
        for name in ("body", "orelse", "finalbody"):
            block = getattr(node, name, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                yield block
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _SCOPES):
                stack.append(child)


def _match(pattern: object, target: object, bindings: dict[str, object], types: dict) -> bool:
    if isinstance(pattern, ast.Name) and pattern.id.startswith(CONSTANT):
        if not isinstance(target, ast.Constant) or isinstance(target.value, bool):
            return False
        if type(target.value).__name__ != types.get(pattern.id):
            return False
        return _bind(bindings, pattern.id, target.value)
    if isinstance(pattern, list):
        return (
            isinstance(target, list)
            and len(pattern) == len(target)
            and all(_match(p, t, bindings, types) for p, t in zip(pattern, target))
        )
    if not isinstance(pattern, ast.AST):
        return pattern == target
    if type(pattern) is not type(target):
        return False
    for field in pattern._fields:
        if field in _IGNORED_FIELDS:
            continue
        p, t = getattr(pattern, field, None), getattr(target, field, None)
        if isinstance(p, str) and p.startswith((NAME, ATTRIBUTE)):
            if not isinstance(t, str) or not _bind(bindings, p, t):
                return False
        elif not _match(p, t, bindings, types):
            return False
    return True


def _bind(bindings: dict[str, object], placeholder: str, value: object) -> bool:
    if placeholder in bindings:
        known = bindings[placeholder]
        return type(known) is type(value) and known == value
    bindings[placeholder] = value
    return True


def _injective(bindings: dict[str, object]) -> bool:
    """Two placeholders of a kind never stand for the same name."""
    for kind in (NAME, ATTRIBUTE):
        values = [v for k, v in bindings.items() if k.startswith(kind)]
        if len(values) != len(set(values)):
            return False
    return True


def _scope_safe(
    function: ast.AST,
    span: list[ast.stmt],
    pattern: list[ast.stmt],
    replacement: list[ast.stmt],
    bindings: dict[str, object],
    fresh: tuple[str, ...],
) -> bool:
    """The replaced statements' bindings are not needed elsewhere; new names do not clash."""
    dropped = {str(bindings.get(n, n)) for n in _bound_here(pattern) - _bound_here(replacement)}
    inside = {id(node) for stmt in span for node in ast.walk(stmt)}
    elsewhere = {
        node.id
        for node in ast.walk(function)
        if isinstance(node, ast.Name) and id(node) not in inside
    }
    if dropped & elsewhere:
        return False
    used = {n.id for n in ast.walk(function) if isinstance(n, ast.Name)}
    return not set(fresh) & (used | set(map(str, bindings.values())))


class _Filler(ast.NodeTransformer):
    def __init__(self, bindings: dict[str, object]) -> None:
        self.bindings = bindings

    def visit_Name(self, node: ast.Name) -> ast.AST:
        if node.id.startswith(CONSTANT):
            return ast.copy_location(ast.Constant(self.bindings[node.id]), node)
        node.id = str(self.bindings.get(node.id, node.id))
        return node

    def visit_arg(self, node: ast.arg) -> ast.AST:
        node.arg = str(self.bindings.get(node.arg, node.arg))
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        node.attr = str(self.bindings.get(node.attr, node.attr))
        return node


def _spliced(
    lines: list[str],
    span: list[ast.stmt],
    replacement: list[ast.stmt],
    bindings: dict[str, object],
    qualname: str,
) -> Applied | None:
    first, last = span[0], span[-1]
    assert last.end_lineno is not None and last.end_col_offset is not None
    head = lines[first.lineno - 1]
    indent = head[: first.col_offset]
    tail = lines[last.end_lineno - 1][last.end_col_offset :]
    if indent.strip() or (tail.strip() and not tail.strip().startswith("#")):
        return None  # the statements share a line with others: leave them alone
    try:
        filled = [_Filler(bindings).visit(copy.deepcopy(s)) for s in replacement]
        text = "\n".join(ast.unparse(s) for s in filled)
    except (KeyError, ValueError):
        return None
    new_lines = "".join(f"{indent}{line}\n" if line else "\n" for line in text.splitlines())
    source = "".join([*lines[: first.lineno - 1], new_lines, *lines[last.end_lineno :]])
    try:
        ast.parse(source)
    except SyntaxError:
        return None
    return Applied(
        source,
        function_source(source, qualname),
        tuple(
            sorted((k, repr(v) if k.startswith(CONSTANT) else str(v)) for k, v in bindings.items())
        ),
    )
