"""The index maps each test to the project functions it runs, whatever their shape, and
noting them changes nothing a test can see (docstrings, line numbers, first lines)."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.model import FunctionRef, Limits
from perfloop.verification.project_tests import TestIndex, index_tests, select_tests

LIB = '''
from __future__ import annotations

import functools


def only_a_docstring():
    """Nothing else."""


@functools.lru_cache(maxsize=None)
def cached(n: int) -> int:
    return n * 2


class Basket:
    def __init__(self, items):
        self.items = list(items)

    def total(self) -> int:
        """The sum of the items."""
        return sum(self.items)

    @property
    def size(self) -> int:
        return len(self.items)


def evens(limit):
    for n in range(limit):
        if n % 2 == 0:
            yield n


def outer(x):
    def inner(y):
        return y + 1

    return inner(x)


def fails(x):
    global LAST
    LAST = x
    raise ValueError(x)


def never_called():
    return 0
'''

TESTS = """
import traceback

import shop


def test_docstrings_survive():
    assert shop.only_a_docstring() is None
    assert shop.only_a_docstring.__doc__ == "Nothing else."
    assert shop.Basket.total.__doc__ == "The sum of the items."


def test_decorated_and_methods():
    assert shop.cached(3) == 6
    basket = shop.Basket([1, 2])
    assert basket.total() == 3 and basket.size == 2


def test_generator_and_nested():
    assert list(shop.evens(5)) == [0, 2, 4]
    assert shop.outer(1) == 2


def test_line_numbers_survive():
    try:
        shop.fails(7)
    except ValueError as error:
        frame = traceback.extract_tb(error.__traceback__)[-1]
    assert (frame.name, frame.lineno) == ("fails", 44)
    assert shop.fails.__code__.co_firstlineno == 41
    assert shop.cached.__wrapped__.__code__.co_firstlineno == 10
"""

LIMITS = Limits(wall_seconds=120, cpu_seconds=130, memory_mb=2048)


def selected(index: TestIndex, root: Path, qualname: str) -> list[str]:
    source = (root / "shop.py").read_text()
    selection = select_tests(index, root, FunctionRef("shop", qualname), "shop.py", source)
    return [node.split("::")[1] for node in sorted(selection.node_ids)]


@pytest.mark.slow
def test_each_shape_of_function_is_mapped_to_the_tests_that_run_it(make_project) -> None:
    root = make_project({"shop.py": LIB, "tests/test_shop.py": TESTS})
    index = index_tests(root, LIMITS)
    assert index.problem is None and index.collected == 4
    assert index.failing == 0  # the marks changed nothing the tests look at
    assert selected(index, root, "only_a_docstring") == ["test_docstrings_survive"]
    assert selected(index, root, "cached") == ["test_decorated_and_methods"]
    assert selected(index, root, "Basket.__init__") == ["test_decorated_and_methods"]
    assert selected(index, root, "Basket.total") == ["test_decorated_and_methods"]
    assert selected(index, root, "Basket.size") == ["test_decorated_and_methods"]
    assert selected(index, root, "evens") == ["test_generator_and_nested"]
    assert selected(index, root, "outer") == ["test_generator_and_nested"]
    assert selected(index, root, "fails") == ["test_line_numbers_survive"]
    assert selected(index, root, "never_called") == []
