"""set-membership: `x in NAME` inside a loop tests against a set built once before the loop.

    for token in tokens:                      STOPWORDS_set = set(STOPWORDS)
        if token not in STOPWORDS:    →       for token in tokens:
            ...                                   if token not in STOPWORDS_set:
                                                      ...

`in` on a list or tuple compares item by item (O(n) per test); on a set it is one
hash lookup.
"""

from __future__ import annotations

from collections.abc import Iterable

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def content_words(tokens, stopwords):
    words = []
    for token in tokens:
        if token not in stopwords:
            words.append(token)
    return words
"""

EXAMPLE_SILENT = """
def content_words(tokens, stopwords):
    words = []
    for token in tokens:
        if token not in stopwords:
            words.append(token)
            stopwords.append(token)
    return words
"""

# Builtins that read their argument without changing it: passing NAME to them is harmless.
_READ_ONLY_BUILTINS = frozenset(
    {"len", "sorted", "min", "max", "sum", "any", "all", "enumerate", "zip", "reversed",
     "tuple", "list", "set", "frozenset", "isinstance", "repr", "str"}
)  # fmt: skip

# Values (or annotations) that show NAME is not a list-like: a str (`"ab" in s` is a
# substring test, which a set of characters would answer differently), or already a
# set, dict or range, where `in` is fast anyway.
_NOT_LIST_CALLS = frozenset(
    {"set", "frozenset", "dict", "range", "str", "bytes", "bytearray", "Counter",
     "defaultdict", "OrderedDict", "keys", "items", "vars", "globals", "locals", "join",
     "lower", "upper", "strip", "format", "decode", "encode"}
)  # fmt: skip
_NOT_LIST_ANNOTATIONS = _NOT_LIST_CALLS | frozenset(
    {"Set", "FrozenSet", "AbstractSet", "Dict", "Mapping", "MutableMapping", "MutableSet",
     "KeysView", "ItemsView", "AnyStr", "Text", "memoryview"}
)  # fmt: skip

_LOOPS = (cst.For, cst.While)


def _not_list_value(value: cst.BaseExpression | None) -> bool:
    if value is None:
        return False
    if isinstance(
        value,
        (
            cst.SimpleString,
            cst.ConcatenatedString,
            cst.FormattedString,
            cst.Set,
            cst.Dict,
            cst.SetComp,
            cst.DictComp,
        ),
    ):
        return True
    if isinstance(value, cst.Attribute) and value.attr.value == "__dict__":
        return True
    return (
        isinstance(value, cst.Call)
        and isinstance(value.func, (cst.Name, cst.Attribute))
        and _root_name(value.func) in _NOT_LIST_CALLS
    )


def _root_name(expression: cst.BaseExpression) -> str | None:
    """`Set` for `Set`, `typing.Set`, `Set[int]`, `collections.Counter(...)`'s `Counter`."""
    if isinstance(expression, cst.Subscript):
        return _root_name(expression.value)
    if isinstance(expression, cst.Attribute):
        return expression.attr.value
    if isinstance(expression, cst.Name):
        return expression.value
    if isinstance(expression, cst.SimpleString):
        return expression.value.strip("'\"").split("[")[0].split(".")[-1]
    return None


def _shown_not_list(statements: Iterable[cst.CSTNode], name: str) -> bool:
    """True if one of these statements shows `name` is not list-like (by value or annotation)."""
    for statement in statements:
        if isinstance(statement, cst.Assign) and any(
            isinstance(t.target, cst.Name) and t.target.value == name for t in statement.targets
        ):
            if _not_list_value(statement.value):
                return True
        elif (
            isinstance(statement, cst.AnnAssign)
            and isinstance(statement.target, cst.Name)
            and statement.target.value == name
        ):
            if _root_name(statement.annotation.annotation) in _NOT_LIST_ANNOTATIONS:
                return True
            if _not_list_value(statement.value):
                return True
    return False


class _Plan:
    """Which loops get which `NAME_set = set(NAME)` lines, and which tests change."""

    def __init__(self) -> None:
        self.hoists: dict[int, dict[str, str]] = {}  # id(statement) -> {NAME: NAME_set}
        self.tests: dict[int, str] = {}  # id(ComparisonTarget) -> NAME_set


class _Planner:
    def __init__(self, func: cst.FunctionDef, context: RuleContext) -> None:
        self.func = func
        self.context = context
        self.analysis = _tools.Analysis.of(func)
        self.reserved = context.reserved_names(func)
        self.set_names: dict[str, str] = {}
        self.params = {
            p.name.value
            for p in (
                *func.params.posonly_params,
                *func.params.params,
                *func.params.kwonly_params,
                *(
                    p
                    for p in (func.params.star_arg, func.params.star_kwarg)
                    if isinstance(p, cst.Param)
                ),
            )
        }
        self.not_list_params = self._not_list_params(func, context)
        self.maybe_none = self._compared_with_none(func)
        self.params_annotations = {
            p.name.value: p.annotation
            for p in (*func.params.posonly_params, *func.params.params, *func.params.kwonly_params)
            if p.annotation is not None
        }

    @staticmethod
    def _not_list_params(func: cst.FunctionDef, context: RuleContext) -> set[str]:
        """`**kwargs` (a dict) and a method's `self`/`cls` (its `in` is its own __contains__)."""
        names = set()
        if isinstance(func.params.star_kwarg, cst.Param):
            names.add(func.params.star_kwarg.name.value)
        positional = [*func.params.posonly_params, *func.params.params]
        if context.is_method and positional:
            names.add(positional[0].name.value)
        return names

    def _compared_with_none(self, func: cst.FunctionDef) -> set[str]:
        """Names tested against None (`NAME is None`): they may be None, and set(None) raises."""
        names = set()
        for node in _tools.walk(func):
            if not isinstance(node, cst.Comparison) or len(node.comparisons) != 1:
                continue
            right = node.comparisons[0].comparator
            left = node.left
            for a, b in ((left, right), (right, left)):
                if isinstance(a, cst.Name) and isinstance(b, cst.Name) and b.value == "None":
                    names.add(a.value)
        return names

    def plan(self) -> _Plan:
        plan = _Plan()
        for occurrence in self.analysis.occurrences:
            parent = occurrence.parent
            if not (
                isinstance(parent, cst.ComparisonTarget)
                and parent.comparator is occurrence.node
                and isinstance(parent.operator, (cst.In, cst.NotIn))
            ):
                continue
            if _tools.in_nested_scope(occurrence, self.func):
                continue
            name = occurrence.node.value
            loops = [a for a in occurrence.ancestors if isinstance(a, _LOOPS)]
            for loop in loops:  # outermost first: build the set as rarely as possible
                if self._qualifies(name, loop):
                    anchor = self._anchor(loop, name)
                    set_name = self.set_names.get(name) or self._new_set_name(name)
                    plan.hoists.setdefault(id(anchor), {})[name] = set_name
                    plan.tests[id(parent)] = set_name
                    break
        return plan

    def _new_set_name(self, name: str) -> str:
        self.set_names[name] = _tools.fresh_name(f"{name}_set", self.reserved)
        return self.set_names[name]

    def _qualifies(self, name: str, loop: cst.CSTNode) -> bool:
        if not self._origin_known(name, loop):
            return False
        if _tools.contains(loop, (cst.Yield, cst.Await)):
            return False  # the caller could change NAME while the loop is suspended
        for occurrence in self.analysis.of_name(name):
            if occurrence.inside(loop) and not self._harmless_use(occurrence, loop):
                return False
        return not self._aliased(name)

    def _origin_known(self, name: str, loop: cst.CSTNode) -> bool:
        """NAME is a parameter, a local assigned before the loop, or a module global."""
        if name in self.not_list_params or name in self.maybe_none:
            return False
        analysis = self.analysis
        start = analysis.position(loop)
        bindings = [o for o in analysis.bindings_of(name) if not isinstance(o.parent, cst.Param)]
        declared_global = any(any(isinstance(a, cst.Global) for a in o.ancestors) for o in bindings)
        if declared_global or any(_tools.in_nested_scope(o, self.func) for o in bindings):
            return False
        if any(analysis.position(o.node) > start for o in bindings):
            return False  # assigned after the loop started
        if name in self.params:
            annotation = self.params_annotations.get(name)
            if (
                annotation is not None
                and _root_name(annotation.annotation) in _NOT_LIST_ANNOTATIONS
            ):
                return False
            return not _shown_not_list(self._binding_statements(bindings), name)
        if bindings:
            return not _shown_not_list(self._binding_statements(bindings), name)
        module_statements = self.context.module_bindings.get(name)
        if not module_statements:
            return False  # a builtin, or not defined: nothing known about it
        return not _shown_not_list(module_statements, name)

    @staticmethod
    def _binding_statements(bindings: list[_tools.Occurrence]) -> list[cst.CSTNode]:
        statements = []
        for occurrence in bindings:
            owner = next(
                (a for a in reversed(occurrence.ancestors)
                 if isinstance(a, (cst.Assign, cst.AnnAssign, cst.BaseSmallStatement, cst.For))),
                None,
            )  # fmt: skip
            if owner is not None:
                statements.append(owner)
        return statements

    def _harmless_use(self, occurrence: _tools.Occurrence, loop: cst.CSTNode) -> bool:
        """A use of NAME inside the loop that cannot change it."""
        node, parent = occurrence.node, occurrence.parent
        if _tools.in_nested_scope(occurrence, self.func):
            return False
        if isinstance(parent, cst.ComparisonTarget) and parent.comparator is node:
            return True  # `x in NAME`, `x == NAME`, ...
        if isinstance(parent, cst.Comparison) and parent.left is node:
            return True  # `NAME == x`
        if isinstance(parent, cst.Subscript) and parent.value is node:
            return not self.analysis.is_store(parent)  # NAME[i] read
        if isinstance(parent, (cst.For, cst.CompFor)) and parent.iter is node:
            return True  # iterating does not change NAME
        if isinstance(parent, cst.Arg) and parent.keyword is None and not parent.star:
            call = occurrence.ancestors[-2]
            return (
                isinstance(call, cst.Call)
                and isinstance(call.func, cst.Name)
                and call.func.value in _READ_ONLY_BUILTINS
                and not self.context.rebinds(self.func, call.func.value)
            )
        return False

    def _aliased(self, name: str) -> bool:
        """True if the function stores NAME itself under another name (`other = NAME`)."""
        for occurrence in self.analysis.of_name(name):
            parent = occurrence.parent
            if (
                isinstance(parent, (cst.Assign, cst.AnnAssign, cst.NamedExpr))
                and parent.value is occurrence.node
            ):
                return True
            if isinstance(parent, (cst.Element, cst.DictElement)):
                return True  # put in a container
        return False

    def _anchor(self, loop: cst.CSTNode, name: str) -> cst.CSTNode:
        """The statement before which the set is built: the loop, or just above the
        accumulator lines directly before it (`out = []`), so that a later
        list-comprehension rewrite still sees `out = []` next to its loop."""
        block = self._block_of(loop)
        if block is None:
            return loop
        index = next(i for i, s in enumerate(block) if s is loop)
        while index > 0 and _edits.inert_initialisation(block[index - 1], {name}):
            index -= 1
        return block[index]

    def _block_of(self, statement: cst.CSTNode) -> list[cst.CSTNode] | None:
        parent = self.analysis.ancestors(statement)[-1]
        if isinstance(parent, cst.IndentedBlock):
            return list(parent.body)
        return None


class _Rewrite(cst.CSTTransformer):
    def __init__(self, plan: _Plan) -> None:
        super().__init__()
        self._plan = plan

    def leave_ComparisonTarget(
        self, original_node: cst.ComparisonTarget, updated_node: cst.ComparisonTarget
    ) -> cst.ComparisonTarget:
        set_name = self._plan.tests.get(id(original_node))
        if set_name is None:
            return updated_node
        return updated_node.with_changes(comparator=cst.Name(set_name))

    def on_leave(
        self, original_node: cst.CSTNode, updated_node: cst.CSTNode
    ) -> cst.CSTNode | cst.FlattenSentinel[cst.CSTNode] | cst.RemovalSentinel:
        result = super().on_leave(original_node, updated_node)
        hoists = self._plan.hoists.get(id(original_node))
        if not hoists or not isinstance(result, cst.BaseStatement):
            return result
        assignments = [
            cst.SimpleStatementLine(
                body=[
                    cst.Assign(
                        targets=[cst.AssignTarget(cst.Name(set_name))],
                        value=cst.Call(func=cst.Name("set"), args=[cst.Arg(cst.Name(name))]),
                    )
                ]
            )
            for name, set_name in hoists.items()
        ]
        assignments[0] = assignments[0].with_changes(leading_lines=result.leading_lines)
        return cst.FlattenSentinel([*assignments, result.with_changes(leading_lines=())])


class SetMembership(Rule):
    id = "set-membership"
    rationale = (
        "`in` on a list scans it item by item on every test; a set built once before the "
        "loop answers each test with one hash lookup."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`x in NAME` / `x not in NAME` inside a for/while loop, NAME a plain name that is a "
        "parameter, a local assigned before the loop, or a module global, not assigned after "
        "the loop starts, not known to be a str, set, dict or range (by its value or "
        "annotation, `**kwargs`, a method's self), and never compared with None. Inside the "
        "loop NAME is only tested, indexed, iterated or passed to read-only builtins "
        "(len, sorted, ...): never assigned, deleted, augmented, given a "
        "method call, or passed to any other call; the loop has no yield/await; NAME is not "
        "aliased (`other = NAME`). `NAME_set = set(NAME)` is built before the outermost such "
        "loop. Differs when an element or the tested value is unhashable (TypeError), when "
        "NAME is unset or not iterable and the loop runs zero times (set() runs eagerly), and "
        "when NAME changes through an alias or a called function during the loop."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "set"):
            return None
        plan = _Planner(func, context).plan()
        if not plan.tests:
            return None
        return func.visit(_Rewrite(plan))
