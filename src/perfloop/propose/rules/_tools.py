"""Syntactic analysis the rules share: names, bindings, ancestors, fresh names.

Everything here is purely syntactic and errs on the side of "looks used": a rule
that asks "is this name used elsewhere?" gets "yes" when in doubt, and stays silent.
"""

from __future__ import annotations

import builtins
import functools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

BUILTIN_NAMES = frozenset(dir(builtins))

COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
NEW_SCOPES = (cst.FunctionDef, cst.Lambda, cst.ClassDef)

# Calls that look at or change the caller's local variables: code that uses them
# may notice that a loop became a comprehension.
FRAME_CALLS = frozenset({"locals", "vars", "dir", "eval", "exec", "super", "globals"})


@dataclass(frozen=True)
class Occurrence:
    """One `cst.Name` in the tree and its ancestors, outermost first."""

    node: cst.Name
    ancestors: tuple[cst.CSTNode, ...]

    @property
    def parent(self) -> cst.CSTNode | None:
        return self.ancestors[-1] if self.ancestors else None

    def inside(self, node: cst.CSTNode) -> bool:
        return any(a is node for a in self.ancestors)


def _is_identifier(name: cst.Name, parent: cst.CSTNode | None) -> bool:
    """False for names that are not variables: `obj.attr`'s attr, `f(key=...)`'s key."""
    if isinstance(parent, cst.Attribute) and parent.attr is name:
        return False
    if isinstance(parent, cst.Arg) and parent.keyword is name:
        return False
    return not (isinstance(parent, cst.MatchKeywordElement) and parent.key is name)


class Analysis(cst.CSTVisitor):
    """Names, binding targets and pre-order positions of every node under a root."""

    def __init__(self) -> None:
        super().__init__()
        self._stack: list[cst.CSTNode] = []
        self._order: dict[int, int] = {}
        self._ancestors: dict[int, tuple[cst.CSTNode, ...]] = {}
        self._keep: list[cst.CSTNode] = []  # keeps ids stable while the analysis lives
        self.occurrences: list[Occurrence] = []
        self.store_ids: set[int] = set()

    @staticmethod
    def of(root: cst.CSTNode) -> Analysis:
        """The analysis of `root` (cached: nodes are immutable and hash by identity)."""
        return _analysis_of(root)

    # --- the walk -------------------------------------------------------------

    def on_visit(self, node: cst.CSTNode) -> bool:
        self._order.setdefault(id(node), len(self._order))
        self._keep.append(node)
        ancestors = tuple(self._stack)
        self._ancestors.setdefault(id(node), ancestors)
        if isinstance(node, cst.Name):
            parent = self._stack[-1] if self._stack else None
            if _is_identifier(node, parent):
                self.occurrences.append(Occurrence(node, ancestors))
        self._mark_stores(node)
        self._stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self._stack.pop()

    def _mark_stores(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.Assign):
            for target in node.targets:
                self._mark_target(target.target)
        elif isinstance(
            node, (cst.AugAssign, cst.AnnAssign, cst.For, cst.CompFor, cst.NamedExpr, cst.Del)
        ):
            self._mark_target(node.target)
        elif isinstance(node, cst.WithItem) and node.asname is not None:
            self._mark_target(node.asname.name)
        elif isinstance(node, cst.ExceptHandler) and node.name is not None:
            self._mark_target(node.name.name)
        elif isinstance(node, (cst.Global, cst.Nonlocal)):
            for item in node.names:
                self.store_ids.add(id(item.name))
        elif isinstance(node, cst.ImportAlias):
            if node.asname is not None:
                self._mark_target(node.asname.name)
            else:
                root = node.name
                while isinstance(root, cst.Attribute):
                    root = root.value
                self.store_ids.add(id(root))
        elif isinstance(
            node, (cst.FunctionDef, cst.ClassDef, cst.Param, cst.MatchAs, cst.MatchStar)
        ):
            if node.name is not None:  # None for `case _` and `case *_`
                self.store_ids.add(id(node.name))
        elif isinstance(node, cst.MatchMapping) and node.rest is not None:
            self.store_ids.add(id(node.rest))

    def _mark_target(self, target: cst.CSTNode) -> None:
        self.store_ids.add(id(target))
        if isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._mark_target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._mark_target(target.value)

    # --- questions ------------------------------------------------------------

    def position(self, node: cst.CSTNode) -> int:
        return self._order[id(node)]

    def ancestors(self, node: cst.CSTNode) -> tuple[cst.CSTNode, ...]:
        """The ancestors of `node`, outermost (the analysed root) first."""
        return self._ancestors[id(node)]

    def is_store(self, node: cst.CSTNode) -> bool:
        return id(node) in self.store_ids

    def of_name(self, name: str) -> list[Occurrence]:
        return [o for o in self.occurrences if o.node.value == name]

    def bindings_of(self, name: str) -> list[Occurrence]:
        return [o for o in self.of_name(name) if self.is_store(o.node)]


@functools.lru_cache(maxsize=128)
def _analysis_of(root: cst.CSTNode) -> Analysis:
    analysis = Analysis()
    root.visit(analysis)
    return analysis


def names_in(node: cst.CSTNode) -> set[str]:
    """Variable names read or written in `node` (not attribute or keyword names)."""
    return {o.node.value for o in Analysis.of(node).occurrences}


def all_identifiers(node: cst.CSTNode) -> set[str]:
    """Every `cst.Name` value in `node`, attributes and keywords included."""
    found: set[str] = set()

    class _Names(cst.CSTVisitor):
        def visit_Name(self, name: cst.Name) -> None:
            found.add(name.value)

    node.visit(_Names())
    return found


def bound_names(node: cst.CSTNode) -> set[str]:
    """Names bound (assigned, imported, defined, declared) anywhere in `node`."""
    analysis = Analysis.of(node)
    return {o.node.value for o in analysis.occurrences if analysis.is_store(o.node)}


def walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node` and all its descendants, pre-order."""
    yield node
    for child in node.children:
        yield from walk(child)


def contains(node: cst.CSTNode, kinds: tuple[type[cst.CSTNode], ...]) -> bool:
    """True if `node` or a descendant is an instance of one of `kinds`."""
    if isinstance(node, kinds):
        return True
    return any(contains(child, kinds) for child in node.children)


def calls_named(node: cst.CSTNode, names: Iterable[str]) -> bool:
    """True if `node` contains a call of a plain name in `names` (e.g. `locals()`)."""
    wanted = set(names)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in wanted:
        return True
    return any(calls_named(child, wanted) for child in node.children)


def module_level_bindings(module: cst.Module) -> dict[str, tuple[cst.CSTNode, ...]]:
    """Names bound by the module's top-level statements, with the binding statements.

    Statements nested in top-level `if`/`try`/`with`/`for` blocks count too
    (they run at import time); function and class bodies do not.
    """
    result: dict[str, list[cst.CSTNode]] = {}

    def add(statement: cst.CSTNode, names: Iterable[str]) -> None:
        for name in names:
            result.setdefault(name, []).append(statement)

    def walk(statements: Sequence[cst.CSTNode]) -> None:
        for statement in statements:
            if isinstance(statement, (cst.FunctionDef, cst.ClassDef)):
                add(statement, [statement.name.value])
            elif isinstance(statement, cst.SimpleStatementLine):
                for small in statement.body:
                    add(small, bound_names(small))
            else:
                header = _header_bindings(statement)
                add(statement, header)
                for block in child_blocks(statement):
                    walk(block)

    walk(module.body)
    return {name: tuple(nodes) for name, nodes in result.items()}


def _header_bindings(statement: cst.CSTNode) -> set[str]:
    if isinstance(statement, cst.For):
        return bound_names(statement.target)
    if isinstance(statement, cst.With):
        return {n for item in statement.items for n in bound_names(item)}
    return set()


def child_blocks(statement: cst.CSTNode) -> list[Sequence[cst.CSTNode]]:
    """The statement lists directly inside a compound statement."""
    blocks: list[Sequence[cst.CSTNode]] = []
    for child in statement.children:
        if isinstance(child, cst.IndentedBlock):
            blocks.append(child.body)
        elif isinstance(child, cst.SimpleStatementSuite):
            blocks.append([cst.SimpleStatementLine(body=child.body)])
        elif isinstance(
            child,
            (
                cst.Else,
                cst.ExceptHandler,
                cst.ExceptStarHandler,
                cst.Finally,
                cst.If,
                cst.MatchCase,
            ),
        ):
            blocks.extend(child_blocks(child))
    return blocks


def fresh_name(base: str, reserved: set[str]) -> str:
    """`base`, or `base_1`, `base_2`, ... whichever is not in `reserved`; it is then reserved."""
    name = base
    counter = 0
    while name in reserved:
        counter += 1
        name = f"{base}_{counter}"
    reserved.add(name)
    return name


def target_names(target: cst.BaseExpression) -> set[str] | None:
    """The names a loop target binds, or None if it also stores into attributes or items."""
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        names: set[str] = set()
        for element in target.elements:
            inner = target_names(element.value)
            if inner is None:
                return None
            names |= inner
        return names
    if isinstance(target, cst.StarredElement):
        return target_names(target.value)
    return None


def used_outside(analysis: Analysis, names: set[str], region: cst.CSTNode) -> bool:
    """True if any of `names` may be read or written outside `region` in the same scope.

    Occurrences that cannot see the variable of `region` are ignored: inside a
    comprehension that binds the name itself, inside a nested function or lambda
    that has it as a parameter, and inside the target or body of another `for`
    loop that binds it (every read there sees that loop's value).
    """
    for occurrence in analysis.occurrences:
        name = occurrence.node.value
        if name not in names or occurrence.inside(region):
            continue
        if not _shadowed(occurrence, name, analysis.ancestors(region)):
            return True
    return False


def _shadowed(occurrence: Occurrence, name: str, region_ancestors: tuple[cst.CSTNode, ...]) -> bool:
    node: cst.CSTNode = occurrence.node
    for ancestor in reversed(occurrence.ancestors):
        if any(a is ancestor for a in region_ancestors):
            # a scope or loop around the region itself: what it binds is the region's too
            node = ancestor
            continue
        if isinstance(ancestor, COMPREHENSIONS):
            first_iter = ancestor.for_in.iter
            in_first_iter = node is first_iter or occurrence.inside(first_iter)
            if not in_first_iter and name in _comprehension_targets(ancestor.for_in):
                return True
        elif isinstance(ancestor, (cst.FunctionDef, cst.Lambda)):
            params = ancestor.params
            all_params = [
                *params.posonly_params,
                *params.params,
                *params.kwonly_params,
                *(p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)),
            ]
            in_body = node is ancestor.body or occurrence.inside(ancestor.body)
            if in_body and name in {p.name.value for p in all_params}:
                return True
        elif isinstance(ancestor, cst.For):
            binds = target_names(ancestor.target) or set()
            in_loop = occurrence.inside(ancestor.body) or occurrence.inside(ancestor.target)
            if name in binds and (in_loop or node is ancestor.target):
                return True
        node = ancestor
    return False


def _comprehension_targets(comp_for: cst.CompFor) -> set[str]:
    names: set[str] = set()
    current: cst.CompFor | None = comp_for
    while current is not None:
        names |= target_names(current.target) or names_in(current.target)
        current = current.inner_for_in
    return names


def single_small_statement(body: cst.BaseSuite) -> cst.BaseSmallStatement | None:
    """The only statement of a block if it is one simple statement (no `;`), else None."""
    if isinstance(body, cst.SimpleStatementSuite):
        return body.body[0] if len(body.body) == 1 else None
    if isinstance(body, cst.IndentedBlock) and len(body.body) == 1:
        line = body.body[0]
        if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
            return line.body[0]
    return None


def single_statement(body: cst.BaseSuite) -> cst.CSTNode | None:
    """The only statement of a block (simple or compound), else None."""
    if isinstance(body, cst.SimpleStatementSuite):
        return body.body[0] if len(body.body) == 1 else None
    if isinstance(body, cst.IndentedBlock) and len(body.body) == 1:
        line = body.body[0]
        if isinstance(line, cst.SimpleStatementLine):
            return line.body[0] if len(line.body) == 1 else None
        return line
    return None


def parenthesized(expression: cst.BaseExpression) -> cst.BaseExpression:
    """`expression` wrapped in parentheses unless it already has them."""
    if expression.lpar:
        return expression
    return expression.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])


def needs_parens_among_operators(parent: cst.CSTNode, child: cst.CSTNode) -> bool:
    """True if an operator expression (a comparison, `a * b`) put where `child` is must get
    parentheses: next to other operators, or as the object of an attribute, item or call.
    (`not` and and/or bind more loosely than comparisons and arithmetic.)"""
    if isinstance(parent, (cst.BinaryOperation, cst.Comparison, cst.ComparisonTarget)):
        return True
    if isinstance(parent, cst.UnaryOperation):
        return not isinstance(parent.operator, cst.Not)
    if isinstance(parent, (cst.Attribute, cst.Subscript)):
        return parent.value is child
    if isinstance(parent, cst.Call):
        return parent.func is child
    return isinstance(parent, cst.Await)


def needs_parens_in_comprehension(expression: cst.BaseExpression) -> bool:
    """True if `expression` cannot stand bare as a comprehension's iterable or condition."""
    if expression.lpar:
        return False
    return isinstance(
        expression,
        (cst.IfExp, cst.Lambda, cst.NamedExpr, cst.Yield, cst.Tuple, cst.GeneratorExp),
    )


def needs_parens_as_element(expression: cst.BaseExpression) -> bool:
    """True if `expression` cannot stand bare as a comprehension's element or dict value."""
    if expression.lpar:
        return False
    return isinstance(expression, (cst.Tuple, cst.GeneratorExp, cst.NamedExpr, cst.Yield))


def enclosed_by_exception_handling(analysis: Analysis, node: cst.CSTNode) -> bool:
    """True if `node` lies in a `try` or in a `with` (other than `with open(...)`).

    There, an exception raised halfway through a loop may be caught, and the
    half-built result of the loop may be seen afterwards.
    """
    for ancestor in analysis.ancestors(node):
        if isinstance(ancestor, (cst.Try, cst.TryStar)):
            return True
        if isinstance(ancestor, cst.With) and not all(
            _is_open_call(item.item) for item in ancestor.items
        ):
            return True
    return False


def _is_open_call(expression: cst.BaseExpression) -> bool:
    if not isinstance(expression, cst.Call):
        return False
    func = expression.func
    return (isinstance(func, cst.Name) and func.value == "open") or (
        isinstance(func, cst.Attribute) and func.attr.value == "open"
    )


def in_nested_scope(occurrence: Occurrence, root: cst.CSTNode) -> bool:
    """True if the occurrence is inside a function, lambda or class nested in `root`."""
    return any(isinstance(a, NEW_SCOPES) and a is not root for a in occurrence.ancestors)


def declared_shared(func: cst.FunctionDef) -> set[str]:
    """Names the function declares `global` or `nonlocal`: storing to them is no local
    store, so a rule must not move, rename or hoist them."""
    names: set[str] = set()
    for node in walk(func.body):
        if isinstance(node, (cst.Global, cst.Nonlocal)):
            names |= {item.name.value for item in node.names}
    return names


def in_shared_declaration(occurrence: Occurrence) -> bool:
    """True if the occurrence is a name in a `global` or `nonlocal` statement."""
    return any(isinstance(a, (cst.Global, cst.Nonlocal)) for a in occurrence.ancestors)
