"""translate-table: a per-character `"".join(MAP.get(c, c) for c in s)` becomes `s.translate`.

    LEET = {"0": "o", "1": "i", "3": "e"}      LEET = {"0": "o", "1": "i", "3": "e"}
                                         →      _NORMALIZE_TABLE = str.maketrans(LEET)
    def normalize(text):
        return "".join(                         def normalize(text):
            LEET.get(c, c) for c in text)           return text.translate(_NORMALIZE_TABLE)

The join runs a Python-level `dict.get` call per character and builds a list of
one-character strings; `str.translate` walks the string in C. How much that gains
depends on the values (CPython 3.11, a loaded machine): one-character values
(leet-speak, superscripts) 2.3x on 3 characters to 28x on 140 ASCII characters;
multi-character values (escapes) send translate from its ASCII fast path to a
per-character dict lookup at the first escaped character, which is 1.3-1.9x on short
strings and 0.8-1.1x on long text dense with escapes. PyLaTeX's `escape_latex` on
recorded table cells: 1.16x [1.12, 1.20], verified.

The shape is common in escaping and transliteration helpers: LaTeX escapes
(`"".join(SPECIALS.get(c, c) for c in t)`), leet-speak normalisers, Cyrillic
slugifiers, HTML escapes written as `"".join(html_escape_table.get(c, c) for c in
text)` (the Python wiki recipe).

Taught first by humanize bde649f: `"".join([_SUPERSCRIPT_MAP[char] for char in
part2])` → `part2.translate(_SUPERSCRIPT_TRANS)`. That strict form raises KeyError
for a character the map lacks, where translate would keep it; the rule keeps the
original join as the fallback for such strings, so the error is the same.

Chains of `s.replace(a, b)` are deliberately left alone: each `str.replace` is a C
scan with memchr, and on CPython 3.11 five chained replaces (markupsafe's native
`escape`) took 4 µs where the same mapping through `translate` took 38 µs on an
800-character string; a `translate` with multi-character values is a dict lookup per
character and no faster than the replaces it would stand for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import FunctionRewrite, Rule, RuleContext, Safety

EXAMPLE_FIRES = """
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"}


def normalize_leet(text):
    return "".join(LEET.get(ch, ch) for ch in text)
"""

EXAMPLE_SILENT = """
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "@": "a"}


def normalize_leet(text):
    LEET["8"] = "b"
    return "".join(LEET.get(ch, ch) for ch in text)
"""


class TranslateTable(Rule):
    id = "translate-table"
    rationale = (
        "str.translate maps every character in C through a table built once; the join calls "
        "dict.get and makes a string per character."
    )
    safety = Safety.NEEDS_VERIFICATION
    description = (
        '`"".join(MAP.get(c, c) for c in S)` (a generator or a list comprehension, one '
        "`for`, no `if`) becomes `S.translate(_F_TABLE)` with `_F_TABLE = "
        "str.maketrans(MAP)` added just above the function. Fires only when MAP is a "
        "dict literal whose keys are one-character str literals and whose values are str "
        "literals, and either a module-level name bound once, before the function, and "
        "only read anywhere in the module (no item assignment, no update/pop, not passed "
        "to a function), or a local bound once by a statement of the function's own body "
        "before the joins and used only by them (the literal then moves into "
        "`str.maketrans({...})` and the local goes); `str` is not rebound. The strict "
        '`"".join([MAP[c] for c in S])` (KeyError for a missing character), with S a '
        "plain name and MAP module-level, becomes `(S.translate(_F_TABLE) if "
        "_F_KEYS.issuperset(S) else <the original join>)` with `_F_KEYS = "
        "frozenset(MAP)`: a string with a character MAP lacks runs the original and "
        "raises the same KeyError. For a str S "
        "the two are the same character by character (the table is the dict itself, "
        "keyed by code point). Where it differs: S that is not a str (a list of "
        "characters joins but has no `.translate`: AttributeError; None: AttributeError "
        "instead of TypeError), a str subclass that overrides `__iter__` or `translate`, "
        "and MAP changed from another module after import (the table is built once). "
        "Speed depends on the values: with one-character values translate is 2-28x "
        "faster; with longer values (escapes) CPython leaves translate's ASCII fast path "
        "at the first such character and the gain is 1.1-1.5x on short strings, none on "
        "long text dense with escapes, so measurement decides. Chains of `s.replace(...)` "
        "are not rewritten: on CPython they are faster than translate."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> FunctionRewrite | None:
        context = context or RuleContext.standalone(func)
        if context.rebinds(func, "str"):
            return None
        qualname = "_".join([*context.enclosing_classes, func.name.value]).strip("_")
        base = f"_{qualname.upper()}_TABLE"
        reserved = context.reserved_names(func)
        joins: dict[str, list[_Join]] = {}
        for node in _tools.walk(func.body):
            found = _per_character_join(node)
            if found is not None and (not found.strict or _strict_ok(found, func)):
                joins.setdefault(found.mapping, []).append(found)
        edits = _edits.Edits()
        statements: list[cst.SimpleStatementLine] = []
        for mapping, uses in joins.items():
            table = _table_source(context, func, mapping, [u.node for u in uses], edits)
            if table is None:
                continue
            name = _tools.fresh_name(base, reserved)
            statements.append(_edits.assign(name, table))
            keys = None
            if any(use.strict for use in uses):
                keys = _tools.fresh_name(f"_{qualname.upper()}_KEYS", reserved)
                frozen = cst.Call(func=cst.Name("frozenset"), args=[cst.Arg(cst.Name(mapping))])
                statements.append(_edits.assign(keys, frozen))
            for use in uses:
                edits.replace_with(use.node, functools.partial(_translated, use, name, keys))
        if not edits:
            return None
        return FunctionRewrite(_edits.apply_edits(func, edits), tuple(statements))


@dataclass(frozen=True)
class _Join:
    """`"".join(MAP.get(c, c) for c in S)`, or with `MAP[c]` (strict: KeyError if missing)."""

    node: cst.Call
    mapping: str
    iterable: cst.BaseExpression
    strict: bool


def _strict_ok(join: _Join, func: cst.FunctionDef) -> bool:
    """The `MAP[c]` form is rewritten only for a plain name S (evaluated twice) and a
    module-level MAP (the original join stays as the fallback and reads it)."""
    return isinstance(join.iterable, cst.Name) and join.mapping not in _tools.bound_names(func)


def _translated(join: _Join, table: str, keys: str | None, node: cst.CSTNode) -> cst.BaseExpression:
    """`S.translate(TABLE)`; for the strict form `(S.translate(TABLE) if KEYS.issuperset(S)
    else <the original join>)`, so a character missing from MAP raises the same KeyError."""
    assert isinstance(node, cst.Call)
    call = cst.Call(
        func=cst.Attribute(value=_receiver(join.iterable), attr=cst.Name("translate")),
        args=[cst.Arg(cst.Name(table))],
    )
    if not join.strict or keys is None:
        return call.with_changes(lpar=node.lpar, rpar=node.rpar)
    test = cst.Call(
        func=cst.Attribute(value=cst.Name(keys), attr=cst.Name("issuperset")),
        args=[cst.Arg(join.iterable)],
    )
    bare = node.with_changes(lpar=(), rpar=())
    return _tools.parenthesized(cst.IfExp(test=test, body=call, orelse=bare))


def _table_source(
    context: RuleContext,
    func: cst.FunctionDef,
    mapping: str,
    uses: list[cst.Call],
    edits: _edits.Edits,
) -> cst.Call | None:
    """`str.maketrans(MAP)` for a constant module-level map; `str.maketrans({...})` for a
    local dict literal used only by these joins (its assignment is then removed)."""
    if mapping not in _tools.bound_names(func):
        return _maketrans(cst.Name(mapping)) if _constant_char_map(context, func, mapping) else None
    line = _local_char_map(func, mapping, uses)
    if line is None:
        return None
    edits.remove(line)
    literal = _assigned_dict(line.body[0], mapping)
    assert literal is not None
    return _maketrans(literal.deep_clone().with_changes(lpar=(), rpar=()))


def _local_char_map(
    func: cst.FunctionDef, name: str, joins: list[cst.Call]
) -> cst.SimpleStatementLine | None:
    """The line `NAME = {one char: str, ...}` in the function's own body, if it binds NAME
    once, comes before every join, and the joins' `NAME.get` are NAME's only other uses."""
    analysis = _tools.Analysis.of(func)
    occurrences = analysis.of_name(name)
    stores = [o for o in occurrences if analysis.is_store(o.node)]
    if len(stores) != 1 or len(occurrences) != len(joins) + 1:
        return None
    line = next(
        (a for a in reversed(stores[0].ancestors) if isinstance(a, cst.SimpleStatementLine)), None
    )
    if line is None or analysis.ancestors(line)[-1] is not func.body:
        return None  # not a statement of the function's own body (a branch, a loop)
    if len(line.body) != 1 or not _is_char_map_assignment(line.body[0], name):
        return None
    for join in joins:
        if analysis.position(join) < analysis.position(line):
            return None
        if any(
            isinstance(a, _tools.NEW_SCOPES) and a is not func for a in analysis.ancestors(join)
        ):
            return None
    inside = [o for o in occurrences if any(o.inside(join) for join in joins)]
    return line if len(inside) == len(joins) else None


def _per_character_join(node: cst.CSTNode) -> _Join | None:
    """`"".join(MAP.get(c, c) for c in S)`, `"".join([MAP[c] for c in S])` and the like."""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and node.func.attr.value == "join"
        and isinstance(node.func.value, cst.SimpleString)
        and node.func.value.evaluated_value == ""
        and len(node.args) == 1
        and node.args[0].keyword is None
        and not node.args[0].star
    ):
        return None
    comprehension = node.args[0].value
    if not isinstance(comprehension, (cst.GeneratorExp, cst.ListComp)):
        return None
    for_in = comprehension.for_in
    if (
        for_in.ifs
        or for_in.inner_for_in is not None
        or for_in.asynchronous is not None
        or not isinstance(for_in.target, cst.Name)
    ):
        return None
    char = for_in.target.value
    mapping = _get_with_itself(comprehension.elt, char)
    if mapping is not None:
        return _Join(node, mapping, for_in.iter, strict=False)
    mapping = _subscript_by(comprehension.elt, char)
    return None if mapping is None else _Join(node, mapping, for_in.iter, strict=True)


def _subscript_by(element: cst.BaseExpression, char: str) -> str | None:
    """MAP if `element` is `MAP[char]`."""
    if not (
        isinstance(element, cst.Subscript)
        and isinstance(element.value, cst.Name)
        and len(element.slice) == 1
        and isinstance(element.slice[0].slice, cst.Index)
    ):
        return None
    index = element.slice[0].slice.value
    return element.value.value if isinstance(index, cst.Name) and index.value == char else None


def _get_with_itself(element: cst.BaseExpression, char: str) -> str | None:
    """MAP if `element` is `MAP.get(char, char)`."""
    if not (
        isinstance(element, cst.Call)
        and isinstance(element.func, cst.Attribute)
        and element.func.attr.value == "get"
        and isinstance(element.func.value, cst.Name)
    ):
        return None
    args = _edits.positional_args(element)
    if args is None or len(args) != 2:
        return None
    if all(isinstance(a, cst.Name) and a.value == char for a in args):
        return element.func.value.value
    return None


def _constant_char_map(context: RuleContext, func: cst.FunctionDef, name: str) -> bool:
    """True if `name` is a module-level dict literal {one char: str} bound once, above
    `func`, and only read anywhere in the module."""
    if name in _tools.bound_names(func):
        return False
    statements = context.module_bindings.get(name, ())
    if len(statements) != 1 or not _is_char_map_assignment(statements[0], name):
        return False
    if not _defined_above(context.module, statements[0], func):
        return False
    analysis = _tools.Analysis.of(context.module)
    for occurrence in analysis.of_name(name):
        if occurrence.inside(statements[0]):
            continue
        if not _edits.read_only_use(analysis, occurrence):
            return False
    return True


def _assigned_dict(statement: cst.CSTNode, name: str) -> cst.Dict | None:
    """The dict literal of `NAME = {...}` or `NAME: T = {...}`."""
    if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
        target: cst.BaseExpression = statement.targets[0].target
    elif isinstance(statement, cst.AnnAssign):
        target = statement.target
    else:
        return None
    value = statement.value
    if isinstance(target, cst.Name) and target.value == name and isinstance(value, cst.Dict):
        return value
    return None


def _is_char_map_assignment(statement: cst.CSTNode, name: str) -> bool:
    literal = _assigned_dict(statement, name)
    if literal is None or not literal.elements:
        return False
    for element in literal.elements:
        if not isinstance(element, cst.DictElement):
            return False  # a `**other` spread
        key, value = element.key, element.value
        if not (isinstance(key, cst.SimpleString) and isinstance(value, cst.SimpleString)):
            return False
        key_text, value_text = key.evaluated_value, value.evaluated_value
        if not (isinstance(key_text, str) and len(key_text) == 1 and isinstance(value_text, str)):
            return False
    return True


def _defined_above(module: cst.Module, statement: cst.CSTNode, func: cst.FunctionDef) -> bool:
    """True if `statement` is in a top-level line that comes before the one holding `func`."""
    line_of_statement = line_of_func = None
    for index, line in enumerate(module.body):
        if isinstance(line, cst.SimpleStatementLine) and any(s is statement for s in line.body):
            line_of_statement = index
        if line is func or any(node is func for node in _tools.walk(line)):
            line_of_func = index
    return (
        line_of_statement is not None
        and line_of_func is not None
        and line_of_statement < line_of_func
    )


def _maketrans(mapping: cst.BaseExpression) -> cst.Call:
    return cst.Call(
        func=cst.Attribute(value=cst.Name("str"), attr=cst.Name("maketrans")),
        args=[cst.Arg(mapping)],
    )


def _receiver(iterable: cst.BaseExpression) -> cst.BaseExpression:
    """`iterable` as the object of `.translate`, in parentheses unless it is atomic."""
    atomic = (cst.Name, cst.Attribute, cst.Call, cst.Subscript, cst.SimpleString)
    return iterable if isinstance(iterable, atomic) else _tools.parenthesized(iterable)
