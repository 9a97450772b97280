"""deque-queue: a local list used as a FIFO queue becomes a collections.deque."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rule_testing import load, outcome, rewrite, source

from perfloop.propose.rules.deque_queue import DequeQueue

RULE = DequeQueue()


def test_breadth_first_search() -> None:
    before = """
        \"\"\"Routes.\"\"\"


        def order(adjacency, start):
            seen = {start}
            queue = [start]
            out = []
            while queue:
                here = queue.pop(0)
                out.append(here)
                for n in adjacency[here]:
                    if n not in seen:
                        seen.add(n)
                        queue.append(n)
            return out
        """
    assert rewrite(RULE, before, "order") == source(
        """
        \"\"\"Routes.\"\"\"
        import collections


        def order(adjacency, start):
            seen = {start}
            queue = collections.deque([start])
            out = []
            while queue:
                here = queue.popleft()
                out.append(here)
                for n in adjacency[here]:
                    if n not in seen:
                        seen.add(n)
                        queue.append(n)
            return out
        """
    )


def test_insert_at_the_front_empty_start_and_list_call() -> None:
    before = """
        import collections


        def undo_stack(actions, initial):
            history = []
            pending = list(initial)
            for action in actions:
                history.insert(0, action)
                if len(pending) and pending[0] == action:
                    pending.pop(0)
            return history[0] if history else None, len(pending)
        """
    assert rewrite(RULE, before, "undo_stack") == source(
        """
        import collections


        def undo_stack(actions, initial):
            history = collections.deque()
            pending = collections.deque(initial)
            for action in actions:
                history.appendleft(action)
                if len(pending) and pending[0] == action:
                    pending.popleft()
            return history[0] if history else None, len(pending)
        """
    )


UNSAFE = {
    "no pop(0)": "def f(xs):\n    q = [1]\n    while q:\n        q.pop()\n    return 1\n",
    "returned": "def f(x):\n    q = [x]\n    q.pop(0)\n    return q\n",
    "sliced": "def f(x):\n    q = [x, x]\n    q.pop(0)\n    return q[1:]\n",
    "iterated": "def f(x):\n    q = [x, x]\n    q.pop(0)\n    for y in q:\n        print(y)\n",
    "passed on": "def f(x):\n    q = [x, x]\n    q.pop(0)\n    g(q)\n",
    "sort": "def f(x):\n    q = [x, x]\n    q.pop(0)\n    q.sort()\n",
    "pop(1)": "def f(x):\n    q = [x, x]\n    q.pop(0)\n    q.pop(1)\n",
    "a parameter": "def f(q):\n    while q:\n        q.pop(0)\n",
    "collections is something else": (
        "collections = None\n\ndef f(x):\n    q = [x]\n    q.pop(0)\n    return 1\n"
    ),
}


@pytest.mark.parametrize("case", UNSAFE)
def test_silent(case: str) -> None:
    assert rewrite(RULE, UNSAFE[case], "f") is None


ORIGINAL = source(
    """
    def simulate(ops):
        q = []
        out = []
        for op, value in ops:
            if op == 0:
                q.append(value)
            elif op == 1:
                q.insert(0, value)
            elif op == 2:
                out.append(q.pop(0))
            elif op == 3:
                out.append(q.pop())
            else:
                out.append((len(q), bool(q), value in q, q[0]))
        return out
    """
)


@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 3)), max_size=30))
def test_same_results_and_exceptions(ops: list[tuple[int, int]]) -> None:
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    assert outcome(load(ORIGINAL), ops) == outcome(load(rewritten), ops)


def test_where_it_differs_error_messages() -> None:
    """The same IndexError type with another message (compared only on request)."""
    rewritten = rewrite(RULE, ORIGINAL)
    assert rewritten is not None
    messages = []
    for function in (load(ORIGINAL), load(rewritten)):
        with pytest.raises(IndexError) as caught:
            function([(2, 0)])
        messages.append(str(caught.value))
    assert messages == ["pop from empty list", "pop from an empty deque"]
