"""numpy-convolve: a direct convolution loop becomes numpy.convolve when numpy is imported."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.numpy_convolve import NumpyConvolve

np = pytest.importorskip("numpy")

RULE = NumpyConvolve()

MODULE = source(
    """
    import numpy as np


    def multiply(p, q):
        \"\"\"The product of two polynomials given by their coefficients.\"\"\"
        product = [0] * (len(p) + len(q) - 1)
        for i in range(len(p)):
            for j in range(len(q)):
                product[i + j] += p[i] * q[j]
        return product
    """
)


def test_polynomial_product() -> None:
    assert rewrite(RULE, MODULE, "multiply") == source(
        """
        import numpy as np


        def multiply(p, q):
            \"\"\"The product of two polynomials given by their coefficients.\"\"\"
            product = np.convolve(p, q).tolist()
            return product
        """
    )


def test_float_start_and_plain_numpy_import() -> None:
    before = """
        import numpy


        def smooth(signal, kernel):
            out = [0.0] * (len(signal) + len(kernel) - 1)
            for n in range(len(signal)):
                for k in range(len(kernel)):
                    out[n + k] += signal[n] * kernel[k]
            return out
        """
    assert rewrite(RULE, before, "smooth") == source(
        """
        import numpy


        def smooth(signal, kernel):
            out = numpy.convolve(signal, kernel).astype(float).tolist()
            return out
        """
    )


UNSAFE = {
    "numpy not imported": MODULE.replace("import numpy as np\n", ""),
    "numpy imported from elsewhere": MODULE.replace("import numpy as np", "from x import np"),
    "another size": MODULE.replace("len(q) - 1)", "len(q))"),
    "another step": MODULE.replace("+= p[i] * q[j]", "+= p[i] * q[j] * 2"),
    "index difference": MODULE.replace("product[i + j]", "product[i - j]"),
    "loop variable used after": MODULE.replace("    return product", "    return product, i"),
    "swapped sequences": MODULE.replace("range(len(p))", "range(len(x))"),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "multiply") is None


@given(
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=8),
    st.lists(st.integers(-1000, 1000), min_size=1, max_size=8),
)
def test_same_results_on_small_ints(p: list[int], q: list[int]) -> None:
    rewritten = rewrite(RULE, MODULE, "multiply")
    assert rewritten is not None
    before, after = (
        outcome(load(MODULE, "multiply"), p, q),
        outcome(load(rewritten, "multiply"), p, q),
    )
    assert before == after
    assert all(type(v) is int for v in after[1])


def test_where_it_differs_empty_and_huge_ints() -> None:
    """Why verification is needed: numpy refuses empty input and has fixed-size ints."""
    rewritten = rewrite(RULE, MODULE, "multiply")
    assert rewritten is not None
    original, candidate = load(MODULE, "multiply"), load(rewritten, "multiply")
    assert outcome(original, [], [1]) == ("return", [])
    assert outcome(candidate, [], [1]) == ("raise", ValueError)
    huge = [2**62, 2**62]
    assert original(huge, [4]) != outcome(candidate, huge, [4])[1]
