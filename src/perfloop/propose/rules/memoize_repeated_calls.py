"""memoize-repeated-calls: a pure module function called in a loop gets a cache for one call
of the caller.

    for order in orders:                  cost_cached = functools.cache(cost)
        total += cost(order.zone)     →   for order in orders:
                                              total += cost_cached(order.zone)

When the loop asks for the same arguments again, the answer comes from a dict
instead of running the function again. The cache is made afresh on every call of
the caller, so nothing is kept between calls.
"""

from __future__ import annotations

import functools

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety
from perfloop.propose.rules.memoize_recursive import _mutates_a_parameter

EXAMPLE_FIRES = """
def route_lengths(routes):
    lengths = []
    for route in routes:
        lengths.append(walking_distance(route))
    return lengths


def walking_distance(route):
    return sum(abs(a - b) for a, b in zip(route, route[1:]))
"""

EXAMPLE_SILENT = """
def route_lengths(routes):
    lengths = []
    for route in routes:
        lengths.append(walking_distance(route))
    return lengths


def walking_distance(route):
    print(route)
    return sum(abs(a - b) for a, b in zip(route, route[1:]))
"""

# calls and names that show a function is not a function of its arguments alone
_IMPURE_CALLS = frozenset(
    {"print", "open", "input", "exec", "eval", "setattr", "delattr", "next", "iter", "id",
     "globals", "locals", "vars", "breakpoint", "__import__"}
)  # fmt: skip
_IMPURE_NAMES = frozenset(
    {"random", "time", "datetime", "os", "sys", "uuid", "secrets", "itertools", "threading",
     "socket", "subprocess", "logging"}
)  # fmt: skip


@functools.lru_cache(maxsize=512)  # asked for every function of a module, per target
def pure_function(func: cst.FunctionDef) -> bool:
    """True if nothing in `func` shows it depends on or changes anything but its arguments'
    values (a syntactic guess; verification decides)."""
    if func.decorators or func.asynchronous is not None:
        return False
    body = func.body
    if _tools.contains(body, (cst.Global, cst.Nonlocal, cst.Yield, cst.Await)):
        return False
    if not any(isinstance(n, cst.Return) and n.value is not None for n in _tools.walk(body)):
        return False
    if _tools.calls_named(body, _IMPURE_CALLS) or _tools.names_in(body) & _IMPURE_NAMES:
        return False
    if not _tools.contains(body, (cst.For, cst.While, *_tools.COMPREHENSIONS)):
        return False  # without a loop a call costs about what a cache lookup does
    for node in _tools.walk(body):
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in _edits.MUTATING_METHODS
        ):
            return False
    analysis = _tools.Analysis.of(func)
    params = {p.name.value for p in _edits.params_of(func)}
    return not _mutates_a_parameter(analysis, params)


class MemoizeRepeatedCalls(Rule):
    id = "memoize-repeated-calls"
    rationale = (
        "A loop that calls a pure function with arguments it has seen before gets the answer "
        "from a cache that lives for one call."
    )
    safety = Safety.NEEDS_VERIFICATION
    min_python = (3, 9)  # functools.cache
    imports = (("functools", None),)
    description = (
        "Calls `G(...)` inside a for/while loop, G a module-level function bound only by its "
        "def (not the function itself: memoize-recursive), without decorators, that loops "
        "(a loop or comprehension: cheaper functions cost no more than a cache lookup), "
        "returns a value and shows no effects (no global/nonlocal/yield, no "
        "print/open/next/..., no "
        "random/time/os/..., no mutating method calls, no stores into its parameters), "
        "call `G_cached(...)` instead, with `G_cached = functools.cache(G)` bound just before "
        "the outermost loop: the cache lives for one call of the caller. Silent when G or "
        "functools are rebound. Differs when an argument is unhashable (TypeError), when G "
        "has effects the syntax does not show or depends on global state that changes "
        "during the loop, when the caller changes a returned mutable object (the next cached "
        "answer is that same object), and for arguments that are equal but not the same "
        "(1 and 1.0 share an entry)."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        bindings = context.module_bindings
        if "functools" in bindings and not _edits.imported_as(bindings, "functools", "functools"):
            return None
        local_names = _tools.bound_names(func)
        if "functools" in local_names:
            return None
        pure = {
            statement.name.value
            for statement in context.module.body
            if isinstance(statement, cst.FunctionDef)
            and statement.name.value != func.name.value
            and bindings.get(statement.name.value) == (statement,)
            and statement.name.value not in local_names
            and pure_function(statement)
        }
        if not pure:
            return None
        analysis = _tools.Analysis.of(func)
        reserved = context.reserved_names(func)
        edits = _edits.Edits()
        cached: dict[tuple[str, int], str] = {}
        for node in _tools.walk(func.body):
            if not (isinstance(node, cst.Call) and isinstance(node.func, cst.Name)):
                continue
            name = node.func.value
            if name not in pure or any(a.star for a in node.args):
                continue
            if any(isinstance(a, cst.Lambda) for a in analysis.ancestors(node)):
                continue
            loops = _edits.enclosing_loops(analysis, node)
            if not loops:
                continue
            local = cached.get((name, id(loops[0])))
            if local is None:
                local = _tools.fresh_name(f"{name.strip('_')}_cached", reserved)
                cached[(name, id(loops[0]))] = local
                memo = cst.Call(
                    func=cst.Attribute(value=cst.Name("functools"), attr=cst.Name("cache")),
                    args=[cst.Arg(cst.Name(name))],
                )
                edits.insert_before(_edits.anchor(analysis, loops[0]), _edits.assign(local, memo))
            edits.replace_with(node.func, lambda n, local=local: cst.Name(local))
        return _edits.apply_edits(func, edits) if edits else None
