"""hoist-constant-container: a table built of constants on every call is built once.

    def more_generic(t1, t2):               _MORE_GENERIC_TYPES = {type(None): 0, bool: 1, int: 2}
        types = {type(None): 0,        →
                 bool: 1, int: 2}           def more_generic(t1, t2):
        return max(types.get(t1, 2),            return max(_MORE_GENERIC_TYPES.get(t1, 2),
                   types.get(t2, 2))                       _MORE_GENERIC_TYPES.get(t2, 2))

A dict, list or set literal assigned to a local is built anew on every call (each key
hashed, each item stored); when everything in it is a constant and the function only
reads it, one module-level copy gives the same answers. Taught by ansible/galaxy PR
#1343 ("Move constants out of function body", merged); it fires on tabulate 0.9.0's
`_more_generic`, which builds two six-entry dicts per call to compare two types.
"""

from __future__ import annotations

import builtins

import libcst as cst

from perfloop.propose.rules import _edits, _local_uses, _tools
from perfloop.propose.rules.base import FunctionRewrite, Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def more_generic(type1, type2):
    types = {type(None): 0, bool: 1, int: 2, float: 3, bytes: 4, str: 5}
    invtypes = {5: str, 4: bytes, 3: float, 2: int, 1: bool, 0: type(None)}
    return invtypes[max(types.get(type1, 5), types.get(type2, 5))]
"""

EXAMPLE_SILENT = """
def more_generic(type1, type2):
    types = {type(None): 0, bool: 1, int: 2, float: 3, bytes: 4, str: 5}
    types[type1] = 9  # changed per call: must stay a fresh dict
    return max(types.get(type1, 5), types.get(type2, 5))
"""

MIN_ITEMS = 2
# builtins whose call with constant arguments is a constant (an immutable value)
CONSTANT_CALLS = frozenset({"type", "frozenset", "tuple", "chr", "ord", "int", "float", "str"})
# reads that could tell one shared container from a fresh one, or change it
REFUSED_READS = frozenset({"id", "iter", "print"})
SAFE_DUNDERS = frozenset({"__contains__", "__getitem__", "__len__"})


class HoistConstantContainer(Rule):
    id = "hoist-constant-container"
    rationale = "A table of constants the function only reads is built once, not on every call."
    safety = Safety.ALWAYS_EQUIVALENT
    description = (
        "`NAME = {...}` (a dict, list or set display of at least 2 items), a statement of the "
        "function's own body, before any use of NAME, whose keys and items are constants "
        "(literals, tuples and negated numbers of them, builtins such as `int` or `str` that "
        "the module does not rebind, and `type(None)`-style calls of builtins on constants), "
        "is moved to a module-level `_QUALNAME_NAME` just above the function (or its class), "
        "when NAME is bound only there, never used in a nested function, and only read: "
        "indexed, tested with `in`, iterated, given to read-only builtins (len, sorted, "
        "min, max...) or asked for a non-mutating method (get, keys, items, index...). No "
        "item is mutable, so nothing reached through the table can change either; the table "
        "never leaves the function (not returned, stored or passed on), so no caller can "
        "tell one shared table from a fresh one."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> FunctionRewrite | None:
        context = context or RuleContext.standalone(func)
        if _star_import(context.module):
            return None  # a builtin's name could be rebound by it
        shadowed = set(context.module_bindings) | _tools.bound_names(func)
        body = list(func.body.body) if isinstance(func.body, cst.IndentedBlock) else []
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        qualname = "_".join([*context.enclosing_classes, func.name.value]).strip("_").upper()
        edits = _edits.Edits()
        statements: list[cst.SimpleStatementLine] = []
        locals_in_order = sorted(
            _local_uses.local_containers(func),
            key=lambda local: _position(body, local.assignment),
        )
        for local in locals_in_order:
            line = _own_line(body, local.assignment)
            if line is None or not _hoistable(local.assignment.value, shadowed):
                continue
            if any(local.name in _tools.names_in(earlier) for earlier in body[: body.index(line)]):
                continue  # a use before the assignment raises UnboundLocalError today
            if not all(_only_read(analysis, use) for use in local.uses):
                continue
            constant = _tools.fresh_name(f"_{qualname}_{local.name.upper()}", reserved)
            statements.append(_edits.assign(constant, local.assignment.value))
            edits.remove(line)
            for use in local.uses:
                edits.replace_with(use.node, lambda n, c=constant: cst.Name(c))
        if not edits:
            return None
        return FunctionRewrite(_edits.apply_edits(func, edits), tuple(statements))


def _star_import(module: cst.Module) -> bool:
    return any(
        isinstance(small, cst.ImportFrom) and isinstance(small.names, cst.ImportStar)
        for statement in module.body
        if isinstance(statement, cst.SimpleStatementLine)
        for small in statement.body
    )


def _position(body: list[cst.CSTNode], assignment: cst.Assign) -> int:
    line = _own_line(body, assignment)
    return body.index(line) if line is not None else len(body)


def _own_line(body: list[cst.CSTNode], assignment: cst.Assign) -> cst.SimpleStatementLine | None:
    """The body line that is exactly this assignment, or None (nested, or sharing a line)."""
    for line in body:
        if isinstance(line, cst.SimpleStatementLine) and list(line.body) == [assignment]:
            return line
    return None


def _hoistable(value: cst.BaseExpression, shadowed: set[str]) -> bool:
    if isinstance(value, cst.Dict):
        items = value.elements
        if not all(isinstance(item, cst.DictElement) for item in items):
            return False  # a ** unpacking
        parts = [part for item in items for part in (item.key, item.value)]  # type: ignore[union-attr]
    elif isinstance(value, (cst.List, cst.Set)):
        items = value.elements
        if not all(isinstance(item, cst.Element) for item in items):
            return False  # a * unpacking
        parts = [item.value for item in items]
    else:
        return False
    return len(items) >= MIN_ITEMS and all(_constant(part, shadowed) for part in parts)


def _constant(node: cst.BaseExpression, shadowed: set[str]) -> bool:
    """An immutable value that is the same whether made at import or at the call."""
    if isinstance(node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString)):
        return True
    if isinstance(node, cst.ConcatenatedString):
        return _constant(node.left, shadowed) and _constant(node.right, shadowed)  # type: ignore[arg-type]
    if isinstance(node, cst.Name):
        return node.value not in shadowed and hasattr(builtins, node.value)
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        return isinstance(node.expression, (cst.Integer, cst.Float, cst.Imaginary))
    if isinstance(node, cst.Tuple):
        elements = node.elements
        return all(isinstance(e, cst.Element) and _constant(e.value, shadowed) for e in elements)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name):
        return (
            node.func.value in CONSTANT_CALLS
            and node.func.value not in shadowed
            and all(
                not a.keyword and not a.star and _constant(a.value, shadowed) for a in node.args
            )
        )
    return False


def _only_read(analysis: _tools.Analysis, use: _local_uses.Use) -> bool:
    occurrence = next(o for o in analysis.of_name(use.node.value) if o.node is use.node)
    if not _edits.read_only_use(analysis, occurrence):
        return False
    parent = occurrence.parent
    grandparent = occurrence.ancestors[-2] if len(occurrence.ancestors) >= 2 else None
    if isinstance(parent, cst.Arg) and isinstance(grandparent, cst.Call):
        return grandparent.func.value not in REFUSED_READS  # type: ignore[attr-defined]
    if isinstance(parent, cst.Attribute) and parent.value is use.node:
        name = parent.attr.value
        return not name.startswith("__") or name in SAFE_DUNDERS
    identity = (cst.Is, cst.IsNot)  # `is` could tell a shared table from a fresh one
    if isinstance(parent, cst.ComparisonTarget):
        return not isinstance(parent.operator, identity)
    if isinstance(parent, cst.Comparison):
        return not any(isinstance(target.operator, identity) for target in parent.comparisons)
    return True
