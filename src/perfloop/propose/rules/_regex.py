"""Reading calls of the `re` module whose pattern is a literal: which function, the
pattern's value, its flags, and the arguments that remain for the compiled pattern."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass

import libcst as cst

# re.F(pattern, ...): where the flags go if given by position, and the parameter names
# that the compiled pattern's method F takes as well (pattern and flags are dropped)
SIGNATURES: dict[str, tuple[int, tuple[str, ...]]] = {
    "search": (2, ("string",)),
    "match": (2, ("string",)),
    "fullmatch": (2, ("string",)),
    "findall": (2, ("string",)),
    "finditer": (2, ("string",)),
    "split": (3, ("string", "maxsplit")),
    "sub": (4, ("repl", "string", "count")),
    "subn": (4, ("repl", "string", "count")),
    "compile": (1, ()),
}

_FLAG_NAMES = {
    name: int(getattr(re, name))
    for name in ("A", "ASCII", "I", "IGNORECASE", "L", "LOCALE", "M", "MULTILINE", "S",
                 "DOTALL", "X", "VERBOSE", "U", "UNICODE", "NOFLAG")
    if hasattr(re, name)
}  # fmt: skip


@dataclass(frozen=True)
class RegexCall:
    function: str  # "findall", "sub", ...
    pattern: str | bytes
    pattern_node: cst.BaseExpression
    flags: int
    flags_node: cst.BaseExpression | None
    rest: tuple[cst.Arg, ...]
    """The other arguments, in order, as the compiled pattern's method takes them."""


def literal_value(node: cst.BaseExpression) -> str | bytes | None:
    """The value of a plain string or bytes literal (concatenations too, no f-strings)."""
    if isinstance(node, cst.SimpleString):
        try:
            value = ast.literal_eval(node.value)
        except (ValueError, SyntaxError):
            return None
        return value if isinstance(value, (str, bytes)) else None
    if isinstance(node, cst.ConcatenatedString):
        left, right = literal_value(node.left), literal_value(node.right)
        if isinstance(left, str) and isinstance(right, str):
            return left + right
        if isinstance(left, bytes) and isinstance(right, bytes):
            return left + right
    return None


def flags_value(node: cst.BaseExpression, module: str) -> int | None:
    """The int of `re.I | re.M`, `0`, ...; None for anything computed at run time."""
    if isinstance(node, cst.Integer):
        return int(node.evaluated_value)
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == module
        and node.attr.value in _FLAG_NAMES
    ):
        return _FLAG_NAMES[node.attr.value]
    if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.BitOr):
        left, right = flags_value(node.left, module), flags_value(node.right, module)
        return None if left is None or right is None else left | right
    return None


def regex_call(node: cst.CSTNode, module: str) -> RegexCall | None:
    """The parts of `module.F(LITERAL, ...)` if the pattern and flags are known statically."""
    if not (
        isinstance(node, cst.Call)
        and isinstance(node.func, cst.Attribute)
        and isinstance(node.func.value, cst.Name)
        and node.func.value.value == module
        and node.func.attr.value in SIGNATURES
    ):
        return None
    function = node.func.attr.value
    flags_position, method_params = SIGNATURES[function]
    names = ("pattern", *method_params[: flags_position - 1], "flags")
    pattern_node = flags_node = None
    rest: list[cst.Arg] = []
    for position, arg in enumerate(node.args):
        if arg.star:
            return None
        if arg.keyword is not None:
            name = arg.keyword.value
        elif position < len(names):
            name = names[position]
        else:
            return None
        if name == "pattern":
            pattern_node = arg.value
        elif name == "flags":
            flags_node = arg.value
        elif name in method_params:
            rest.append(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))
        else:
            return None
    if pattern_node is None:
        return None
    pattern = literal_value(pattern_node)
    flags = 0 if flags_node is None else flags_value(flags_node, module)
    if pattern is None or flags is None or flags & int(re.DEBUG):
        return None
    try:
        re.compile(pattern, flags)  # a pattern that does not compile keeps failing at call time
    except (re.error, TypeError, ValueError, OverflowError, RecursionError):
        return None
    return RegexCall(function, pattern, pattern_node, flags, flags_node, tuple(rest))
