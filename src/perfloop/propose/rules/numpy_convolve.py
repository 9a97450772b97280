"""numpy-convolve: a direct O(N·K) convolution (polynomial product) loop becomes
`numpy.convolve`, when the module already imports numpy.

    out = [0] * (len(a) + len(b) - 1)         out = np.convolve(a, b).tolist()
    for i in range(len(a)):           →
        for j in range(len(b)):
            out[i + j] += a[i] * b[j]

numpy computes the N·K products and sums in C.
"""

from __future__ import annotations

import itertools

import libcst as cst

from perfloop.propose.rules import _edits, _tools
from perfloop.propose.rules.base import Rule, RuleContext, Safety

EXAMPLE_FIRES = """
import numpy as np


def multiply(p, q):
    product = [0] * (len(p) + len(q) - 1)
    for i in range(len(p)):
        for j in range(len(q)):
            product[i + j] += p[i] * q[j]
    return product
"""

EXAMPLE_SILENT = """
def multiply(p, q):
    product = [0] * (len(p) + len(q) - 1)
    for i in range(len(p)):
        for j in range(len(q)):
            product[i + j] += p[i] * q[j]
    return product
"""


def _code(node: cst.CSTNode) -> str:
    return cst.Module(body=[]).code_for_node(node).replace(" ", "")


def _zeros(statement: cst.CSTNode) -> tuple[str, str, str, bool] | None:
    """(OUT, A, B, floats) if `statement` is `OUT = [0] * (len(A) + len(B) - 1)` (or `[0.0]`)."""
    if not (isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1):
        return None
    assignment = statement.body[0]
    if not (
        isinstance(assignment, cst.Assign)
        and len(assignment.targets) == 1
        and isinstance(assignment.targets[0].target, cst.Name)
        and isinstance(assignment.value, cst.BinaryOperation)
        and isinstance(assignment.value.operator, cst.Multiply)
    ):
        return None
    zeros, size = assignment.value.left, assignment.value.right
    if not (isinstance(zeros, cst.List) and len(zeros.elements) == 1):
        return None
    zero = zeros.elements[0].value
    if isinstance(zero, cst.Integer) and zero.evaluated_value == 0:
        floats = False
    elif isinstance(zero, cst.Float) and zero.evaluated_value == 0.0:
        floats = True
    else:
        return None
    text = _code(size)
    if not (text.startswith("(len(") and text.endswith(")-1)")):
        return None
    parts = text[len("(len(") : -len(")-1)")].split(")+len(")
    if len(parts) != 2 or not all(p.isidentifier() for p in parts):
        return None
    return assignment.targets[0].target.value, parts[0], parts[1], floats


def _matches_loops(loop: cst.CSTNode, out: str, a: str, b: str) -> bool:
    """`for I in range(len(A)): for J in range(len(B)): OUT[I + J] += A[I] * B[J]`."""
    if not isinstance(loop, cst.For) or loop.orelse is not None:
        return False
    outer = _edits.range_len_of(loop)
    inner_loop = _tools.single_statement(loop.body)
    if outer is None or not isinstance(inner_loop, cst.For) or inner_loop.orelse is not None:
        return False
    inner = _edits.range_len_of(inner_loop)
    if inner is None or outer[1] != a or inner[1] != b:
        return False
    i, j = outer[0], inner[0]
    if len({i, j, a, b, out}) != 5:
        return False
    step = _tools.single_small_statement(inner_loop.body)
    expected = {f"{out}[{i}+{j}]+={a}[{i}]*{b}[{j}]", f"{out}[{j}+{i}]+={a}[{i}]*{b}[{j}]"}
    return step is not None and _code(step).rstrip(";") in expected


class NumpyConvolve(Rule):
    id = "numpy-convolve"
    rationale = "numpy.convolve computes the N·K products and sums of a direct convolution in C."
    safety = Safety.NEEDS_VERIFICATION
    description = (
        "`OUT = [0] * (len(A) + len(B) - 1)` (or `[0.0]`) directly followed by "
        "`for I in range(len(A)): for J in range(len(B)): OUT[I + J] += A[I] * B[J]` becomes "
        "`OUT = NP.convolve(A, B).tolist()` (`.astype(float)` first for a 0.0 start), "
        "when the module imports numpy (as NP) and the loop variables are not used after "
        "the loops. Differs for empty inputs (numpy raises ValueError, the loop returns []), "
        "for ints beyond 64 bits (numpy wraps around or uses floats or objects), for float "
        "inputs (numpy sums in another order, so the last bits differ: verification with "
        "exact floats rejects it unless a tolerance is allowed), and for inputs that are "
        "not numbers."
    )

    def rewrite(
        self, func: cst.FunctionDef, context: RuleContext | None = None
    ) -> cst.FunctionDef | None:
        context = context or RuleContext.standalone(func)
        numpy = _edits.module_alias(context.module_bindings, "numpy")
        if numpy is None or numpy in _tools.bound_names(func):
            return None
        analysis = _tools.Analysis.of(func)
        edits = _edits.Edits()
        for node in _tools.walk(func.body):
            if not isinstance(node, cst.IndentedBlock):
                continue
            for first, second in itertools.pairwise(node.body):
                found = _zeros(first)
                if found is None:
                    continue
                out, a, b, floats = found
                if not _matches_loops(second, out, a, b):
                    continue
                assert isinstance(second, cst.For) and isinstance(second.target, cst.Name)
                inner = _tools.single_statement(second.body)
                assert isinstance(inner, cst.For) and isinstance(inner.target, cst.Name)
                if _tools.used_outside(analysis, {second.target.value}, second) or (
                    _tools.used_outside(analysis, {inner.target.value}, inner)
                ):
                    continue
                convolved = _convolved(numpy, a, b, floats)
                edits.replace_with(first, lambda n, c=convolved: _new_value(n, c))
                edits.remove(second)
        return _edits.apply_edits(func, edits) if edits else None


def _convolved(numpy: str, a: str, b: str, floats: bool) -> cst.BaseExpression:
    call: cst.BaseExpression = cst.Call(
        func=cst.Attribute(value=cst.Name(numpy), attr=cst.Name("convolve")),
        args=[cst.Arg(cst.Name(a)), cst.Arg(cst.Name(b))],
    )
    if floats:
        call = cst.Call(
            func=cst.Attribute(value=call, attr=cst.Name("astype")),
            args=[cst.Arg(cst.Name("float"))],
        )
    return cst.Call(func=cst.Attribute(value=call, attr=cst.Name("tolist")))


def _new_value(line: cst.CSTNode, value: cst.BaseExpression) -> cst.CSTNode:
    assert isinstance(line, cst.SimpleStatementLine)
    assignment = line.body[0]
    assert isinstance(assignment, cst.Assign)
    return line.with_changes(body=[assignment.with_changes(value=value)])
