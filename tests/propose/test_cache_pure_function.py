"""cache-pure-function: a pure module function keeps its answers between calls."""

from __future__ import annotations

import libcst as cst
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pypi_sdists import cached_sdist, unpacked
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.apply import apply_rule
from perfloop.propose.rules.cache_pure_function import MAX_RESULTS, CachePureFunction

RULE = CachePureFunction()

SERIES = '''
    CUTOFF = 600


    def series(x, prec):
        """exp(x) as a fixed-point number."""
        s = a = 1 << prec
        k = 1
        while a and k < CUTOFF:
            a = (a * x >> prec) // k
            s += a
            k += 1
        return s
    '''


def test_the_body_moves_to_a_helper_and_the_function_answers_from_a_dict() -> None:
    assert rewrite(RULE, SERIES) == source(
        f'''
        CUTOFF = 600


        _SERIES_RESULTS = {{}}
        _SERIES_KEY_TYPES = frozenset({{int, str, bytes, type(None)}})
        _SERIES_ANSWER_TYPES = frozenset({{int, str, bytes, type(None), float, bool, complex}})


        def _series_computed(x, prec):
            s = a = 1 << prec
            k = 1
            while a and k < CUTOFF:
                a = (a * x >> prec) // k
                s += a
                k += 1
            return s


        def series(x, prec):
            """exp(x) as a fixed-point number."""
            if type(x) in _SERIES_KEY_TYPES and type(prec) in _SERIES_KEY_TYPES:
                key = (x, prec)
                try:
                    return _SERIES_RESULTS[key]
                except KeyError:
                    pass
                result = _series_computed(x, prec)
                if type(result) in _SERIES_ANSWER_TYPES or (
                    type(result) is tuple
                    and all(type(item) in _SERIES_ANSWER_TYPES for item in result)
                ):
                    if len(_SERIES_RESULTS) >= {MAX_RESULTS}:
                        _SERIES_RESULTS.clear()
                    _SERIES_RESULTS[key] = result
                return result
            return _series_computed(x, prec)
        '''
    )


@given(st.lists(st.tuples(st.integers(-(2**70), 2**70), st.integers(0, 80)), max_size=30))
def test_same_answers_as_the_original_asked_again_and_again(
    calls: list[tuple[int, int]],
) -> None:
    original = load(source(SERIES), "series")
    cached = load(rewrite(RULE, SERIES) or "", "series")
    for x, prec in calls + calls:  # every call twice: the second answer is the kept one
        assert outcome(cached, x, prec) == outcome(original, x, prec)


def test_bools_floats_and_int_subclasses_go_past_the_cache() -> None:
    """`True == 1` and `0.0 == -0.0`: a key of such values would give one argument the
    answer computed for another."""
    text = """
        def describe(value):
            parts = [repr(value) for _ in range(2)]
            return " ".join(parts)
        """
    cached = load(rewrite(RULE, text) or "", "describe")
    assert cached(1) == "1 1"
    assert cached(True) == "True True"
    assert cached(0.0) == "0.0 0.0"
    assert cached(-0.0) == "-0.0 -0.0"


def test_a_mutable_answer_is_not_kept() -> None:
    text = """
        def letters(word):
            return tuple(sorted(set(word))) if word else [c for c in "ab"]
        """
    module = rewrite(RULE, text)
    assert module is not None
    namespace: dict[str, object] = {}
    exec(compile(module, "<example>", "exec"), namespace)
    letters = namespace["letters"]
    first = letters("")  # type: ignore[operator]
    first.append("changed")
    assert letters("") == ["a", "b"]  # type: ignore[operator]
    assert letters("banana") == ("a", "b", "n")  # type: ignore[operator]
    assert namespace["_LETTERS_RESULTS"] == {("banana",): ("a", "b", "n")}


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            """
            SEEN = []


            def total(n):
                SEEN.append(n)
                return sum(range(n))
            """,
            id="changes module state",
        ),
        pytest.param(
            """
            WEIGHTS = [1, 2, 3]


            def total(n):
                return sum(w * n for w in WEIGHTS)
            """,
            id="reads a module-level list that anything may change",
        ),
        pytest.param(
            """
            LIMIT = 10


            def set_limit(value):
                global LIMIT
                LIMIT = value


            def total(n):
                return sum(range(min(n, LIMIT)))
            """,
            id="reads a constant some function rebinds",
        ),
        pytest.param(
            """
            import time


            def total(n):
                return sum(range(n)) + int(time.time())
            """,
            id="reads the clock",
        ),
        pytest.param(
            """
            def total(n):
                print(n)
                return sum(range(n))
            """,
            id="prints",
        ),
        pytest.param(
            """
            def total(tlist):
                return sum(len(t) for t in tlist.tokens)
            """,
            id="a parameter that is an object, never an int or a string",
        ),
        pytest.param(
            """
            def total(customers, customer_id):
                for customer in customers:
                    if customer.customer_id == customer_id:
                        return customer
                return None
            """,
            id="a parameter whose items are objects (the bundled example's find_customer)",
        ),
        pytest.param(
            """
            def total(n, key):
                return sum(key(i) for i in range(n))
            """,
            id="calls what it is given",
        ),
        pytest.param(
            """
            def total(n):
                return [i * i for i in range(n)]
            """,
            id="returns a new list every call",
        ),
        pytest.param(
            """
            def total(n):
                return n * 2 + 1
            """,
            id="no loop: cheaper than the lookup",
        ),
        pytest.param(
            """
            def total(*ns):
                return sum(sum(range(n)) for n in ns)
            """,
            id="star arguments",
        ),
        pytest.param(
            """
            class Series:
                def total(self, n):
                    return sum(range(n))
            """,
            id="a method",
        ),
    ],
)
def test_silent(text: str) -> None:
    module = source(text)
    qualname = "Series.total" if "class Series" in module else "total"
    assert apply_rule(cst.parse_module(module), qualname, RULE) is None


def test_fires_on_mpmaths_fixed_point_exp(tmp_path) -> None:
    """mpmath 1.3.0's `exp_basecase(x, prec)`: a Taylor series on big ints that its
    quadrature calls with the same nodes for every integrand (22,819 calls, 4,271
    distinct, in the real-library bed's workload). The rewritten module imports, and
    answers as the original does, asked twice."""
    root = unpacked(cached_sdist("mpmath==1.3.0", "mpmath-1.3.0.tar.gz"), tmp_path)
    path = root / "mpmath" / "libmp" / "libelefun.py"
    rewritten = apply_rule(cst.parse_module(path.read_text()), "exp_basecase", RULE)
    assert rewritten is not None
    assert "def _exp_basecase_computed(x, prec):" in rewritten.module_source
    import importlib
    import sys

    sys.path.insert(0, str(root))
    try:
        for name in [m for m in sys.modules if m == "mpmath" or m.startswith("mpmath.")]:
            del sys.modules[name]
        libelefun = importlib.import_module("mpmath.libmp.libelefun")
        original = libelefun.exp_basecase
        namespace = dict(vars(libelefun))
        exec(compile(rewritten.module_source, str(path), "exec"), namespace)
        cached = namespace["exp_basecase"]
        for x, prec in [(1 << 60, 64), (-(3 << 70), 80), (0, 53), (12345, 200), (1 << 60, 64)]:
            assert cached(x, prec) == original(x, prec) == cached(x, prec)
        assert len(namespace["_EXP_BASECASE_RESULTS"]) == 4
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == "mpmath" or m.startswith("mpmath.")]:
            del sys.modules[name]
