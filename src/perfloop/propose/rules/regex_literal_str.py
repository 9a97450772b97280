"""regex-literal-str: a regular expression that is just literal text becomes a str method.

    re.sub(", ", ";", line)           →       line.replace(", ", ";")
    re.split("\\t", row)               →       row.split("\\t")
    if re.search("ERROR", line):      →       if "ERROR" in line:
    if re.match("#", line):           →       if line.startswith("#"):
    re.findall("ab", text)            →       ["ab"] * text.count("ab")

String methods search for fixed text directly, without the regex engine and re's
pattern cache.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _regex, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
import re


def fields(row):
    return re.split(";", row)
"""

EXAMPLE_SILENT = """
import re


def fields(row):
    return re.split("; *", row)
"""


_PLAIN_CHARACTERS = frozenset(" \t\n_,;:-'\"<>=!@%&~`/#")  # literal outside [...] without flags


def _is_literal_text(pattern: str | bytes) -> bool:
    """True if the regex matches exactly its own text: non-empty, no special characters."""
    if not pattern:
        return False
    text = pattern.decode("latin-1") if isinstance(pattern, bytes) else pattern
    return all(ch.isalnum() or ch in _PLAIN_CHARACTERS for ch in text)


def _plain_replacement(node: cst.BaseExpression) -> bool:
    """A literal replacement without backslashes (no group references or escapes)."""
    value = _regex.literal_value(node)
    if value is None:
        return False
    return (b"\\" not in value) if isinstance(value, bytes) else ("\\" not in value)


def _in_truth_context(analysis: _tools.Analysis, node: cst.CSTNode) -> bool:
    """True if only the truth of `node` matters: an if/while test, `not`, or and/or inside one."""
    current = node
    for parent in reversed(analysis.ancestors(node)):
        if isinstance(parent, (cst.If, cst.While)) and parent.test is current:
            return True
        if isinstance(parent, cst.IfExp) and parent.test is current:
            return True
        if isinstance(parent, cst.UnaryOperation) and isinstance(parent.operator, cst.Not):
            return True
        if isinstance(parent, cst.BooleanOperation):
            current = parent
            continue
        return False
    return False


def _method(obj: cst.BaseExpression, method: str, args: list[cst.BaseExpression]) -> cst.Call:
    if isinstance(obj, (cst.BinaryOperation, cst.BooleanOperation, cst.IfExp, cst.Lambda)):
        obj = _tools.parenthesized(obj)
    return cst.Call(
        func=cst.Attribute(value=obj, attr=cst.Name(method)), args=[cst.Arg(a) for a in args]
    )


def _replacement(found: _regex.RegexCall, truth: bool) -> cst.BaseExpression | None:
    """The str-method form of the call, or None if it has none."""
    if found.flags or not _is_literal_text(found.pattern):
        return None
    rest = found.rest
    if any(a.keyword is not None for a in rest):
        return None
    values = [a.value for a in rest]
    pattern = found.pattern_node.with_changes(lpar=(), rpar=())
    if found.function == "sub" and len(values) == 2 and _plain_replacement(values[0]):
        return _method(values[1], "replace", [pattern, values[0]])
    if found.function == "split" and len(values) == 1:
        return _method(values[0], "split", [pattern])
    if found.function == "findall" and len(values) == 1:
        items = cst.List(elements=[cst.Element(pattern)])
        count = _method(values[0], "count", [pattern])
        return cst.BinaryOperation(left=items, operator=cst.Multiply(), right=count)
    if found.function == "search" and len(values) == 1 and truth:
        return cst.Comparison(left=pattern, comparisons=[cst.ComparisonTarget(cst.In(), values[0])])
    if found.function == "match" and len(values) == 1 and truth:
        return _method(values[0], "startswith", [pattern])
    return None


class RegexLiteralStr(Rule):
    id = "regex-literal-str"
    rationale = (
        "For a pattern that is plain text, str.replace/split/count/in/startswith skip the regex "
        "engine entirely."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "With a literal pattern that has no regex special characters and no flags: "
        "`re.sub(P, R, S)` (R a literal without backslashes) → `S.replace(P, R)`, "
        "`re.split(P, S)` → `S.split(P)`, `re.findall(P, S)` → `[P] * S.count(P)`, and where "
        "only truth matters (if/while tests, not, and/or there) `re.search(P, S)` → `P in S` "
        "and `re.match(P, S)` → `S.startswith(P)`. Silent for count/maxsplit arguments, "
        "keywords, empty patterns, and unless the module binds `re` only by `import re`. "
        "Differs when S is not a str or bytes (other exception types: TypeError vs "
        "AttributeError) and for str subclasses that override these methods."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        if not _edits.imported_as(context.module_bindings, "re", "re"):
            return None
        if "re" in _tools.bound_names(func):
            return None
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            found = _regex.regex_call(node, "re")
            if found is None:
                continue
            new = _replacement(found, _in_truth_context(analysis, node))
            if new is None:
                continue
            if _tools.needs_parens_among_operators(analysis.ancestors(node)[-1], node):
                new = _tools.parenthesized(new)
            edits.replace_with(node, lambda n, new=new: new)
        return _edits.apply_edits(func, edits) if edits else None
