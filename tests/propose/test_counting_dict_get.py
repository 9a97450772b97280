"""counting-dict-get: the if/else counting step becomes one `d.get(k, 0) + n`."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.counting_dict_get import CountingDictGet

RULE = CountingDictGet()


def test_in_and_not_in_forms() -> None:
    before = """
        def tally(lines, totals, seen):
            for line in lines:
                # units per sku
                if line["sku"] in totals:
                    totals[line["sku"]] += line["qty"]
                else:
                    totals[line["sku"]] = line["qty"]
                if line.id not in seen:
                    seen[line.id] = 1
                else:
                    seen[line.id] += 1
            return totals
        """
    assert rewrite(RULE, before) == source(
        """
        def tally(lines, totals, seen):
            for line in lines:
                # units per sku
                totals[line["sku"]] = totals.get(line["sku"], 0) + line["qty"]
                seen[line.id] = seen.get(line.id, 0) + 1
            return totals
        """
    )


UNSAFE = {
    "different amounts": (
        "def f(d, k):\n    if k in d:\n        d[k] += 1\n    else:\n        d[k] = 2\n"
    ),
    "different keys": (
        "def f(d, k, j):\n    if k in d:\n        d[k] += 1\n    else:\n        d[j] = 1\n"
    ),
    "a call as key": (
        "def f(d, k):\n    if k() in d:\n        d[k()] += 1\n    else:\n        d[k()] = 1\n"
    ),
    "more in a branch": (
        "def f(d, k):\n    if k in d:\n        d[k] += 1\n        print(k)\n    else:\n"
        "        d[k] = 1\n"
    ),
    "no else": "def f(d, k):\n    if k in d:\n        d[k] += 1\n",
    "another dict": (
        "def f(d, e, k):\n    if k in d:\n        e[k] += 1\n    else:\n        e[k] = 1\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def count(words, start, step):
        counts = dict(start)
        for word in words:
            if word in counts:
                counts[word] += step
            else:
                counts[word] = step
        return counts, list(counts)
    """
)


@given(
    st.lists(st.sampled_from(["a", "b", 1, 1.0, True])),
    st.dictionaries(st.sampled_from(["a", "c"]), st.integers()),
    st.integers() | st.floats(allow_nan=False, allow_infinity=False),
)
def test_same_results_for_numbers(words: list[object], start: dict[str, int], step: float) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    before, after = (
        outcome(load(ORIGINAL), words, start, step),
        outcome(load(rewritten), words, start, step),
    )
    assert before == after
    assert [type(v) for v in before[1][0].values()] == [type(v) for v in after[1][0].values()]


def test_where_it_differs_values_that_are_not_numbers() -> None:
    """Why verification is needed: `0 + step` fails where `d[k] = step` stored it."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), ["a"], {}, "x") == ("return", ({"a": "x"}, ["a"]))
    assert outcome(load(rewritten), ["a"], {}, "x") == ("raise", TypeError)
