"""Lazy results whose items are lazy too: every pull is recorded in the workload's order.

more-itertools 10.8.0's `ichunked` yields chunks that all read one source iterator, so
what a chunk holds depends on when it is read. None of its calls could be recorded ("an
item it produced cannot be pickled: cannot pickle 'generator' object"), so the
maintainers' rewrite (more-itertools 3f43b98, chunks made of `chain` and `tee`) could
not be judged. Now each lazy item is recorded as it is pulled, in one log per call.
"""

from __future__ import annotations

from pathlib import Path

import pytest

import perfloop

# more_itertools 10.8.0's ichunked and _ichunk, as released
LIB = """
from collections import deque
from contextlib import suppress
from itertools import chain, islice, tee


def consume(iterator, n=None):
    deque(iterator, maxlen=0)


def _ichunk(iterator, n):
    cache = deque()
    chunk = islice(iterator, n)

    def generator():
        with suppress(StopIteration):
            while True:
                if cache:
                    yield cache.popleft()
                else:
                    yield next(chunk)

    def materialize_next(n=1):
        if n is None:
            cache.extend(chunk)
            return len(cache)
        to_cache = n - len(cache)
        if to_cache > 0:
            cache.extend(islice(chunk, to_cache))
        return min(n, len(cache))

    return (generator(), materialize_next)


def ichunked(iterable, n):
    iterator = iter(iterable)
    while True:
        chunk, materialize_next = _ichunk(iterator, n)
        if not materialize_next():
            return
        yield chunk
        materialize_next(None)
"""

BENCH = """
from lib import ichunked

out = []
for n in range(1, 12):
    out.append([list(chunk) for chunk in ichunked(range(n * 7), n % 5 + 1)])
    chunks = list(ichunked(iter(range(n * 3)), 4))  # later chunks first
    out.append([list(chunk) for chunk in reversed(chunks)])
    partial = []
    for chunk in ichunked("abcdefghij" * (n % 4 + 1), 3):  # each chunk half read
        partial.append(next(chunk))
    out.append(partial)
print(len(out), out[-1])
"""

# more-itertools 3f43b98 "Simpler faster ichunked"
COMMIT_3F43B98 = """
def ichunked(iterable, n):
    iterator = iter(iterable)
    for first in iterator:
        rest = islice(iterator, n - 1)
        cache, cacher = tee(rest)
        yield chain([first], rest, cache)
        consume(cacher)
"""

# wrong: the next chunk no longer fills the cache of the one before
WITHOUT_CACHE = """
def ichunked(iterable, n):
    iterator = iter(iterable)
    for first in iterator:
        yield chain([first], islice(iterator, n - 1))
"""

pytestmark = pytest.mark.slow  # each records a real workload and replays it in workers


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("lazy_items")
    (root / "lib.py").write_text(LIB)
    (root / "bench.py").write_text(BENCH)
    return root


def verified(root: Path, candidate: str):  # type: ignore[no-untyped-def]
    return perfloop.verify(
        "lib:ichunked",
        candidate,
        workload="python bench.py",
        root=root,
        tiers=("replay",),
        mutants=0,
    )


def test_the_maintainers_chunks_of_chain_and_tee_verify(project: Path) -> None:
    result = verified(project, COMMIT_3F43B98)
    assert result.decision.value == "equivalent", result.reason
    assert result.calls_seen == 33 and result.calls_recorded > 0, result
    assert result.verdict is not None and result.verdict.calls_checked == result.calls_recorded


def test_chunks_read_in_another_order_than_made_are_compared(project: Path) -> None:
    result = verified(project, WITHOUT_CACHE)
    assert result.decision.value == "different", result.reason
