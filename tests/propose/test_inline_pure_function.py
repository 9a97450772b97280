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
    "an expression as argument inside a larger expression": (
        "def f(a):\n    return g(a + 1, a) - 1\n"
    ),
    "an expression as argument of an augmented assignment": (
        "def f(a):\n    a += g(a + 1, a)\n    return a\n"
    ),
    "an expression as argument on a one-line suite": "def f(a):\n    if a: return g(a + 1, a)\n",
    "a global read before an expression argument": "def f(a):\n    return g(K, a + 1)\n",
    "a local that a nested function rebinds, read before an expression argument": (
        "def f(a):\n    def h():\n        nonlocal a\n        a = 0\n        return 1\n"
        "    return g(a, h())\n"
    ),
    "an expression argument where the caller shows its locals": (
        "def f(a):\n    b = g(a + 1, a)\n    return b, sorted(locals())\n"
    ),
    "an expression argument in a nested function": (
        "def f(a):\n    def h():\n        return g(a + 1, a)\n    return h\n"
    ),
    "a keyword argument": "def f(a):\n    return g(a, y=a)\n",
    "too few arguments": "def f(a):\n    return g(a)\n",
    "the caller binds a global the callee reads": "def f(a):\n    K = 2\n    return g(a, a) + K\n",
    "the callee is shadowed": "def f(a, g):\n    return g(a, a)\n",
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, f"K = 1\n\n\n{UNSAFE[case]}\n\n{CALLEE}", "f") is None


INTRANGES = source(
    '''
    import bisect


    def _encode_range(start, end):
        return (start << 32) | end


    def _decode_range(r):
        return (r >> 32), (r & ((1 << 32) - 1))


    def intranges_contain(int_, ranges):
        """Determine if `int_` falls into one of the ranges in `ranges`."""
        tuple_ = _encode_range(int_, 0)
        pos = bisect.bisect_left(ranges, tuple_)
        if pos > 0:
            left, right = _decode_range(ranges[pos - 1])
            if left <= int_ < right:
                return True
        if pos < len(ranges):
            left, _ = _decode_range(ranges[pos])
            if left == int_:
                return True
        return False
    '''
)


def test_an_expression_argument_is_named_first_where_the_call_is_a_whole_value() -> None:
    """idna 3.10's intranges_contain: its two calls of `_decode_range(ranges[...])` were left
    alone, so the rule found 1.08x where inlining them all gives 1.78x."""
    rewritten = rewrite(RULE, INTRANGES, "intranges_contain")
    assert rewritten == INTRANGES.replace(
        "tuple_ = _encode_range(int_, 0)", "tuple_ = (int_ << 32) | 0"
    ).replace(
        "    left, right = _decode_range(ranges[pos - 1])",
        "    r = ranges[pos - 1]\n        left, right = (r >> 32), (r & ((1 << 32) - 1))",
    ).replace(
        "    left, _ = _decode_range(ranges[pos])",
        "    r = ranges[pos]\n        left, _ = (r >> 32), (r & ((1 << 32) - 1))",
    )


@given(st.integers(-5, 2**33), st.lists(st.integers(0, 2**40), max_size=8))
def test_named_arguments_give_the_same_results_and_errors(int_: int, ranges: list[int]) -> None:
    rewritten = rewrite(RULE, INTRANGES, "intranges_contain")
    assert rewritten is not None
    name = "intranges_contain"
    ranges_ = tuple(sorted(ranges))
    before = outcome(load(INTRANGES, name), int_, ranges_)
    assert before == outcome(load(rewritten, name), int_, ranges_)


def test_a_named_argument_is_evaluated_once_and_in_its_place() -> None:
    before = """
        def f(items):
            first = g(items.pop(), len(items))
            second = g(items.pop(), items.pop())
            return first, second


        def g(x, y):
            return y * 10 + y
        """
    rewritten = rewrite(RULE, before, "f")
    assert rewritten == source(
        """
        def f(items):
            x = items.pop()
            y = len(items)
            first = y * 10 + y
            x = items.pop()
            y = items.pop()
            second = y * 10 + y
            return first, second


        def g(x, y):
            return y * 10 + y
        """
    )
    for module_source in (source(before), rewritten):
        assert outcome(load(module_source, "f"), [1, 2, 3, 4, 5]) == ("return", (44, 33))


def test_silent_where_a_string_would_go_inside_an_fstring() -> None:
    """hypothesis 6.x's stateful.py: inlining `get_pretty_function_description(f)` into
    `f"{...} is used ..."` put `"<locals>."` inside the f-string: a syntax error before 3.12."""
    module = """
        def name_of(f):
            return f.__qualname__.rsplit("<locals>.")[-1]


        def complain(f):
            return f"{name_of(f)} is used twice", name_of(f)
        """
    rewritten = rewrite(RULE, module, "complain")
    assert rewritten is not None
    assert 'return f"{name_of(f)} is used twice", (f.__qualname__.rsplit(' in rewritten
    compile(rewritten, "<m>", "exec")


def test_a_whole_value_keeps_the_callees_parentheses_around_lines() -> None:
    """attrs' _make_cached_property_getattr: the callee returns two f-strings on two lines
    inside parentheses; without them the assignment is a syntax error."""
    module = """
        def _generate_unique_filename(cls, func_name):
            return (
                f"<attrs generated {func_name} {cls.__module__}."
                f"{getattr(cls, '__qualname__', cls.__name__)}>"
            )


        def make(cls):
            unique_filename = _generate_unique_filename(cls, "getattr")
            return unique_filename
        """
    rewritten = rewrite(RULE, module, "make")
    assert rewritten is not None and "unique_filename = (\n" in rewritten
    compile(rewritten, "<m>", "exec")
    assert outcome(load(rewritten, "make"), int) == outcome(load(source(module), "make"), int)


def test_a_generator_or_walrus_argument_gets_its_own_parentheses() -> None:
    """pytest 8's `Source.__init__`: `deindent(x.rstrip("\\n") for x in obj)` named as
    `lines = x.rstrip("\\n") for x in obj` did not compile; the call's parentheses were its."""
    module = """
        def deindent(lines):
            return "|".join(lines)


        def f(obj):
            joined = deindent(x.strip() for x in obj)
            again = deindent(n := list(obj))
            return joined, again, n
        """
    rewritten = rewrite(RULE, module, "f")
    assert rewritten is not None
    assert "lines = (x.strip() for x in obj)\n" in rewritten
    assert "lines = (n := list(obj))\n" in rewritten
    compile(rewritten, "<m>", "exec")
    assert outcome(load(rewritten, "f"), [" a", "b "]) == outcome(
        load(source(module), "f"), [" a", "b "]
    )


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
