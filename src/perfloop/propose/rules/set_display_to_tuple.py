"""set-display-to-tuple: `x in {A.B, A.C}` whose set is built on every test becomes a tuple.

    return self in {StringType.SLB, StringType.MLB}
        →    return self in (StringType.SLB, StringType.MLB)

A set display of literals is folded by the compiler into one constant frozenset, but
one with a name or an attribute in it is built anew each time the test runs: a new
set, every element hashed into it, then the value hashed to look it up. For a few
elements a tuple is built from a free list and scanned by identity first, then `==`.
Enum members hash in Python (`Enum.__hash__` is `hash(self._name_)`), so the set of
two members costs a few hundred nanoseconds where the tuple costs half.

Found on tomlkit 0.13.2: `StringType.is_basic`, `is_multiline` and `is_singleline`
(`self in {StringType.SLB, StringType.MLB}` and the like) took 21.9% of parsing eight
pyproject.toml files; 404 ns a call with the set, 182 ns with the tuple.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def is_basic(kind):
    return kind in {StringType.SLB, StringType.MLB}
"""

EXAMPLE_SILENT = """
def is_closing(ch):
    return ch in {".", "!", "?"}
"""

# a display this long is left alone: a scan by `==` grows with it, a set lookup does not
MAX_ELEMENTS = 8


def _constant(node: cst.BaseExpression) -> bool:
    """What the compiler folds into a constant (so a display of only these is a frozenset
    constant already): literals, None/True/False, a signed number, a tuple of constants."""
    if isinstance(
        node, (cst.Integer, cst.Float, cst.Imaginary, cst.SimpleString, cst.ConcatenatedString)
    ):
        return not _tools.contains(node, (cst.FormattedString,))
    if isinstance(node, cst.Name):
        return node.value in {"None", "True", "False"}
    if isinstance(node, cst.UnaryOperation):
        return isinstance(node.operator, (cst.Minus, cst.Plus)) and _constant(node.expression)
    if isinstance(node, cst.Tuple):
        return all(isinstance(e, cst.Element) and _constant(e.value) for e in node.elements)
    return False


def _rebuilt_set(node: cst.Set) -> bool:
    """A set display the interpreter builds each time it is evaluated, small enough that
    scanning a tuple of the same elements is cheaper."""
    elements = node.elements
    return (
        0 < len(elements) <= MAX_ELEMENTS
        and all(isinstance(e, cst.Element) for e in elements)  # no `*rest`
        and not all(_constant(e.value) for e in elements)
    )


def _as_tuple(node: cst.Set) -> cst.Tuple:
    """The same elements, commas and spacing, in parentheses instead of braces."""
    lpar = node.lpar or (cst.LeftParen(whitespace_after=node.lbrace.whitespace_after),)
    rpar = node.rpar or (cst.RightParen(whitespace_before=node.rbrace.whitespace_before),)
    return cst.Tuple(elements=node.elements, lpar=lpar, rpar=rpar)


class SetDisplayToTuple(Rule):
    id = "set-display-to-tuple"
    rationale = (
        "A set display with names in it is built and hashed on every `in` test; a small "
        "tuple is cheaper to build and to scan."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`X in {E1, E2, ...}` (or `not in`), the set display of one to eight elements with "
        "at least one that is not a literal (a name, an attribute, a call), becomes `X in "
        "(E1, E2, ...)`; displays of literals only stay (the compiler already makes them a "
        "constant frozenset), as do sets held in a name. Differs when X or an element is "
        "unhashable (the set raises TypeError, the tuple answers), when `==` and `hash` "
        "disagree (equal objects with different hashes: the set says no, the tuple yes), "
        "and in which `__hash__` and `__eq__` methods run and how often."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.ComparisonTarget):
                continue
            if not isinstance(node.operator, (cst.In, cst.NotIn)):
                continue
            comparator = node.comparator
            if isinstance(comparator, cst.Set) and _rebuilt_set(comparator):
                edits.replace_with(comparator, lambda n: _as_tuple(n))
        return _edits.apply_edits(func, edits) if edits else None
