"""linear-search-index: a linear search called in a loop becomes one dict built before the loop.

    def find_customer(customers, customer_id):
        for customer in customers:
            if customer.customer_id == customer_id:
                return customer
        return None

    for order in orders:                      customers_by_customer_id = {
        pairs.append((order,          →           customer.customer_id: customer
            find_customer(customers,              for customer in reversed(customers)}
                          order["id"])))      for order in orders:
                                                  pairs.append((order,
                                                      customers_by_customer_id.get(order["id"])))

Each search scans the list (O(n)); the dict, built once per call of the caller,
answers each lookup with one hash. Built from the reversed list, the first match
wins, as in the search.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def attach_customers(orders, customers):
    pairs = []
    for order in orders:
        pairs.append((order, find_customer(customers, order["customer_id"])))
    return pairs


def find_customer(customers, customer_id):
    for customer in customers:
        if customer.customer_id == customer_id:
            return customer
    return None
"""

EXAMPLE_SILENT = """
def attach_customers(orders, customers):
    pairs = []
    for order in orders:
        pairs.append((order, find_customer(customers, order["customer_id"])))
        customers.append(order["customer"])
    return pairs


def find_customer(customers, customer_id):
    for customer in customers:
        if customer.customer_id == customer_id:
            return customer
    return None
"""


@dataclass(frozen=True)
class Search:
    """A module function that returns the first item of a sequence whose key equals a value."""

    item: str  # the loop variable, e.g. "customer"
    key: cst.BaseExpression  # e.g. `customer.customer_id`, in terms of `item`
    key_label: str  # e.g. "customer_id", for the index's name


@functools.lru_cache(maxsize=512)  # asked for every function of a module, per target
def search_of(func: cst.FunctionDef) -> Search | None:
    """The search if `func` is exactly `def F(S, K): for V in S: if KEY(V) == K: return V`
    followed by `return None` or nothing, KEY(V) being V, `V.attr...` or `V[literal]`."""
    params = func.params
    if (
        func.decorators
        or func.asynchronous
        or params.posonly_params
        or params.kwonly_params
        or params.star_arg is not cst.MaybeSentinel.DEFAULT
        or params.star_kwarg is not None
        or len(params.params) != 2
        or any(p.default is not None for p in params.params)
        or not isinstance(func.body, cst.IndentedBlock)
    ):
        return None
    sequence, wanted = (p.name.value for p in params.params)
    statements = [s for s in func.body.body if not _is_docstring(s)]
    if len(statements) == 2 and _returns_none(statements[1]):
        statements = statements[:1]
    if len(statements) != 1:
        return None
    loop = statements[0]
    if not (
        isinstance(loop, cst.For)
        and loop.orelse is None
        and not loop.asynchronous
        and isinstance(loop.target, cst.Name)
        and isinstance(loop.iter, cst.Name)
        and loop.iter.value == sequence
    ):
        return None
    item = loop.target.value
    test = _tools.single_statement(loop.body)
    if not isinstance(test, cst.If) or test.orelse is not None:
        return None
    returned = _tools.single_small_statement(test.body)
    if not (
        isinstance(returned, cst.Return)
        and isinstance(returned.value, cst.Name)
        and returned.value.value == item
    ):
        return None
    key = _key_compared(test.test, wanted)
    if key is None or _tools.names_in(key) != {item}:
        return None
    label = _key_label(key, item)
    return None if label is None else Search(item, key, label)


def _is_docstring(statement: cst.CSTNode) -> bool:
    return (
        isinstance(statement, cst.SimpleStatementLine)
        and len(statement.body) == 1
        and isinstance(statement.body[0], cst.Expr)
        and isinstance(statement.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def _returns_none(statement: cst.CSTNode) -> bool:
    small = _tools.single_small_statement(cst.IndentedBlock(body=[statement]))  # type: ignore[list-item]
    return isinstance(small, cst.Return) and (
        small.value is None or (isinstance(small.value, cst.Name) and small.value.value == "None")
    )


def _key_compared(test: cst.BaseExpression, wanted: str) -> cst.BaseExpression | None:
    """KEY in `KEY == wanted` (the side the search calls __eq__ on must be KEY)."""
    if not (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].operator, cst.Equal)
    ):
        return None
    right = test.comparisons[0].comparator
    if isinstance(right, cst.Name) and right.value == wanted:
        return test.left
    return None


def _key_label(key: cst.BaseExpression, item: str) -> str | None:
    if isinstance(key, cst.Name):
        return "itself" if key.value == item else None
    if isinstance(key, cst.Attribute) and _key_label(key.value, item) is not None:
        return key.attr.value
    if (
        isinstance(key, cst.Subscript)
        and len(key.slice) == 1
        and isinstance(key.slice[0].slice, cst.Index)
        and isinstance(key.slice[0].slice.value, (cst.SimpleString, cst.Integer))
        and _key_label(key.value, item) is not None
    ):
        literal = key.slice[0].slice.value
        text = literal.value.strip("'\"") if isinstance(literal, cst.SimpleString) else "key"
        return text if text.isidentifier() else "key"
    return None


def _module_searches(context: RuleContext) -> dict[str, Search]:
    searches = {}
    for statement in context.module.body:
        if isinstance(statement, cst.FunctionDef):
            name = statement.name.value
            found = search_of(statement)
            bound_once = context.module_bindings.get(name) == (statement,)
            if found is not None and bound_once:
                searches[name] = found
    return searches


class LinearSearchIndex(Rule):
    id = "linear-search-index"
    rationale = (
        "A linear search repeated in a loop scans the list every time; a dict built once "
        "before the loop finds each item with one hash lookup."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "A call `F(S, K)` inside a for/while loop, where F is a module-level function that is "
        "exactly `for V in S: if KEY(V) == K: return V` then `return None` (KEY(V) is V, an "
        "attribute chain of V or V[literal]), and S is a plain name bound before the loop, "
        "not rebound and only read in it (no appends, no passing it to other calls), becomes "
        "`S_by_KEY.get(K)` with `S_by_KEY = {KEY(V): V for V in reversed(S)}` built just "
        "before the outermost such loop (above `out = []`-style lines), so the first match "
        "wins as in the search. The index lives in the caller's frame for one call. Silent "
        "when F, reversed or the index's name are rebound. Differs when a key or K is "
        "unhashable (TypeError), when keys' __hash__ disagrees with __eq__, when S is not "
        "reversible (a generator, a set), when KEY(V) fails for an item the search would "
        "not have reached, and when S changes through an alias while the loop runs."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "reversed"):
            return None
        searches = _module_searches(context)
        if not searches:
            return None
        analysis = _tools.Analysis.of(func)
        local_names = _tools.bound_names(func)
        reserved = context.reserved_names(func)
        calls = [
            node
            for node in _tools.walk(func.body)
            if isinstance(node, cst.Call)
            and isinstance(node.func, cst.Name)
            and node.func.value in searches
            and node.func.value not in local_names
            and (args := _edits.positional_args(node)) is not None
            and len(args) == 2
            and isinstance(args[0], cst.Name)
        ]
        searched = {id(call.args[0].value) for call in calls}  # handed to a search: a read
        edits = _edits.Edits()
        built: dict[tuple[str, str, int], str] = {}  # (search, sequence, id(loop)) -> index
        for node in calls:
            assert isinstance(node.func, cst.Name) and isinstance(node.args[0].value, cst.Name)
            search = searches[node.func.value]
            sequence = node.args[0].value.value
            loop = next(
                (
                    loop
                    for loop in _edits.enclosing_loops(analysis, node)
                    if _kept_in(analysis, sequence, loop, searched)
                    and _edits.bound_before(analysis, func, sequence, loop)
                ),
                None,
            )
            if loop is None or any(isinstance(a, cst.Lambda) for a in analysis.ancestors(node)):
                continue
            key = (node.func.value, sequence, id(loop))
            index = built.get(key)
            if index is None:
                index = built[key] = _tools.fresh_name(
                    f"{sequence}_by_{search.key_label}", reserved
                )
                anchor = _edits.anchor(analysis, loop, avoid={sequence})
                edits.insert_before(anchor, _edits.assign(index, _index_of(search, sequence)))
            edits.replace_with(
                node,
                lambda n, index=index: cst.Call(
                    func=cst.Attribute(value=cst.Name(index), attr=cst.Name("get")),
                    args=[cst.Arg(n.args[1].value)],  # type: ignore[attr-defined]
                ),
            )
        return _edits.apply_edits(func, edits) if edits else None


def _kept_in(
    analysis: _tools.Analysis, sequence: str, loop: cst.CSTNode, searched: set[int]
) -> bool:
    """The loop does not rebind `sequence` and only reads it (searching it is reading)."""
    if sequence in _edits.assigned_in(loop):
        return False
    for occurrence in analysis.of_name(sequence):
        if not occurrence.inside(loop) or id(occurrence.node) in searched:
            continue
        if _edits.in_scope_within(occurrence, loop):
            return False
        if not _edits.read_only_use(analysis, occurrence):
            return False
    return True


def _index_of(search: Search, sequence: str) -> cst.DictComp:
    reversed_sequence = cst.Call(func=cst.Name("reversed"), args=[cst.Arg(cst.Name(sequence))])
    return cst.DictComp(
        key=search.key,
        value=cst.Name(search.item),
        for_in=cst.CompFor(target=cst.Name(search.item), iter=reversed_sequence),
    )
