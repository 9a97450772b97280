"""match-group-subscript: `m.group(1)` on a regular-expression match becomes `m[1]`.

    loc = result.end()                       loc = result.end()
    return loc, result.group()       →       return loc, result[0]

`re.Match.__getitem__` is the same lookup as `group` with one argument, without
looking up and calling a method.

Taught by pyparsing 21a4b14 ("use re result[1] instead of result.group(1)", in the
hot `Word`, `Regex` and `QuotedString` parse methods); fires on pyparsing 3.1.1's
`Word.parseImpl_regex` as released before that commit.
"""

from __future__ import annotations

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
def parse_regex(re_match, instring, loc):
    result = re_match(instring, loc)
    if not result:
        raise ValueError(loc)
    return result.end(), result.group()
"""

EXAMPLE_SILENT = """
def parse_regex(re_match, instring, loc):
    result = re_match(instring, loc)
    if not result:
        raise ValueError(loc)
    return result.end(), result.group(1, 2)
"""


def _group_index(call: cst.Call) -> cst.BaseExpression | None:
    """The subscript that does what `NAME.group(...)` does: `0` for no argument, the
    literal for one int or str literal; None otherwise."""
    func = call.func
    if not (
        isinstance(func, cst.Attribute)
        and func.attr.value == "group"
        and isinstance(func.value, cst.Name)
    ):
        return None
    args = _edits.positional_args(call)
    if args is None or len(args) > 1:
        return None
    if not args:
        return cst.Integer("0")
    index = args[0]
    return index if isinstance(index, (cst.Integer, cst.SimpleString)) else None


class MatchGroupSubscript(Rule):
    id = "match-group-subscript"
    rationale = (
        "`m[1]` indexes the match directly; `m.group(1)` looks up a method and calls it "
        "to do the same lookup."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`NAME.group()` becomes `NAME[0]` and `NAME.group(LITERAL)` (an int or str "
        "literal) `NAME[LITERAL]`; several arguments, keywords and computed arguments "
        "stay. Differs when NAME is not an `re.Match`: None raises TypeError instead of "
        "AttributeError, other objects with a `group` method (or none) may not index the "
        "same way."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.Call):
                continue
            index = _group_index(node)
            if index is None:
                continue
            subscript = cst.Subscript(
                value=node.func.value,  # type: ignore[attr-defined]
                slice=[cst.SubscriptElement(cst.Index(index))],
            )
            edits.replace_with(node, lambda n, new=subscript: _keep_parens(n, new))
        return _edits.apply_edits(func, edits) if edits else None


def _keep_parens(old: cst.CSTNode, new: cst.Subscript) -> cst.Subscript:
    assert isinstance(old, cst.Call)
    return new.with_changes(lpar=old.lpar, rpar=old.rpar)
