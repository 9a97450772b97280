"""Hints for the model from what perfloop already knows about a target.

From the line profile: what kind of code each hot line is ("line 12 is a
membership test in a loop; 61% of the time"). From the rule catalogue: the
rules that fire on the function, with their rationale. Hints are suggestions
the model may ignore; verification decides.
"""

from __future__ import annotations

import ast

from perfloop.model import LineProfile, TargetContext
from perfloop.propose import propose_rule_candidates


def describe_line(function: ast.AST, lineno: int) -> str | None:
    """What kind of hot code is on `lineno` of `function`, in words, or None."""
    in_loop = _lines_in_loops(function)
    nodes = [n for n in ast.walk(function) if getattr(n, "lineno", None) == lineno]
    looped = lineno in in_loop
    for node in nodes:
        if isinstance(node, ast.For) and _is_range_len(node.iter):
            return (
                "an index loop over range(len(...)); iterating over the items (or a builtin) "
                "avoids the indexing"
            )
        if isinstance(node, (ast.For, ast.While)):
            return (
                "a loop header; the loop body runs in the interpreter, a builtin or "
                "comprehension runs it in C"
            )
    for node in nodes:
        if isinstance(node, ast.Compare) and any(
            isinstance(op, (ast.In, ast.NotIn)) for op in node.ops
        ):
            where = " in a loop" if looped else ""
            return (
                f"a membership test{where}; on a list or tuple it scans every element, "
                "a set or dict lookup does not"
            )
        if isinstance(node, ast.AugAssign) and looped:
            return "an accumulation in a loop; sum(), str.join() or a comprehension does it in C"
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "append"
            and looped
        ):
            return "a list built by append in a loop; a comprehension is faster"
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Call)
            and isinstance(node.value.func, ast.Name)
            and node.value.func.id == "sorted"
        ):
            return "sorts a whole sequence to pick from it; min(), max() or heapq avoid the sort"
    if looped:
        return "inside a loop"
    return None


def _is_range_len(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == "range"
        and len(node.args) == 1
        and isinstance(node.args[0], ast.Call)
        and isinstance(node.args[0].func, ast.Name)
        and node.args[0].func.id == "len"
    )


def _lines_in_loops(function: ast.AST) -> set[int]:
    lines: set[int] = set()
    for node in ast.walk(function):
        if isinstance(node, (ast.For, ast.While, ast.comprehension)):
            body = node.body if isinstance(node, (ast.For, ast.While)) else [node]
            for statement in body:
                start = statement.lineno if hasattr(statement, "lineno") else node.lineno  # type: ignore[attr-defined]
                end = getattr(statement, "end_lineno", None) or start
                lines.update(range(start, end + 1))
    return lines


def about(share: float) -> str:
    """A share in steps of 10%, so that the same code gives the same prompt from run to run
    (and a re-run is answered from the cache) despite timing noise."""
    if share < 0.05:
        return "under 5%"
    return f"about {round(share * 10) * 10}%"


def hot_line_hints(
    function: ast.AST | None, profile: LineProfile | None, min_share: float = 0.1
) -> list[str]:
    """One sentence per hot line: where it is, its share of the time, what kind of code."""
    if profile is None:
        return []
    hints = []
    for line in profile.hottest(count=4, min_share=min_share):
        kind = describe_line(function, line.lineno) if function is not None else None
        text = f"line {line.lineno} `{line.text}`: {about(line.share)} of the function's time"
        text += f", run {line.hits:,} times"
        hints.append(f"{text}; {kind}" if kind else text)
    return hints


def rule_hints(context: TargetContext) -> list[str]:
    """The rationale of every rewrite rule that fires on the function (no code is run)."""
    candidates = propose_rule_candidates(context.function, context.path, context.module_source)
    return [f"{c.origin.removeprefix('rule:')}: {c.rationale}" for c in candidates]
