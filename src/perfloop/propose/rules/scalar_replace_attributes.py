"""scalar-replace-attributes: instance attributes a loop reads and updates live in locals.

    for c in data:                             total = self._total
        if c < self.LIMIT:                     LIMIT = self.LIMIT
            self._total += 1          →        try:
                                                   for c in data:
                                                       if c < LIMIT:
                                                           total += 1
                                               finally:
                                                   self._total = total

Each `self._x` read or `+=` in the loop is an instance-dict lookup (and a store);
a local is an index into the frame. The `finally` writes the locals back on every
way out of the loop: its end, `break`, `return` and exceptions.

Taught by chardet's per-byte probers (5.2.0: `SingleByteCharSetProber.feed`,
`UTF8Prober.feed`, `Latin1Prober.feed`), and by the maintainers who did it by hand:
pygments f7c11a0ff (`HtmlFormatter._format_lines`: `span_openers =
self.span_element_openers`, `translate = self._translate_parts` before the per-token
loop), pyparsing e41baee (`_skipIgnorables`: `[e._parse for e in self.ignoreExprs]`
once), Python-Markdown 4b836201 (`len(self.inlinePatterns)` out of the `while` test),
chardet 5.2.0 itself (`char_to_order_map = self._model.char_to_order_map` before
the loop in `SingleByteCharSetProber.feed`).
"""

from __future__ import annotations

import functools
import keyword
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_QUALNAME = "Prober.feed"

EXAMPLE_FIRES = """
class Prober:
    LIMIT = 64

    def __init__(self):
        self._total = 0

    def feed(self, data):
        for c in data:
            if c < self.LIMIT:
                self._total += 1
        return self._total
"""

EXAMPLE_SILENT = """
class Prober:
    def __init__(self):
        self._total = 0

    def feed(self, data):
        for c in data:
            self._total += 1
            self.log(c)
        return self._total

    def log(self, c):
        print(self._total, c)
"""

_ATTRIBUTE_HOOKS = frozenset({"__getattr__", "__getattribute__", "__setattr__", "__delattr__"})
_FORBIDDEN_CALLS = _tools.FRAME_CALLS | {"setattr", "getattr", "delattr", "hasattr"}


@dataclass(frozen=True)
class _ClassAttributes:
    """What the class's own source says about its attributes."""

    data: frozenset[str]
    """Assigned as `self.X = ...` in one of its other methods, or declared in the body
    (`x: int`, a dataclass `x: list = field(...)`): plain instance data."""
    constants: frozenset[str]
    """Assigned a literal in the class body (`SAMPLE_SIZE = 64`)."""
    computed: frozenset[str]
    """Defined in the class body otherwise: methods, properties, descriptors."""
    hooks: bool
    """The class customises attribute access (`__getattr__`, `__setattr__`, ...)."""

    def plain(self, name: str) -> bool:
        """True if reading `self.name` only fetches a stored value."""
        return (name in self.data or name in self.constants) and name not in self.computed


@dataclass(frozen=True)
class _LoopUse:
    """How one loop uses the attributes of `self`."""

    nodes: dict[str, list[cst.Attribute]]
    """Every `self.X` in the loop, by X, in source order."""
    read: frozenset[str]
    written: frozenset[str]


def _enclosing_class(context: RuleContext) -> cst.ClassDef | None:
    body: Sequence[cst.CSTNode] = context.module.body
    found: cst.ClassDef | None = None
    for name in context.enclosing_classes:
        found = next(
            (s for s in reversed(body) if isinstance(s, cst.ClassDef) and s.name.value == name),
            None,
        )
        if found is None or not isinstance(found.body, cst.IndentedBlock):
            return None
        body = found.body.body
    return found


def _first_param(func: cst.FunctionDef) -> str | None:
    params = [*func.params.posonly_params, *func.params.params]
    return params[0].name.value if params else None


def _is_plain_method(func: cst.FunctionDef) -> bool:
    """Not a staticmethod or classmethod: the first parameter is the instance."""
    for decorator in func.decorators:
        expression = decorator.decorator
        if isinstance(expression, cst.Name) and expression.value in {
            "staticmethod",
            "classmethod",
        }:
            return False
    return True


def _literal(expression: cst.BaseExpression) -> bool:
    if isinstance(expression, (cst.Integer, cst.Float, cst.SimpleString, cst.Imaginary)):
        return True
    if isinstance(expression, cst.Name):
        return expression.value in {"True", "False", "None"}
    if isinstance(expression, cst.UnaryOperation):
        return _literal(expression.expression)
    if isinstance(expression, cst.Tuple):
        return all(_literal(element.value) for element in expression.elements)
    return False


def _class_attributes(cls: cst.ClassDef, rewritten: str) -> _ClassAttributes:
    """The class's attributes; stores in the method being rewritten are no evidence."""
    data: set[str] = set()
    constants: set[str] = set()
    computed: set[str] = set()
    assert isinstance(cls.body, cst.IndentedBlock)
    for statement in cls.body.body:
        if isinstance(statement, cst.FunctionDef):
            computed.add(statement.name.value)
            instance = _first_param(statement)
            plain = instance is not None and _is_plain_method(statement)
            if plain and statement.name.value != rewritten:
                data |= _stored_attributes(statement, instance)
        elif isinstance(statement, cst.ClassDef):
            computed.add(statement.name.value)
        elif isinstance(statement, cst.SimpleStatementLine):
            for small in statement.body:
                _class_body_assignment(small, data, constants, computed)
        else:
            computed |= _tools.bound_names(statement)  # if/try blocks: assume the worst
    return _ClassAttributes(
        frozenset(data),
        frozenset(constants),
        frozenset(computed),
        bool(computed & _ATTRIBUTE_HOOKS),
    )


def _class_body_assignment(
    small: cst.CSTNode, data: set[str], constants: set[str], computed: set[str]
) -> None:
    if (
        isinstance(small, cst.AnnAssign)
        and isinstance(small.target, cst.Name)
        and (small.value is None or _edits.is_call_to(small.value, "field"))
    ):
        data.add(small.target.value)  # a declared field (`x: int`, `x: list = field(...)`)
        return
    if isinstance(small, cst.Assign):
        targets = [t.target for t in small.targets]
        value: cst.BaseExpression | None = small.value
    elif isinstance(small, cst.AnnAssign):
        targets, value = [small.target], small.value
    else:
        computed |= _tools.bound_names(small)
        return
    names = {t.value for t in targets if isinstance(t, cst.Name)}
    if value is not None and _literal(value) and len(names) == len(targets):
        constants |= names
    else:
        computed |= _tools.bound_names(small) | names


@functools.lru_cache(maxsize=4096)  # asked of every method of the class, per method rewritten
def _stored_attributes(method: cst.FunctionDef, instance: str) -> frozenset[str]:
    analysis = _tools.Analysis.of(method)
    return frozenset(
        {
            node.attr.value
            for node in _tools.walk(method.body)
            if isinstance(node, cst.Attribute)
            and analysis.is_store(node)
            and isinstance(node.value, cst.Name)
            and node.value.value == instance
        }
    )


def _loops_to_try(func: cst.FunctionDef, handled: set[int]) -> Iterator[cst.For | cst.While]:
    """The function's loops, outer first, skipping those inside a loop in `handled`
    (which the caller fills): an inner loop is tried when its outer loop was refused."""
    analysis = _tools.Analysis.of(func)
    for loop in _edits.loops_in_scope(func):
        if not any(id(outer) in handled for outer in _edits.enclosing_loops(analysis, loop)):
            yield loop


def _loop_use(
    analysis: _tools.Analysis, loop: cst.CSTNode, instance: str, local_names: set[str]
) -> _LoopUse | None:
    """The attributes of `instance` the loop reads and writes; None if the loop lets
    anything else see the instance (passes it, calls its methods or a callback held in
    a local or parameter, deletes, suspends)."""
    if _tools.contains(loop, (cst.Yield, cst.Await)) or _calls_a_local(loop, local_names):
        return None
    if _edits.lets_others_reach(analysis, instance, loop):
        return None  # `self` passed, returned or compared, or a method of it called
    nodes: dict[str, list[cst.Attribute]] = {}
    read: set[str] = set()
    written: set[str] = set()
    for occurrence in analysis.of_name(instance):
        if not occurrence.inside(loop):
            continue
        attribute = occurrence.parent
        assert isinstance(attribute, cst.Attribute)  # lets_others_reach said so
        outer = occurrence.ancestors[-2]
        if isinstance(outer, cst.Del) or any(isinstance(a, cst.Del) for a in occurrence.ancestors):
            return None
        name = attribute.attr.value
        nodes.setdefault(name, []).append(attribute)
        if analysis.is_store(attribute):
            written.add(name)
            if isinstance(outer, cst.AugAssign):
                read.add(name)
        else:
            read.add(name)
    return _LoopUse(nodes, frozenset(read), frozenset(written))


def _calls_a_local(loop: cst.CSTNode, local_names: set[str]) -> bool:
    """True if the loop calls a parameter or local by name (`fn(tokens)`): a callback,
    often a bound method or closure of the instance itself (pyparsing's parse actions)."""
    return any(
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Name)
        and node.func.value in local_names
        for node in _tools.walk(loop)
    )


def _named_elsewhere(loop: cst.CSTNode, names: set[str], instance: str) -> set[str]:
    """Attribute names also taken from another object in the loop (`other._total`),
    which may be the instance itself under another name."""
    return {
        node.attr.value
        for node in _tools.walk(loop)
        if isinstance(node, cst.Attribute)
        and node.attr.value in names
        and not (isinstance(node.value, cst.Name) and node.value.value == instance)
    }


def _evaluated_once(loop: cst.CSTNode) -> set[int]:
    """Ids of the nodes of a `for` loop's iterable: read once anyway, nothing to gain."""
    if not isinstance(loop, cst.For):
        return set()
    return {id(node) for node in _tools.walk(loop.iter)}


def _local_for(attribute: str, reserved: set[str]) -> str:
    base = attribute.strip("_").lower() or "attribute"
    if keyword.iskeyword(base) or base in _tools.BUILTIN_NAMES:
        base += "_"
    return _tools.fresh_name(base, reserved)


def _write_back(loop: cst.CSTNode, stores: list[cst.SimpleStatementLine]) -> cst.CSTNode:
    assert isinstance(loop, cst.BaseStatement)
    return cst.Try(
        body=cst.IndentedBlock(body=[loop.with_changes(leading_lines=())]),
        finalbody=cst.Finally(body=cst.IndentedBlock(body=stores)),
        leading_lines=loop.leading_lines,
    )


def _store(instance: str, attribute: str, local: str) -> cst.SimpleStatementLine:
    target = cst.Attribute(value=cst.Name(instance), attr=cst.Name(attribute))
    return cst.SimpleStatementLine(
        body=[cst.Assign(targets=[cst.AssignTarget(target)], value=cst.Name(local))]
    )


class ScalarReplaceAttributes(Rule):
    id = "scalar-replace-attributes"
    rationale = (
        "A local is an index into the frame; `self._x` in a loop is a dict lookup on every "
        "read and a dict store on every update."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "In a method, the attributes of `self` that a for/while loop (the outermost one "
        "that qualifies) reads "
        "(`self._count += 1`, `self.LIMIT`, `self._model.table`) become locals read once "
        "before the loop; those the loop also writes are written back in a `finally` "
        "around it, so every way out (end, break, return, exception) stores them. Only "
        "attributes the class's own source shows to be plain data: assigned as "
        "`self.X = ...` in another of its methods, declared (`x: int`, `x: list = "
        "field(...)`) or a literal in its body, and not defined "
        "there as a method, property or other descriptor. Silent when the loop uses "
        "`self` other than as `self.X` (passes it, calls `self.method()`), calls a "
        "parameter or local by name (a callback), contains "
        "yield/await, deletes an attribute, or reads the same attribute name from another "
        "object; when the class customises attribute access (`__getattr__`, "
        "`__setattr__`); when the function calls getattr/setattr/hasattr or "
        "frame-inspecting functions, rebinds `self`, or captures it in a nested function; "
        "and written attributes stay as they are when the loop reads an attribute that "
        "may be computed. Differs when something the loop calls reaches the instance by "
        "another reference (a parent pointer) and reads or writes these attributes, when a "
        "base class in another module makes them properties, when the loop runs zero "
        "times and an attribute is missing (AttributeError now raised before the loop), "
        "and written attributes inherited from the class are then stored on the instance."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        cls = _enclosing_class(context)
        instance = _first_param(func)
        if cls is None or instance is None or not _is_plain_method(func):
            return None
        attributes = _class_attributes(cls, func.name.value)
        if attributes.hooks or _tools.calls_named(func, _FORBIDDEN_CALLS):
            return None
        analysis = _tools.Analysis.of(func)
        if _instance_escapes(analysis, func, instance):
            return None
        # the local may take the attribute's own name (`total = self.total`): only the
        # function's variables, the module's globals and the builtins could clash
        reserved = _tools.names_in(func) | set(context.module_bindings) | _tools.BUILTIN_NAMES
        edits = _edits.Edits()
        local_names = _tools.bound_names(func)
        handled: set[int] = set()
        for loop in _loops_to_try(func, handled):
            use = _loop_use(analysis, loop, instance, local_names)
            if use is not None:
                handled.add(id(loop))
                self._plan(loop, use, attributes, instance, reserved, edits)
        return _edits.apply_edits(func, edits) if edits else None

    @staticmethod
    def _plan(
        loop: cst.CSTNode,
        use: _LoopUse,
        attributes: _ClassAttributes,
        instance: str,
        reserved: set[str],
        edits: _edits.Edits,
    ) -> None:
        plain = {name for name in use.read if attributes.plain(name)}
        plain -= _named_elsewhere(loop, plain, instance)
        all_plain = all(attributes.plain(name) for name in use.read)
        once = _evaluated_once(loop)
        replaced = [
            name
            for name in use.nodes  # source order
            if name in plain
            and (name not in use.written or all_plain)
            and not all(id(node) in once for node in use.nodes[name])
        ]
        if not replaced:
            return
        stores = []
        for name in replaced:
            local = _local_for(name, reserved)
            edits.insert_before(loop, _edits.assign(local, use.nodes[name][0].deep_clone()))
            for node in use.nodes[name]:
                edits.replace_with(node, lambda n, local=local: cst.Name(local))
            if name in use.written:
                stores.append(_store(instance, name, local))
        if stores:
            edits.replace_with(loop, lambda n, stores=stores: _write_back(n, stores))


def _instance_escapes(analysis: _tools.Analysis, func: cst.FunctionDef, instance: str) -> bool:
    """True if `self` is rebound or seen by a nested function, lambda or class."""
    for occurrence in analysis.of_name(instance):
        if _tools.in_nested_scope(occurrence, func):
            return True
        if analysis.is_store(occurrence.node) and not isinstance(occurrence.parent, cst.Param):
            return True
    return False
