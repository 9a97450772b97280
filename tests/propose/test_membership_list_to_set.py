"""membership-list-to-set: a local list used only for `in` tests and appends becomes a set."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.membership_list_to_set import MembershipListToSet

RULE = MembershipListToSet()

BFS = source(
    """
    def shortest_route(adjacency, start, goal):
        queue = [start]
        visited = [start]
        came_from = {}
        while queue:
            here = queue.pop(0)
            if here == goal:
                break
            for neighbour in adjacency[here]:
                if neighbour not in visited:
                    visited.append(neighbour)
                    came_from[neighbour] = here
                    queue.append(neighbour)
        if goal != start and goal not in came_from:
            return []
        route = [goal]
        while route[-1] != start:
            route.append(came_from[route[-1]])
        route.reverse()
        return route
    """
)


def test_visited_list_of_a_breadth_first_search() -> None:
    rewritten = rewrite(RULE, BFS)
    assert rewritten == BFS.replace("visited = [start]", "visited = {start}").replace(
        "visited.append(neighbour)", "visited.add(neighbour)"
    )


def test_empty_list_and_truth_test() -> None:
    before = """
        def dedupe_count(xs):
            seen = []
            n = 0
            for x in xs:
                if x not in seen:
                    seen.append(x)
                    n += 1
            return n, bool(not seen)
        """
    assert rewrite(RULE, before) == source(
        """
        def dedupe_count(xs):
            seen = set()
            n = 0
            for x in xs:
                if x not in seen:
                    seen.add(x)
                    n += 1
            return n, bool(not seen)
        """
    )


UNSAFE = {
    "returned": (
        "def f(xs):\n    seen = []\n    for x in xs:\n        if x not in seen:\n"
        "            seen.append(x)\n    return seen\n"
    ),
    "counted with len": (
        "def f(xs):\n    seen = []\n    for x in xs:\n        if x not in seen:\n"
        "            seen.append(x)\n    return len(seen)\n"
    ),
    "iterated": (
        "def f(xs):\n    seen = []\n    for x in xs:\n        if x not in seen:\n"
        "            seen.append(x)\n    for s in seen:\n        print(s)\n"
    ),
    "indexed": (
        "def f(xs):\n    seen = [0]\n    for x in xs:\n        if x in seen:\n"
        "            print(seen[0])\n"
    ),
    "bound twice": (
        "def f(xs):\n    seen = []\n    for x in xs:\n        if x in seen:\n"
        "            seen = []\n        seen.append(x)\n"
    ),
    "in a closure": (
        "def f(xs):\n    seen = []\n    for x in xs:\n        if x in seen:\n"
        "            g = lambda: seen\n        seen.append(x)\n"
    ),
    "no test in a loop": "def f(x):\n    seen = [1, 2]\n    return x in seen\n",
    "starred element": (
        "def f(xs, ys):\n    seen = [*ys]\n    for x in xs:\n        if x in seen:\n"
        "            print(x)\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


GRAPH = st.dictionaries(st.integers(0, 6), st.lists(st.integers(0, 6), max_size=4), min_size=1).map(
    lambda g: {k: [n for n in v if n in g] for k, v in g.items()}
)


@given(GRAPH, st.data())
def test_same_routes(graph: dict[int, list[int]], data: st.DataObject) -> None:
    start = data.draw(st.sampled_from(sorted(graph)))
    goal = data.draw(st.sampled_from(sorted(graph)))
    rewritten = rewrite(RULE, BFS)
    assert rewritten is not None
    assert outcome(load(BFS), graph, start, goal) == outcome(load(rewritten), graph, start, goal)


def test_where_it_differs_unhashable_items() -> None:
    """Why verification is needed: a set needs hashable items."""
    rewritten = rewrite(RULE, BFS)
    assert rewritten is not None
    graph = {0: [1], 1: []}
    assert outcome(load(BFS), graph, 0, 1) == outcome(load(rewritten), graph, 0, 1)
    lists = {(0,): [[1]], (1,): []}
    assert outcome(load(BFS), lists, (0,), (9,))[0] == "raise"  # KeyError at [1]
    assert outcome(load(rewritten), lists, (0,), (9,)) == ("raise", TypeError)
