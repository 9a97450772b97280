"""isinstance-abc-fast-path: `isinstance(x, Number)` first asks whether x is exactly a builtin
type the ABC always contains.

    return isinstance(x, Number)
    ->
    return type(x) in (int, float, complex) or isinstance(x, Number)

An abstract base class (numbers' `Number`, collections.abc's `Mapping`) answers isinstance
through `ABCMeta.__instancecheck__`, a Python-level call: 106 ns for an int against
`Number`, against 16 ns for `type(x) in (int, float, complex)` (Python 3.11). int, float
and complex are registered with `Number` for good (registration cannot be undone), so
when x is exactly one of them the answer is True either way, and anything else still gets
the original check (a subclass, numpy's scalars, Decimal, a class registered later).
Maintainers add such fast paths where the check is hot: Qiskit #4791 (`numbers.Integral`
in circuit construction, 11-13% of it), openpilot #35890, the review of CPython #120271
(`Fraction`'s constructor). jmespath 1.0.1's `_is_actual_number` (18% of a query
workload) is this check.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
from numbers import Number

def is_number(x):
    if isinstance(x, bool):
        return False
    return isinstance(x, Number)
"""

EXAMPLE_SILENT = """
from numbers import Number

def is_number(item):
    return isinstance(item.value, Number)
"""

# Each ABC the rule knows -> the builtin types that are always instances of it, exactly.
# (numbers registers int, float and complex; collections.abc registers or recognises the
# builtin containers. bool is left to the ABC's own check: it is a subclass of int.)
FAST_TYPES: dict[tuple[str, str], tuple[str, ...]] = {
    ("numbers", "Number"): ("int", "float", "complex"),
    ("numbers", "Complex"): ("int", "float", "complex"),
    ("numbers", "Real"): ("int", "float"),
    ("numbers", "Rational"): ("int",),
    ("numbers", "Integral"): ("int",),
    ("collections.abc", "Mapping"): ("dict",),
    ("collections.abc", "MutableMapping"): ("dict",),
    ("collections.abc", "Sequence"): ("list", "tuple", "str"),
    ("collections.abc", "MutableSequence"): ("list",),
    ("collections.abc", "Set"): ("set", "frozenset"),
    ("collections.abc", "MutableSet"): ("set",),
    ("collections.abc", "Iterable"): ("list", "tuple", "dict", "set", "str"),
    ("collections.abc", "Collection"): ("list", "tuple", "dict", "set", "str"),
    ("collections.abc", "Sized"): ("list", "tuple", "dict", "set", "str"),
    ("collections.abc", "Container"): ("list", "tuple", "dict", "set", "str"),
}

# where `x in (...) or ...` needs no parentheses of its own
_LOOSE_PARENTS = (
    cst.If, cst.While, cst.Return, cst.Assign, cst.AnnAssign, cst.Arg, cst.Expr, cst.IfExp,
    cst.CompIf, cst.Lambda,
)  # fmt: skip


def _abc_named(node: cst.BaseExpression, context: RuleContext) -> tuple[str, str] | None:
    """(module, name) of the ABC `node` names: `Number` imported from numbers, `numbers.Number`
    through `import numbers [as n]`, `abc.Mapping` through `from collections import abc`."""
    bindings = context.module_bindings
    if isinstance(node, cst.Name):
        for module, name in FAST_TYPES:
            if name == node.value and _edits.imported_from(bindings, module, name):
                return module, name
        return None
    if not (isinstance(node, cst.Attribute) and isinstance(node.value, cst.Name)):
        return None
    holder, name = node.value.value, node.attr.value
    for module in ("numbers", "collections.abc"):
        if (module, name) not in FAST_TYPES:
            continue
        if _edits.module_alias(bindings, module) == holder or (
            module == "collections.abc"
            and _edits.imported_from(bindings, "collections", holder)
            and holder == "abc"
        ):
            return module, name
    return None


class IsinstanceAbcFastPath(Rule):
    id = "isinstance-abc-fast-path"
    rationale = (
        "isinstance against an ABC is a Python-level __instancecheck__; an exact builtin type "
        "the ABC always contains answers first."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`isinstance(x, ABC)`, x a plain name and ABC one of numbers' Number, Complex, Real, "
        "Rational, Integral or collections.abc's Mapping, MutableMapping, Sequence, "
        "MutableSequence, Set, MutableSet, Iterable, Collection, Sized, Container (imported "
        "by name or through their module), becomes `type(x) in (<builtins it always "
        "contains>) or isinstance(x, ABC)` (`type(x) is int or ...` for one). Silent when "
        "the module or the function binds `type`, `isinstance` or one of those builtins' "
        "names, or the ABC's name is bound otherwise. The same answer for every x; slower "
        "(by about 50 ns) where x is never one of those builtins, which the measurement "
        "shows."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "type") or context.rebinds(func, "isinstance"):
            return None
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            fast = self._fast_types(node, context, func)
            if fast is None:
                continue
            ancestors = analysis.ancestors(node)
            parent = ancestors[-1] if ancestors else None
            loose = isinstance(parent, _LOOSE_PARENTS) or (
                isinstance(parent, cst.BooleanOperation) and isinstance(parent.operator, cst.Or)
            )
            edits.replace_with(node, lambda new, f=fast, p=not loose: _with_fast_path(new, f, p))
        return _edits.apply_edits(func, edits) if edits else None

    def _fast_types(
        self, node: cst.CSTNode, context: RuleContext, func: cst.FunctionDef
    ) -> tuple[str, ...] | None:
        if not _edits.is_call_to(node, "isinstance"):
            return None
        assert isinstance(node, cst.Call)
        args = _edits.positional_args(node)
        if args is None or len(args) != 2 or not isinstance(args[0], cst.Name):
            return None
        named = _abc_named(args[1], context)
        if named is None:
            return None
        holder = args[1] if isinstance(args[1], cst.Name) else args[1].value  # type: ignore[attr-defined]
        if holder.value in _tools.bound_names(func):
            return None
        fast = FAST_TYPES[named]
        if any(context.rebinds(func, name) for name in fast):
            return None
        return fast


def _with_fast_path(node: cst.CSTNode, fast: tuple[str, ...], parenthesize: bool) -> cst.CSTNode:
    """`type(x) in (T1, T2) or isinstance(x, ABC)` for the (already rewritten) call."""
    assert isinstance(node, cst.Call)
    subject = node.args[0].value.with_changes(lpar=(), rpar=())
    exact = cst.Call(cst.Name("type"), [cst.Arg(subject)])
    if len(fast) == 1:  # `type(x) is int`
        target = cst.ComparisonTarget(cst.Is(), cst.Name(fast[0]))
    else:
        types = [cst.Element(cst.Name(name)) for name in fast]
        target = cst.ComparisonTarget(
            cst.In(), cst.Tuple(types, lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
        )
    check = cst.Comparison(exact, [target])
    call = node.with_changes(lpar=(), rpar=())
    either = cst.BooleanOperation(check, cst.Or(), call, lpar=node.lpar, rpar=node.rpar)
    return _tools.parenthesized(either) if parenthesize else either
