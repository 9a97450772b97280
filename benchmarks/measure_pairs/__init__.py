"""Functions with known relative costs, for benchmarks/measurement_quality.py.

Every version is the same module: `work(xs)` sums the squares of `xs` in a
Python loop, then runs the same loop body over the first `extra` thousandths of
`xs` into a variable it throws away. The fast version has extra = 0; a version
with extra = 100 does about 10% more of the same work per call, whatever the
machine, so "the original is 10% slower" is known by construction (the slice
copy adds a little; the benchmark prints the ratio it measured too). Identical
pairs are two copies of the extra = 0 module.
"""

from __future__ import annotations

import pickle
import random

MODULE = "bench_work"
CALLS = 20
LENGTH = 1000

TEMPLATE = """\
def work(xs):
    total = 0
    for x in xs:
        total += x * x
    spare = 0
    for x in xs[: len(xs) * {extra} // 1000]:
        spare += x * x
    return total
"""

# name: (extra work of the original in thousandths, nominal speedup of the candidate)
PAIRS = {
    "identical": (0, 1.00),
    "3%": (30, 1.03),
    "5%": (50, 1.05),
    "10%": (100, 1.10),
    "30%": (300, 1.30),
}


def source(extra: int) -> str:
    """The module source of the version doing `extra` thousandths more work."""
    return TEMPLATE.format(extra=extra)


def inputs(seed: int = 1) -> list[list[int]]:
    """The recorded calls' argument: CALLS lists of LENGTH ints."""
    rng = random.Random(seed)
    return [[rng.randrange(1000) for _ in range(LENGTH)] for _ in range(CALLS)]


def pickled_calls(seed: int = 1) -> list[bytes]:
    """The calls as perfloop's CallRecord.args: pickled (args, kwargs)."""
    return [pickle.dumps(((xs,), {})) for xs in inputs(seed)]
