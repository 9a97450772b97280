"""memoize-repeated-calls: a pure function called in a loop gets a cache for one call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.memoize_repeated_calls import MemoizeRepeatedCalls

RULE = MemoizeRepeatedCalls()

MODULE = source(
    """
    import functools


    def shipping_cost(zone, weight):
        base = {"eu": 5, "us": 9}.get(zone, 15)
        for limit, price in ((1, 0), (3, 4), (10, 9)):
            if weight <= limit:
                return base + price
        return base + 2 * weight


    def total_shipping(orders):
        total = 0
        for zone, weight in orders:
            total += shipping_cost(zone, weight=weight)
        return total, shipping_cost("eu", 1)
    """
)


def test_calls_in_the_loop_use_a_cache_made_in_the_call() -> None:
    rewritten = rewrite(RULE, MODULE, "total_shipping")
    assert rewritten is not None
    assert rewritten.endswith(
        source(
            """
            def total_shipping(orders):
                shipping_cost_cached = functools.cache(shipping_cost)
                total = 0
                for zone, weight in orders:
                    total += shipping_cost_cached(zone, weight=weight)
                return total, shipping_cost("eu", 1)
            """
        )
    )


CALLER = "def f(xs):\n    out = []\n    for x in xs:\n        out.append(g(x))\n    return out\n"
LOOP = "    for _ in range(3):\n        pass\n"
UNSAFE = {
    "prints": f"def g(x):\n{LOOP}    print(x)\n    return x\n",
    "appends to a global": f"SEEN = []\n\ndef g(x):\n{LOOP}    SEEN.append(x)\n    return x\n",
    "changes its argument": f"def g(x):\n{LOOP}    x[0] = 1\n    return x\n",
    "random": f"import random\n\ndef g(x):\n{LOOP}    return random.random() + x\n",
    "global statement": f"N = 0\n\ndef g(x):\n{LOOP}    global N\n    N += 1\n    return x\n",
    "decorated": f"import functools\n\n@functools.wraps(len)\ndef g(x):\n{LOOP}    return x\n",
    "no return value": f"def g(x):\n{LOOP}    x.strip()\n",
    "a generator": f"def g(x):\n{LOOP}    yield x\n",
    "defined twice": f"def g(x):\n{LOOP}    return x\n\ndef g(x):\n{LOOP}    return -x\n",
    "no loop: as cheap as a cache lookup": "def g(x):\n    return x + 1\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, CALLER + "\n\n" + UNSAFE[case], "f") is None


def test_silent_on_recursion_and_calls_outside_loops() -> None:
    recursive = "def f(n):\n    for k in range(n):\n        f(k)\n    return n\n"
    assert rewrite(RULE, recursive, "f") is None
    once = "def f(x):\n    return g(x)\n\n\ndef g(x):\n    return sum(range(x))\n"
    assert rewrite(RULE, once, "f") is None


@given(st.lists(st.tuples(st.sampled_from(["eu", "us", "jp"]), st.integers(0, 4))))
def test_same_results(orders: list[tuple[str, int]]) -> None:
    rewritten = rewrite(RULE, MODULE, "total_shipping")
    assert rewritten is not None
    name = "total_shipping"
    assert outcome(load(MODULE, name), orders) == outcome(load(rewritten, name), orders)


def test_no_cache_survives_between_calls() -> None:
    """The cache is made on every call: a repeated call does all the work again."""
    module = source(
        """
        CALLS = []


        def slow_square(x):
            return sum(x for _ in range(x))


        def squares(xs):
            return [slow_square(x) for x in xs]


        def sum_squares(xs):
            total = 0
            for x in xs:
                total += slow_square(x)
            return total
        """
    )
    rewritten = rewrite(RULE, module, "sum_squares")
    assert rewritten is not None
    namespace: dict[str, object] = {}
    exec(compile(rewritten, "<m>", "exec"), namespace)
    counted: list[int] = []

    def counting(x: int) -> int:
        counted.append(x)
        return x * x

    namespace["slow_square"] = counting
    function = namespace["sum_squares"]
    assert function([3, 3, 4]) == 34  # type: ignore[operator]
    assert function([3, 3, 4]) == 34  # type: ignore[operator]
    assert counted == [3, 4, 3, 4]


def test_where_it_differs_unhashable_arguments_and_shared_results() -> None:
    """Why verification is needed: arguments must hash; cached results are shared."""
    module = source(
        """
        def pair(x):
            return [x for _ in range(2)]


        def pairs(xs):
            out = []
            for x in xs:
                p = pair(x)
                p.append(0)
                out.append(p)
            return out
        """
    )
    rewritten = rewrite(RULE, module, "pairs")
    assert rewritten is not None
    original, candidate = load(module, "pairs"), load(rewritten, "pairs")
    assert outcome(original, [[1]])[0] == "return"
    assert outcome(candidate, [[1]]) == ("raise", TypeError)
    assert original([1, 1]) == [[1, 1, 0], [1, 1, 0]]
    assert candidate([1, 1]) == [[1, 1, 0, 0], [1, 1, 0, 0]]
