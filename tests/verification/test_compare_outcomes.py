"""Two call outcomes compared: what pickles alike is the same, and nothing else is hidden.

The replay relation walks every object of the result and of the arguments after the call;
where both pickle to the same bytes it takes them as the same at once (sqlparse 0.5.1's
`utils.imt` gets a token that holds its whole statement). These are the cases where the
bytes alone would say too little or too much.
"""

from __future__ import annotations

import math

from perfloop.runtime.state import GlobalState
from perfloop.verification.compare import ComparePolicy
from perfloop.verification.replay import compare_outcomes


class Node:
    def __init__(self, value: object, children: list[Node]) -> None:
        self.value = value
        self.children = children
        self.parent: Node | None = None
        for child in children:
            child.parent = self


def _tree(leaf: object = "x") -> Node:
    return Node("root", [Node(i, [Node(leaf, []) for _ in range(30)]) for i in range(30)])


def _returned(result: object, *args: object, state: GlobalState | None = None):
    middle = () if state is None else (state,)
    return ("return", result, *middle, (args, {}))


def _same(expected, actual, stdout=("", "")) -> str | None:
    return compare_outcomes(expected, actual, stdout[0], stdout[1], ComparePolicy())


def test_equal_trees_are_the_same_and_a_leaf_changed_deep_inside_is_found() -> None:
    assert _same(_returned(1, _tree()), _returned(1, _tree())) is None
    changed = _tree()
    changed.children[29].children[29].value = "y"
    found = _same(_returned(1, _tree()), _returned(1, changed))
    assert found is not None and "argument state after the call differs" in found
    assert "children[29]" in found


def test_what_pickles_apart_but_the_relation_calls_equal_is_the_same() -> None:
    # the same set, built in another order; NaN against NaN; a message left out
    assert _same(_returned({1, 2, 3, 1000}), _returned({1000, 3, 2, 1})) is None
    assert _same(_returned(float("nan")), _returned(math.nan)) is None
    policy = ComparePolicy(exception_messages=False)
    raised = ("raise", "builtins.ValueError", "bad 1", ((), {}))
    other = ("raise", "builtins.ValueError", "bad 2", ((), {}))
    assert compare_outcomes(raised, other, "", "", policy) is None


def test_the_same_result_and_arguments_still_need_the_same_state_and_output() -> None:
    tree = _tree()
    before = GlobalState({"CACHE": {"a": 1}})
    after = GlobalState({"CACHE": {"a": 1, "b": 2}})
    found = _same(_returned(1, tree, state=before), _returned(1, _tree(), state=after))
    assert found is not None and "CACHE" in found
    printed = _same(_returned(1, tree), _returned(1, _tree()), stdout=("one\n", "two\n"))
    assert printed is not None and "printed" in printed
