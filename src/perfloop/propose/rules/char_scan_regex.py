"""char-scan-regex: an index stepped over characters while they are (or are not) in a fixed
set becomes one match of a compiled character class, with the loop kept for other inputs.

    while pos < end and src[pos] not in STOP:   if pos < end and src[pos] not in STOP:
        pos += 1                                    pos += 1
                                             →      if (type(src) is str and type(end) is int
                                                            and type(pos) is int
                                                            and 0 <= pos < end <= len(src)):
                                                        pos = _SCAN_RE.match(src, pos, end).end()
                                                    else:
                                                        while pos < end and src[pos] not in STOP:
                                                            pos += 1

Each pass of the loop indexes the string, hashes the character and tests the set in the
interpreter; the regular-expression engine scans the same characters in C. Tokenizers and
Markdown parsers skip text, spaces or digits so (markdown-it-py 3.0.0's inline `text`
rule spends its time in exactly this loop). The guard takes the match only where the loop
could not raise and the index is a plain int into a str, after a first step taken as the
loop takes it (most calls of a scanner find an empty run); everything else (a list of
characters, an end past the string's length, which makes the loop raise IndexError, a
negative index) runs the loop as written.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import FunctionRewrite, Rule, RuleContext, Safety

EXAMPLE_FIRES = """
STOP = {"*", "_", "[", "]", "`", "\\n"}


def skip_text(src, pos, end):
    while pos < end and src[pos] not in STOP:
        pos += 1
    return pos
"""

EXAMPLE_SILENT = """
def skip_text(src, pos, end, stop):
    while pos < end and src[pos] not in stop:
        pos += 1
    return pos
"""


@dataclass(frozen=True)
class _Scan:
    loop: cst.While
    index: str  # the index variable
    text: cst.BaseExpression  # what is indexed
    end: cst.BaseExpression  # the bound the index stays below
    chars: frozenset[str]
    negated: bool  # `not in`: step over characters outside the set


class CharScanRegex(Rule):
    id = "char-scan-regex"
    rationale = (
        "A compiled character class finds where the run of characters ends in C, instead "
        "of one indexing, hash and set test per character in the interpreter."
    )
    safety = Safety.NEEDS_VERIFICATION
    imports = (("re", None),)
    description = (
        "`while I < END and S[I] not in C: I += 1` (or `in C`), the loop's whole body the "
        "increment and no else, I a local name, S a name or attribute chain, END a name, "
        "an attribute chain, an int literal or `len(...)` of one, C a str literal, a "
        "set/list/tuple literal of one-character strs, or a module name bound once to one "
        "(set, frozenset, list, tuple or str) and used in the module only as the right "
        "side of `in`/`not in`, becomes its first step as written (`if <the test>: I += "
        "1`), then `if type(S) is str and type(END) is int and type(I) is int and 0 <= I < "
        "END <= len(S): I = _F_SCAN_RE.match(S, I, END).end()` with the loop as it was in "
        "the else branch and `_F_SCAN_RE = re.compile('[^...]*')` "
        "(or `[...]*`) just above the function. Silent where the module binds `re` other "
        "than by `import re`, or the module or function binds type or len. Differs when "
        "another module changes the set after import, when reading S or END has effects "
        "(a property), or when S is a str subclass that overrides indexing."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> FunctionRewrite | None:
        loops = [node for node in _tools.walk(func.body) if isinstance(node, cst.While)]
        if not loops:  # the common case, decided before anything costs
            return None
        context = context or RuleContext.standalone(func)
        scans = [scan for loop in loops if (scan := _scan(loop, func, context)) is not None]
        if not scans:
            return None
        bindings = context.module_bindings
        if "re" in bindings and not _edits.imported_as(bindings, "re", "re"):
            return None
        if "re" in _tools.bound_names(func) or any(
            context.rebinds(func, name) for name in ("type", "len", "str", "int")
        ):
            return None
        reserved = context.reserved_names(func)
        qualname = "_".join([*context.enclosing_classes, func.name.value]).strip("_")
        edits = _edits.Edits()
        statements: list[cst.SimpleStatementLine] = []
        patterns: dict[str, str] = {}
        for scan in scans:
            pattern = _pattern(scan.chars, scan.negated)
            name = patterns.get(pattern)
            if name is None:
                base = f"_{qualname.upper()}_SCAN_RE"
                name = patterns[pattern] = _tools.fresh_name(base, reserved)
                statements.append(_edits.assign(name, _compile(pattern)))
            edits.replace_with(scan.loop, lambda n, scan=scan, name=name: _guarded(n, scan, name))
        if not edits:
            return None
        return FunctionRewrite(_edits.apply_edits(func, edits), tuple(statements))


def _scan(loop: cst.While, func: cst.FunctionDef, context: RuleContext) -> _Scan | None:
    """The parts of `loop` if it is a character scan this rule rewrites."""
    if loop.orelse is not None:
        return None
    step = _tools.single_small_statement(loop.body)
    test = loop.test
    if not (
        isinstance(step, cst.AugAssign)
        and isinstance(step.operator, cst.AddAssign)
        and isinstance(step.target, cst.Name)
        and isinstance(step.value, cst.Integer)
        and step.value.value == "1"
        and isinstance(test, cst.BooleanOperation)
        and isinstance(test.operator, cst.And)
    ):
        return None
    index = step.target.value
    bound, member = test.left, test.right
    if not (
        isinstance(bound, cst.Comparison)
        and len(bound.comparisons) == 1
        and isinstance(bound.comparisons[0].operator, cst.LessThan)
        and _is_name(bound.left, index)
        and isinstance(member, cst.Comparison)
        and len(member.comparisons) == 1
        and isinstance(member.comparisons[0].operator, (cst.In, cst.NotIn))
        and isinstance(member.left, cst.Subscript)
        and len(member.left.slice) == 1
        and isinstance(member.left.slice[0].slice, cst.Index)
        and _is_name(member.left.slice[0].slice.value, index)
    ):
        return None
    text, end = member.left.value, bound.comparisons[0].comparator
    if _chain(text) is None or not _plain_end(end):
        return None
    if index in _names_in(text) or index in _names_in(end):
        return None
    chars = _characters(member.comparisons[0].comparator, func, context)
    if chars is None:
        return None
    negated = isinstance(member.comparisons[0].operator, cst.NotIn)
    return _Scan(loop, index, text, end, chars, negated)


def _is_name(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name and not node.lpar


def _chain(node: cst.BaseExpression) -> list[str] | None:
    """`a.b.c` as its names, None for anything else (calls, subscripts, parentheses)."""
    if node.lpar:
        return None
    return _edits.attribute_chain(node)


def _plain_end(node: cst.BaseExpression) -> bool:
    """A name, an attribute chain, an int literal or `len(<chain>)`."""
    if isinstance(node, cst.Integer):
        return not node.lpar
    if isinstance(node, cst.Call):
        args = _edits.positional_args(node)
        return (
            _edits.is_call_to(node, "len")
            and args is not None
            and len(args) == 1
            and _chain(args[0]) is not None
            and not node.lpar
        )
    return _chain(node) is not None


def _names_in(node: cst.CSTNode) -> set[str]:
    return {n.value for n in _tools.walk(node) if isinstance(n, cst.Name)}


def _characters(
    node: cst.BaseExpression, func: cst.FunctionDef, context: RuleContext
) -> frozenset[str] | None:
    """The one-character strs `node` holds: a literal, or a module constant only tested."""
    if isinstance(node, cst.Name):
        name = node.value
        if name in _tools.bound_names(func) or _declared_global(context.module, name):
            return None
        statements = context.module_bindings.get(name, ())
        if len(statements) != 1 or not isinstance(statements[0], cst.Assign):
            return None
        assign = statements[0]
        if len(assign.targets) != 1 or not _is_name(assign.targets[0].target, name):
            return None
        if not _only_tested(context.module, name, assign):
            return None
        value = assign.value
        if isinstance(value, cst.Call) and _edits.is_call_to(value, "frozenset"):
            if context.rebinds(func, "frozenset"):
                return None
            args = _edits.positional_args(value)
            if args is None or len(args) != 1:
                return None
            value = args[0]
        return _literal_characters(value)
    return _literal_characters(node)


def _literal_characters(node: cst.BaseExpression) -> frozenset[str] | None:
    if not isinstance(
        node, (cst.SimpleString, cst.ConcatenatedString, cst.Set, cst.List, cst.Tuple)
    ):
        return None
    try:
        value = ast.literal_eval(cst.Module(body=[]).code_for_node(node))
    except (ValueError, SyntaxError, TypeError):
        return None
    if isinstance(value, str):
        return frozenset(value) if value else None
    items = list(value)
    if not items or not all(isinstance(item, str) and len(item) == 1 for item in items):
        return None
    return frozenset(items)


def _declared_global(module: cst.Module, name: str) -> bool:
    return any(
        isinstance(node, (cst.Global, cst.Nonlocal))
        and any(item.name.value == name for item in node.names)
        for node in _tools.walk(module)
    )


def _only_tested(module: cst.Module, name: str, binding: cst.Assign) -> bool:
    """Every use of `name` in the module but its binding is the right side of `in`/`not in`."""
    for parent, child in _parents(module):
        if not (isinstance(child, cst.Name) and child.value == name):
            continue
        if isinstance(parent, cst.AssignTarget) and any(parent is t for t in binding.targets):
            continue
        if (
            isinstance(parent, cst.ComparisonTarget)
            and parent.comparator is child
            and isinstance(parent.operator, (cst.In, cst.NotIn))
        ):
            continue
        if isinstance(parent, cst.Attribute) and parent.attr is child:
            continue  # `x.STOP` is another object's attribute
        if isinstance(parent, (cst.Param, cst.Arg)) and getattr(parent, "keyword", None) is child:
            continue
        return False
    return True


def _parents(node: cst.CSTNode) -> list[tuple[cst.CSTNode, cst.CSTNode]]:
    pairs = []
    stack = [node]
    while stack:
        parent = stack.pop()
        for child in parent.children:
            pairs.append((parent, child))
            stack.append(child)
    return pairs


def _pattern(chars: frozenset[str], negated: bool) -> str:
    """A character class matching a run of `chars` (of anything else, when `negated`)."""
    body = "".join(_in_class(c) for c in sorted(chars))
    pattern = f"[{'^' if negated else ''}{body}]*"
    compiled = re.compile(pattern)
    for c in chars:  # the class says exactly what the set says
        assert (compiled.fullmatch(c) is None) == negated, (pattern, c)
    return pattern


_NAMED_ESCAPES = {"\n": "\\n", "\t": "\\t", "\r": "\\r", "\f": "\\f", "\v": "\\v"}


def _in_class(char: str) -> str:
    if char in "\\]^-[":
        return "\\" + char
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    if char == " " or (char.isprintable() and not char.isspace()):
        return char
    code = ord(char)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def _compile(pattern: str) -> cst.Call:
    quote = '"' if '"' not in pattern else "'" if "'" not in pattern else None
    literal = f"r{quote}{pattern}{quote}" if quote else repr(pattern)
    return cst.Call(
        func=cst.Attribute(value=cst.Name("re"), attr=cst.Name("compile")),
        args=[cst.Arg(cst.SimpleString(literal))],
    )


def _guarded(loop: cst.CSTNode, scan: _Scan, name: str) -> cst.CSTNode:
    """The loop's first step as written, then `if <the match cannot differ>: I =
    NAME.match(S, I, END).end()`, else the loop as written.

    The first step stays a plain test because a scanner is called at every position, and
    most runs are empty: markdown-it-py's inline parser tries its text rule first at each
    character where a run ended, and with the guard first the rule timed 0.42x there."""
    assert isinstance(loop, cst.While)
    code = cst.Module(body=[]).code_for_node
    text, end, index = code(scan.text), code(scan.end), scan.index
    checks = [f"type({text}) is str"]
    if not isinstance(scan.end, (cst.Integer, cst.Call)):
        checks.append(f"type({end}) is int")
    checks.append(f"type({index}) is int")
    if isinstance(scan.end, cst.Call) and code(_edits.positional_args(scan.end)[0]) == text:  # type: ignore[index]
        checks.append(f"0 <= {index} < {end}")  # len(S) itself: cannot run past the string
    else:
        checks.append(f"0 <= {index} < {end} <= len({text})")
    condition = " and ".join(checks)
    if len(condition) > 68:  # one check a line, as a formatter would put them
        condition = "(\n        " + "\n        and ".join(checks) + "\n    )"
    statement = cst.parse_statement(
        "if FIRST:\n"
        f"    {index} += 1\n"
        f"    if {condition}:\n"
        f"        {index} = {name}.match({text}, {index}, {end}).end()\n"
        "    else:\n"
        "        pass\n"
    )
    assert isinstance(statement, cst.If) and isinstance(statement.body, cst.IndentedBlock)
    step, inner = statement.body.body
    assert isinstance(inner, cst.If) and isinstance(inner.orelse, cst.Else)
    inner = inner.with_changes(
        orelse=inner.orelse.with_changes(
            body=inner.orelse.body.with_changes(body=[loop.with_changes(leading_lines=())])
        )
    )
    return statement.with_changes(
        test=loop.test,
        leading_lines=loop.leading_lines,
        body=statement.body.with_changes(body=[step, inner]),
    )
