"""Recognising a counting step: `if K in D: D[K] += V` / `else: D[K] = V`, and its
`D[K] = D.get(K, 0) + V` form. Shared by counting-dict-get and counter-loop."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from perfloop.propose.rules import _tools


@dataclass(frozen=True)
class CountingStep:
    dictionary: str
    key: cst.BaseExpression
    increment: cst.BaseExpression


def _subscript_of(target: cst.BaseExpression, dictionary: str | None) -> cst.BaseExpression | None:
    """K if `target` is `D[K]` (D a plain name, `dictionary` if given)."""
    if not (
        isinstance(target, cst.Subscript)
        and isinstance(target.value, cst.Name)
        and (dictionary is None or target.value.value == dictionary)
        and len(target.slice) == 1
        and isinstance(target.slice[0].slice, cst.Index)
        and not getattr(target.slice[0].slice, "star", None)
    ):
        return None
    return target.slice[0].slice.value


def _same(a: cst.CSTNode, b: cst.CSTNode) -> bool:
    return cst.Module(body=[]).code_for_node(a) == cst.Module(body=[]).code_for_node(b)


def simple(expression: cst.BaseExpression) -> bool:
    """A name, a literal, or attributes and items of those (`line.sku`, `line["sku"]`):
    evaluating it again gives the same value and does nothing (barring properties)."""
    if isinstance(expression, (cst.Name, cst.Integer, cst.Float, cst.SimpleString)):
        return True
    if isinstance(expression, cst.Attribute):
        return simple(expression.value)
    if isinstance(expression, cst.Subscript):
        return (
            simple(expression.value)
            and len(expression.slice) == 1
            and isinstance(expression.slice[0].slice, cst.Index)
            and simple(expression.slice[0].slice.value)
        )
    return False


def _one_small(body: cst.BaseSuite) -> cst.BaseSmallStatement | None:
    return _tools.single_small_statement(body)


def if_else_step(statement: cst.CSTNode) -> CountingStep | None:
    """`if K in D: D[K] += V else: D[K] = V` (or `not in` with the branches swapped),
    K and V names or literals, D a plain name."""
    if not isinstance(statement, cst.If) or not isinstance(statement.orelse, cst.Else):
        return None
    test = statement.test
    if not (
        isinstance(test, cst.Comparison)
        and len(test.comparisons) == 1
        and isinstance(test.comparisons[0].comparator, cst.Name)
        and isinstance(test.comparisons[0].operator, (cst.In, cst.NotIn))
    ):
        return None
    dictionary = test.comparisons[0].comparator.value
    key = test.left
    present, absent = statement.body, statement.orelse.body
    if isinstance(test.comparisons[0].operator, cst.NotIn):
        present, absent = absent, present
    add, put = _one_small(present), _one_small(absent)
    if not (
        isinstance(add, cst.AugAssign)
        and isinstance(add.operator, cst.AddAssign)
        and isinstance(put, cst.Assign)
        and len(put.targets) == 1
    ):
        return None
    add_key = _subscript_of(add.target, dictionary)
    put_key = _subscript_of(put.targets[0].target, dictionary)
    if add_key is None or put_key is None or not (_same(key, add_key) and _same(key, put_key)):
        return None
    if not (_same(add.value, put.value) and simple(add.value) and simple(key)):
        return None
    if isinstance(key, cst.Name) and key.value == dictionary:
        return None
    return CountingStep(dictionary, key, add.value)


def get_step(statement: cst.CSTNode) -> CountingStep | None:
    """`D[K] = D.get(K, 0) + V`, K and V names or literals."""
    if not (isinstance(statement, cst.Assign) and len(statement.targets) == 1):
        return None
    target = statement.targets[0].target
    key = _subscript_of(target, None)
    value = statement.value
    if key is None or not isinstance(value, cst.BinaryOperation):
        return None
    assert isinstance(target, cst.Subscript) and isinstance(target.value, cst.Name)
    dictionary = target.value.value
    call = value.left
    if not (
        isinstance(value.operator, cst.Add)
        and isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and isinstance(call.func.value, cst.Name)
        and call.func.value.value == dictionary
        and call.func.attr.value == "get"
        and len(call.args) == 2
        and all(a.keyword is None and not a.star for a in call.args)
        and _same(call.args[0].value, key)
        and isinstance(call.args[1].value, cst.Integer)
        and call.args[1].value.evaluated_value == 0
        and simple(key)
        and simple(value.right)
    ):
        return None
    return CountingStep(dictionary, key, value.right)


def adds_one(step: CountingStep) -> bool:
    return isinstance(step.increment, cst.Integer) and step.increment.evaluated_value == 1
