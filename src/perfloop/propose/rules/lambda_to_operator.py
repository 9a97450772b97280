"""lambda-to-operator: a key lambda that only indexes or reads attributes becomes a C callable.

    sorted(rows, key=lambda row: row[1])   →   sorted(rows, key=operator.itemgetter(1))
    max(items, key=lambda d: d.index)      →   max(items, key=operator.attrgetter("index"))

`sorted`, `min`, `max`, `map` and `filter` call the key once per item; a lambda is
a Python frame each time, `operator.itemgetter`/`attrgetter` are not.

Taught by more-itertools 45a9b51 ("itemgetter() is faster than a K combinator
lambda": `map(lambda p, q: p, ...)` → `map(itemgetter(0), zip(...))`) and 8726eb0
(`(p.real for p in v1)` → `map(attrgetter('real'), v1)`); the shape is common in
real code, e.g. pyparsing 3.1.1 `diagram/__init__.py` `sorted(resolved, key=lambda
diag: diag.index)`, pygments 2.17.2 `sphinxext.py` `sorted(LEXERS.items(),
key=lambda x: x[0])`.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def by_price(items):
    return sorted(items.items(), key=lambda pair: pair[1])
"""

EXAMPLE_SILENT = """
def by_price(items, column):
    return sorted(items.items(), key=lambda pair: pair[column])
"""

_CONSUMERS = frozenset({"sorted", "min", "max", "map", "filter"})
"""Builtins that call the function they are given and never look at it otherwise."""


def _parameter(lam: cst.Lambda) -> str | None:
    """The lambda's one plain positional parameter."""
    params = lam.params
    if params.star_arg is not cst.MaybeSentinel.DEFAULT or params.star_kwarg is not None:
        return None
    if params.posonly_params or params.kwonly_params or len(params.params) != 1:
        return None
    only = params.params[0]
    return only.name.value if only.default is None else None


def _literal_index(node: cst.BaseExpression) -> bool:
    if isinstance(node, (cst.Integer, cst.SimpleString)):
        return True
    return (
        isinstance(node, cst.UnaryOperation)
        and isinstance(node.operator, cst.Minus)
        and isinstance(node.expression, cst.Integer)
    )


def _item_of(node: cst.BaseExpression, name: str) -> cst.BaseExpression | None:
    """The literal `i` if `node` is `name[i]`."""
    if not (
        isinstance(node, cst.Subscript)
        and isinstance(node.value, cst.Name)
        and node.value.value == name
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
    ):
        return None
    index = node.slice[0].slice.value
    return index if _literal_index(index) else None


def _path_of(node: cst.BaseExpression, name: str) -> str | None:
    """ "a.b" if `node` is `name.a.b`."""
    chain = _edits.attribute_chain(node)
    if chain is None or len(chain) < 2 or chain[0] != name:
        return None
    return ".".join(chain[1:])


def _getter(lam: cst.Lambda) -> cst.Call | None:
    """`operator.itemgetter(...)` / `operator.attrgetter(...)` doing what `lam` does."""
    name = _parameter(lam)
    body = lam.body
    if name is None or (body.lpar and not isinstance(body, cst.Tuple)):
        return None
    parts = [e.value for e in body.elements] if isinstance(body, cst.Tuple) else [body]
    if isinstance(body, cst.Tuple) and (
        len(parts) < 2 or any(isinstance(e, cst.StarredElement) for e in body.elements)
    ):
        return None
    items = [_item_of(p, name) for p in parts]
    if all(item is not None for item in items):
        return _operator_call("itemgetter", [i for i in items if i is not None])
    paths = [_path_of(p, name) for p in parts]
    if all(path is not None for path in paths):
        strings = [cst.SimpleString(repr(p)) for p in paths if p is not None]
        return _operator_call("attrgetter", strings)
    return None


def _operator_call(function: str, args: list[cst.BaseExpression]) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=cst.Name("operator"), attr=cst.Name(function)),
        args=[cst.Arg(a.deep_clone()) for a in args],
    )


class LambdaToOperator(Rule):
    id = "lambda-to-operator"
    rationale = (
        "A key lambda runs a Python frame per item; operator.itemgetter/attrgetter do the "
        "same indexing or attribute read in C."
    )
    safety = Safety.ALWAYS_EQUIVALENT
    imports = (("operator", None),)
    description = (
        "A lambda of one parameter whose body is `p[LITERAL]`, `p.a.b`, or a tuple of "
        "several of the one kind (`(p[0], p[2])`, `(p.x, p.y)`), given as an argument to "
        "the builtins sorted/min/max/map/filter (not rebound), becomes "
        "`operator.itemgetter(...)` / `operator.attrgetter(...)`. Indices must be literals "
        "(an index read from a variable would be fixed when the getter is built, a lambda "
        "reads it at each call). Silent when the module binds `operator` to anything but "
        "the operator module. The getter raises the same exceptions as the lambda; only "
        "tracebacks (no lambda frame) and the callable's type differ, which those builtins "
        "never look at."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        bindings = context.module_bindings
        if "operator" in _tools.bound_names(func) or (
            "operator" in bindings and not _edits.imported_as(bindings, "operator", "operator")
        ):
            return None
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Name):
                continue
            if node.func.value not in _CONSUMERS or context.rebinds(func, node.func.value):
                continue
            for arg in node.args:
                if isinstance(arg.value, cst.Lambda) and not arg.star:
                    getter = _getter(arg.value)
                    if getter is not None:
                        edits.replace_with(arg.value, lambda n, getter=getter: getter)
        return _edits.apply_edits(func, edits) if edits else None
