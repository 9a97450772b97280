"""The shop project the outside tests work on, and git helpers to make a repository of it."""

from __future__ import annotations

import subprocess
from pathlib import Path

SHOP = '''
def cheapest(prices):
    """The lowest price; IndexError for an empty basket."""
    return sorted(prices)[0]


def label(cents):
    return f"{cents // 100}.{cents % 100:02d}"


def unused(x):
    return x + 1


class Cart:
    def __init__(self):
        self.seen = 0

    def total(self, prices):
        self.seen += 1
        out = 0
        for p in prices:
            out += p
        return out
'''

BENCH = """
import random
from shop import Cart, cheapest, label

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(rng.randint(1, 2000))] for _ in range(20)]
baskets.append([])
cart = Cart()
total = 0
for basket in baskets:
    try:
        total += cheapest(basket)
    except IndexError:
        total -= 1
    total += cart.total(basket)
print(total, [label(c) for c in (5, 99, 100, 12345, 700)])
"""

PYPROJECT = """
[tool.perfloop]
workload = "python bench.py"
measure-processes = 1
workload-runs = 2
max-calls = 50
"""

# faster, and the same on every call (the empty basket included)
HONEST = '''
def cheapest(prices):
    """The lowest price; IndexError for an empty basket."""
    if not prices:
        raise IndexError("list index out of range")
    return min(prices)
'''
# faster, but an empty basket raises ValueError instead of IndexError
EDGE = """
def cheapest(prices):
    return min(prices)
"""


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=root, check=True, capture_output=True, text=True
    ).stdout


def commit_all(root: Path, message: str) -> None:
    if not (root / ".git").exists():
        git(root, "init", "-q")
        git(root, "config", "user.email", "test@example.com")
        git(root, "config", "user.name", "test")
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", message)
