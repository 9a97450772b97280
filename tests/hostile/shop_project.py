"""The project every hostile test runs perfloop on: one function, a workload, an honest
rewrite; and how to read which candidate got which verdict."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import Iterator

from perfloop.results import RunResult

LIB = '''
def cheapest(prices):
    """The lowest price; IndexError for an empty basket."""
    return sorted(prices)[0]
'''
BENCH = """
import random
from shop import cheapest

rng = random.Random(0)
baskets = [[rng.randint(1, 10_000) for _ in range(3000)] for _ in range(40)] + [[]]
total = 0
for basket in baskets:
    try:
        total += cheapest(basket)
    except IndexError:
        total -= 1
print(total)
"""
HONEST = """
if not prices:
    raise IndexError("list index out of range")
return min(prices)
"""
ORIGINAL = "return sorted(prices)[0]"


def module(body: str) -> str:
    """The shop module with `cheapest`'s body replaced by `body`."""
    head = 'def cheapest(prices):\n    """The lowest price; IndexError for an empty basket."""\n'
    return head + textwrap.indent(body.strip("\n") + "\n", "    ")


def tried(result: RunResult) -> dict[str, object]:
    """Each candidate's result, by the name its origin `test:NAME` gives."""
    (target,) = result.targets
    return {c.candidate.origin.removeprefix("test:"): c for c in target.candidates}


def listening_socket() -> Iterator[socket.socket]:
    """A loopback server nobody should connect to (accept raises BlockingIOError)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.setblocking(False)
    yield server
    server.close()
