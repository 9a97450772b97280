"""inline-pure-function: calls of one-line module functions become the function's expression."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.inline_pure_function import InlinePureFunction

RULE = InlinePureFunction()

MODULE = source(
    '''
    def eval_a(i, j):
        """Entry (i, j) of the infinite matrix A."""
        return 1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)


    def part_a_times_u(i, u):
        partial_sum = 0
        for j, u_j in enumerate(u):
            partial_sum += eval_a(i, j) * u_j
        return partial_sum
    '''
)


def test_spectral_norm_entry() -> None:
    rewritten = rewrite(RULE, MODULE, "part_a_times_u")
    assert rewritten == MODULE.replace(
        "partial_sum += eval_a(i, j) * u_j",
        "partial_sum += (1.0 / ((i + j) * (i + j + 1) // 2 + i + 1)) * u_j",
    )


def test_arguments_swap_and_attributes_and_keywords_keep_their_names() -> None:
    before = """
        def f(a, b, o):
            return g(b, a), g(o, 2), ident(a)


        def g(a, b):
            return a.b - b + max(a, key=b)


        def ident(x):
            return x
        """
    assert rewrite(RULE, before, "f") == source(
        """
        def f(a, b, o):
            return (b.b - a + max(b, key=a)), (o.b - 2 + max(o, key=2)), a


        def g(a, b):
            return a.b - b + max(a, key=b)


        def ident(x):
            return x
        """
    )


CALLEE = "def g(x, y):\n    return x * y + K\n"
UNSAFE = {
    "an expression as argument": "def f(a):\n    return g(a + 1, a)\n",
    "a keyword argument": "def f(a):\n    return g(a, y=a)\n",
    "too few arguments": "def f(a):\n    return g(a)\n",
    "the caller binds a global the callee reads": "def f(a):\n    K = 2\n    return g(a, a) + K\n",
    "the callee is shadowed": "def f(a, g):\n    return g(a, a)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, f"K = 1\n\n\n{UNSAFE[case]}\n\n{CALLEE}", "f") is None


@pytest.mark.parametrize(
    "callee",
    [
        "def g(x, y):\n    y = x\n    return y\n",
        "def g(x, y=1):\n    return x\n",
        "def g(*xs):\n    return xs\n",
        "def g(x, y):\n    return [x for _ in y]\n",
        "def g(x, y):\n    return lambda: x\n",
        "import functools\n\n@functools.cache\ndef g(x, y):\n    return x\n",
        "def g(x, y):\n    return x\n\ng = max\n",
    ],
)
def test_silent_for_other_functions(callee: str) -> None:
    assert rewrite(RULE, f"def f(a, b):\n    return g(a, b)\n\n\n{callee}", "f") is None


@given(
    st.integers(0, 50),
    st.lists(st.floats(-1e6, 1e6) | st.integers(-9, 9), max_size=12),
)
def test_same_results_floats_included(i: int, u: list[float]) -> None:
    rewritten = rewrite(RULE, MODULE, "part_a_times_u")
    assert rewritten is not None
    name = "part_a_times_u"
    before, after = outcome(load(MODULE, name), i, u), outcome(load(rewritten, name), i, u)
    assert before == after
    if before[0] == "return" and isinstance(before[1], float):
        assert math.copysign(1.0, before[1]) == math.copysign(1.0, after[1])  # same bits


def test_where_it_differs_a_replaced_function() -> None:
    """Why verification is needed: replacing the callee at run time no longer has an effect."""
    rewritten = rewrite(RULE, MODULE, "part_a_times_u")
    assert rewritten is not None
    results = []
    for module_source in (MODULE, rewritten):
        namespace: dict[str, object] = {}
        exec(compile(module_source, "<m>", "exec"), namespace)
        namespace["eval_a"] = lambda i, j: 0.0
        results.append(namespace["part_a_times_u"](1, [1.0, 2.0]))  # type: ignore[operator]
    assert results[0] == 0.0 and results[1] != 0.0
