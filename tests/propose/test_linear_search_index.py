"""linear-search-index: a linear search called in a loop becomes a dict built before it."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.linear_search_index import LinearSearchIndex

RULE = LinearSearchIndex()

MODULE = source(
    '''
    def find_customer(customers, customer_id):
        """The customer with the given id, or None."""
        for customer in customers:
            if customer.customer_id == customer_id:
                return customer
        return None


    def find_line(lines, sku):
        for line in lines:
            if line["sku"] == sku:
                return line


    def attach_customers(orders, customers):
        """Pair each order with its customer."""
        pairs = []
        for order in orders:
            pairs.append((order, find_customer(customers, order["customer_id"])))
        return pairs


    def restock(wanted, lines):
        missing = 0
        for sku in wanted:
            if find_line(lines, sku) is None:
                missing += 1
            elif find_line(lines, sku)["qty"] == 0:
                missing += 1
        return missing
    '''
)


def _function(module_source: str, name: str) -> str:
    start = module_source.index(f"def {name}")
    end = module_source.find("\n\n\ndef ", start)
    return module_source[start : end if end > 0 else None]


def test_attribute_key_index_above_the_accumulator() -> None:
    rewritten = rewrite(RULE, MODULE, "attach_customers")
    assert rewritten is not None
    assert _function(rewritten, "attach_customers") == source(
        '''
        def attach_customers(orders, customers):
            """Pair each order with its customer."""
            customers_by_customer_id = {customer.customer_id: customer for customer in reversed(customers)}
            pairs = []
            for order in orders:
                pairs.append((order, customers_by_customer_id.get(order["customer_id"])))
            return pairs'''  # noqa: E501
    )


def test_item_key_and_one_index_for_several_calls() -> None:
    rewritten = rewrite(RULE, MODULE, "restock")
    assert rewritten is not None
    assert _function(rewritten, "restock") == source(
        """
        def restock(wanted, lines):
            lines_by_sku = {line["sku"]: line for line in reversed(lines)}
            missing = 0
            for sku in wanted:
                if lines_by_sku.get(sku) is None:
                    missing += 1
                elif lines_by_sku.get(sku)["qty"] == 0:
                    missing += 1
            return missing
        """
    )


SEARCH = MODULE.split("\n\n\ndef attach_customers")[0]
UNSAFE = {
    "sequence changed in the loop": (
        "def f(orders, customers):\n    for o in orders:\n        find_customer(customers, o)\n"
        "        customers.append(o)\n"
    ),
    "sequence rebound in the loop": (
        "def f(orders, customers):\n    for o in orders:\n        find_customer(customers, o)\n"
        "        customers = o\n"
    ),
    "not in a loop": "def f(customers, i):\n    return find_customer(customers, i)\n",
    "an expression as sequence": (
        "def f(orders, c):\n    for o in orders:\n        find_customer(c[0], o)\n"
    ),
    "search shadowed locally": (
        "def f(orders, c, find_customer):\n    for o in orders:\n        find_customer(c, o)\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, SEARCH + "\n\n\n" + UNSAFE[case], "f") is None


@pytest.mark.parametrize(
    "search",
    [
        "def find(xs, k):\n    for x in xs:\n        if x.k == k:\n            return x\n "
        "   return 0\n",
        "def find(xs, k):\n    for x in xs:\n        if k == x.k:\n            return x\n",
        "def find(xs, k):\n    for x in xs:\n        if x.k == k:\n            return x.k\n",
        "def find(xs, k):\n    for x in xs:\n        if x.k == k:\n            return x\n"
        "    raise KeyError(k)\n",
        "def find(xs, k):\n    for x in xs:\n        print(x)\n        if x.k == k:\n"
        "            return x\n",
        "def find(xs, k, j=0):\n    for x in xs:\n        if x.k == k:\n            return x\n",
    ],
)
def test_silent_for_other_searches(search: str) -> None:
    caller = "def f(items, keys):\n    for key in keys:\n        print(find(items, key))\n"
    assert rewrite(RULE, caller + "\n\n" + search, "f") is None


@given(st.lists(st.integers(0, 5), max_size=8), st.lists(st.integers(0, 7), max_size=8))
def test_same_pairs_first_match_wins(ids: list[int], wanted: list[int]) -> None:
    rewritten = rewrite(RULE, MODULE, "attach_customers")
    assert rewritten is not None
    customers = [SimpleNamespace(customer_id=i, n=n) for n, i in enumerate(ids)]
    orders = [{"customer_id": w} for w in wanted]
    before = outcome(load(MODULE, "attach_customers"), orders, customers)
    after = outcome(load(rewritten, "attach_customers"), orders, customers)
    assert before == after
    for (_, a), (_, b) in zip(before[1], after[1]):
        assert a is b  # the very same customer object


def test_where_it_differs_unhashable_keys_and_iterators() -> None:
    """Why verification is needed: dict keys must be hashable, and the list reversible."""
    rewritten = rewrite(RULE, MODULE, "attach_customers")
    assert rewritten is not None
    original, candidate = load(MODULE, "attach_customers"), load(rewritten, "attach_customers")
    customers = [SimpleNamespace(customer_id=[1])]
    orders = [{"customer_id": [1]}]
    assert outcome(original, orders, customers)[0] == "return"
    assert outcome(candidate, orders, customers) == ("raise", TypeError)
    assert outcome(candidate, orders, iter([])) == ("raise", TypeError)
