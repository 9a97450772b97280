"""memoize-recursive: a recursive function gets a memo that lives for one outer call."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.memoize_recursive import MemoizeRecursive

RULE = MemoizeRecursive()


def test_fibonacci_with_docstring_and_import() -> None:
    before = '''
        """Numbers."""

        LIMIT = 10


        def fib(n):
            """The n-th Fibonacci number."""

            # the base case
            if n < 2:
                return n
            return fib(n - 1) + fib(n - 2)
        '''
    assert rewrite(RULE, before, "fib") == source(
        '''
        """Numbers."""
        import functools

        LIMIT = 10


        def fib(n):
            """The n-th Fibonacci number."""

            @functools.cache
            def _fib_memo(n):
                # the base case
                if n < 2:
                    return n
                return _fib_memo(n - 1) + _fib_memo(n - 2)
            return _fib_memo(n)
        '''
    )


def test_several_parameters_annotations_stay_outside() -> None:
    before = """
        import functools


        def ways(amount: int, coins: tuple[int, ...], index: int) -> int:
            if amount == 0:
                return 1
            if amount < 0 or index == len(coins):
                return 0
            with_coin = ways(amount - coins[index], coins, index)
            return with_coin + ways(amount, coins, index + 1)
        """
    assert rewrite(RULE, before, "ways") == source(
        """
        import functools


        def ways(amount: int, coins: tuple[int, ...], index: int) -> int:
            @functools.cache
            def _ways_memo(amount, coins, index):
                if amount == 0:
                    return 1
                if amount < 0 or index == len(coins):
                    return 0
                with_coin = _ways_memo(amount - coins[index], coins, index)
                return with_coin + _ways_memo(amount, coins, index + 1)
            return _ways_memo(amount, coins, index)
        """
    )


def test_private_function_gets_a_single_underscore_memo() -> None:
    rewritten = rewrite(
        RULE, "def _fib(n):\n    return n if n < 2 else _fib(n - 1) + _fib(n - 2)\n"
    )
    assert rewritten is not None
    assert "def _fib_memo(n):" in rewritten  # not `__fib_memo`, which reads as name-mangled


def test_call_in_a_loop_counts_as_repeated() -> None:
    before = """
        def paths(node):
            return 1 + sum(paths(child) for child in node.children)
        """
    assert rewrite(RULE, before) is not None


def test_memo_name_does_not_clash() -> None:
    before = """
        _fib_memo = {}


        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """
    rewritten = rewrite(RULE, before, "fib")
    assert rewritten is not None
    assert "def _fib_memo_1(n):" in rewritten
    assert "return _fib_memo_1(n)" in rewritten


UNSAFE = {
    "a method": """
        class C:
            def fib(self, n):
                return n if n < 2 else fib(n - 1) + fib(n - 2)
        """,
    "a default value": """
        def fib(n, memo=None):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """,
    "*args": """
        def fib(*args):
            return args[0] if args[0] < 2 else fib(args[0] - 1)
        """,
    "**kwargs": """
        def fib(n, **options):
            return n if n < 2 else fib(n - 1)
        """,
    "keyword-only": """
        def fib(n, *, step):
            return n if n < 2 else fib(n - step, step=step)
        """,
    "not recursive": """
        def fib(n):
            return n + 1
        """,
    "decorated": """
        @trace
        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """,
    "a generator": """
        def walk(n):
            if n:
                yield n
                yield from walk(n - 1)
        """,
    "global": """
        def fib(n):
            global calls
            calls += 1
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """,
    "called for its effect": """
        def visit(node):
            print(node)
            for child in children(node):
                visit(child)
            return node
        """,
    "returns nothing": """
        def count_down(n):
            if n:
                count_down(n - 1)
        """,
    "a lambda over its parameters": """
        def fib(n):
            later = lambda: n
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """,
    "its own name rebound inside": """
        def fib(n):
            fib = other
            return fib(n)
        """,
    "one call per level: nothing repeats": """
        def factorial(n):
            return 1 if n < 2 else n * factorial(n - 1)
        """,
    "changes an argument": """
        def walk(node, seen):
            seen.add(node)
            return sum(walk(child, seen) for child in node.children if child not in seen) + 1
        """,
    "stores into an argument": """
        def fill(table, n):
            table[n] = n if n < 2 else fill(table, n - 1) + fill(table, n - 2)
            return table[n]
        """,
    "async": """
        async def fib(n):
            return n if n < 2 else await fib(n - 1)
        """,
    "functools means something else here": """
        functools = None

        def fib(n):
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """,
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    qualname = "C.fib" if "class C" in UNSAFE[case] else None
    assert rewrite(RULE, UNSAFE[case], qualname) is None


ORIGINAL = source(
    """
    def ways(amount, coins, index):
        if amount == 0:
            return 1
        if amount < 0 or index == len(coins):
            return 0
        return ways(amount - coins[index], coins, index) + ways(amount, coins, index + 1)
    """
)


@given(st.integers(0, 60), st.lists(st.integers(1, 20), min_size=1, max_size=4).map(tuple))
def test_same_results_for_hashable_arguments(amount: int, coins: tuple[int, ...]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), amount, coins, 0) == outcome(load(rewritten), amount, coins, 0)


def test_same_results_on_example_inputs() -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    for args in [(0, (), 0), (10, (5, 2, 1), 0), (7, (3,), 0), (4, (1, 2), 5), (3, None, 0)]:
        assert outcome(original, *args) == outcome(candidate, *args)


def test_no_cache_survives_between_calls() -> None:
    counted = source(
        """
        CALLS = []


        def fib(n):
            CALLS.append(n)
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """
    )
    rewritten = rewrite(RULE, counted, "fib")
    assert rewritten is not None
    namespace: dict[str, object] = {}
    exec(rewritten, namespace)
    fib, calls = namespace["fib"], namespace["CALLS"]
    assert fib(10) == 55
    assert len(calls) == 11  # each distinct argument once
    assert fib(10) == 55
    assert len(calls) == 22  # a new memo on every outer call: the work is done again


def test_where_it_differs_unhashable_arguments_and_side_effects() -> None:
    """Why verification is needed: the memo hashes arguments and skips repeated bodies."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    original, candidate = load(ORIGINAL), load(rewritten)
    assert outcome(original, 10, [5, 2, 1], 0) == ("return", 10)
    assert outcome(candidate, 10, [5, 2, 1], 0) == ("raise", TypeError)

    noisy = source(
        """
        def fib(n):
            print(n)
            return n if n < 2 else fib(n - 1) + fib(n - 2)
        """
    )
    noisy_rewritten = rewrite(RULE, noisy)
    assert noisy_rewritten is not None
    printed: list[object] = []
    for module_source in (noisy, noisy_rewritten):
        namespace: dict[str, object] = {"print": printed.append}
        exec(module_source, namespace)
        namespace["fib"](5)  # type: ignore[operator]
    assert len(printed) == 15 + 6  # 15 calls in the original, 6 distinct arguments memoized
