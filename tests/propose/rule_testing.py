"""Helpers for the rule tests: apply one rule to a source, run functions from sources."""

from __future__ import annotations

import ast
import functools
import textwrap
from collections.abc import Callable
from typing import Any

import libcst as cst

from perfloop.propose.apply import apply_rule
from perfloop.propose.rules.base import Rule


def source(text: str) -> str:
    """`text` dedented, without the leading newline of a triple-quoted literal."""
    return textwrap.dedent(text).lstrip("\n")


def first_function(module_source: str) -> str:
    """The name of the first top-level function in `module_source`."""
    for statement in ast.parse(module_source).body:
        if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return statement.name
    raise AssertionError("the example has no top-level function")


@functools.lru_cache(maxsize=256)  # Hypothesis tests rewrite the same source many times
def rewrite(rule: Rule, text: str, qualname: str | None = None) -> str | None:
    """The whole module after `rule` rewrote `qualname` (default: the first function), or None."""
    module_source = source(text)
    result = apply_rule(
        cst.parse_module(module_source), qualname or first_function(module_source), rule
    )
    return None if result is None else result.module_source


def load(module_source: str, name: str | None = None) -> Callable[..., Any]:
    """The function `name` (default: the first) of `module_source`, run in a fresh namespace."""
    namespace: dict[str, Any] = {}
    exec(compile(module_source, "<example>", "exec"), namespace)
    return namespace[name or first_function(module_source)]


def outcome(function: Callable[..., Any], *args: Any) -> tuple[str, Any]:
    """("return", value) or ("raise", exception type): what the equivalence relation compares."""
    try:
        return ("return", function(*args))
    except Exception as error:  # comparing outcomes of arbitrary code
        return ("raise", type(error))
