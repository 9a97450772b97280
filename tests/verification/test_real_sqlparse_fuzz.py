"""sqlparse 0.5.1's reindent offsets, rewritten by its maintainers, fuzzed as they are called.

`ReindentFilter._get_offset(self, token)` (24% of formatting sqlparse's own test files
with `reindent=True`, with the `_flatten_up_to_token` it calls) rebuilt the statement's
text up to `token` on every call. The maintainers' a51df6d (2026, GHSA-cfqr-cjx5-5jcm)
walks back from `token` to the line break before it instead, and was checked byte for
byte over their corpus. `perfloop verify` read it as DIFFERENT: fuzzing drew `self` from
one recorded call and `token` from another, each pickled apart, so `token` was never in
the statement `self` holds, which no caller does (the old code then walks the whole
statement, the new one `token`'s own tree). Arguments that hold one same object are now
drawn together, from one call.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.results import Decision

WORKLOAD = """
from pathlib import Path

import sqlparse

for path in sorted(Path("tests/files").glob("*.sql")):
    text = path.read_text(encoding="utf-8", errors="replace")
    print(path.name, len(sqlparse.format(text, reindent=True, keyword_case="upper")))
"""

# andialbrecht/sqlparse a51df6d "Measure reindent offsets backwards to avoid quadratic CPU
# use" (BSD-3-Clause), the two methods as committed, comments shortened
COMMIT = '''
    def _current_line_len(self, token):
        """Returns the width of what's already emitted on *token*'s line."""
        length = 0
        node = token
        while node is not self._curr_stmt and node.parent is not None:
            parent = node.parent
            # ``Token`` doesn't implement ``__eq__``: an identity lookup
            stack = parent.tokens[:parent.tokens.index(node)]
            while stack:
                prev_ = stack.pop()
                if prev_.is_group:
                    stack.extend(prev_.tokens)
                    continue

                value = prev_.value
                size = len(value)
                if not size:
                    continue
                lines = value.splitlines()
                if len(lines) == 1 and len(lines[0]) == size:
                    length += size
                    continue

                lines = (value + '.').splitlines()
                tail = len(lines[-1]) - 1 + length
                if tail:
                    return tail
                if len(lines) > 2:
                    return len(lines[-2])
                length = len(lines[0])
            node = parent
        return length

    def _get_offset(self, token):
        # Now take current offset into account and return relative offset.
        return self._current_line_len(token) - len(self.char * self.leading_ws)
'''


def _verify(tmp_path: Path, source: str) -> perfloop.VerifyResult:
    """`source` for `_get_offset` on sqlparse 0.5.1's sdist, by replay and fuzzing."""
    tree = unpacked(cached_sdist("sqlparse==0.5.1", "sqlparse-0.5.1.tar.gz"), tmp_path)
    (tree / "workload.py").write_text(WORKLOAD, encoding="utf-8")
    return perfloop.verify(
        "sqlparse.filters.reindent:ReindentFilter._get_offset",
        source,
        root=tree,
        workload="python workload.py",
        tiers=("replay", "fuzz"),
        mutants=0,
    )


@pytest.mark.slow
def test_the_maintainers_backward_walk_is_fuzzed_on_calls_a_caller_makes(tmp_path: Path) -> None:
    result = _verify(tmp_path, COMMIT)
    assert result.decision is Decision.EQUIVALENT, result.reason
    tiers = {run.tier: run for run in result.verdict.runs}  # type: ignore[union-attr]
    assert tiers["replay"].outcome == "same" and tiers["replay"].inputs >= 20
    assert tiers["fuzz"].outcome == "same" and tiers["fuzz"].inputs >= 5


@pytest.mark.slow
def test_a_wrong_offset_is_still_found(tmp_path: Path) -> None:
    """Drawn together, the arguments still tell a wrong walk apart: counting the break
    itself into the line's width."""
    wrong = COMMIT.replace("tail = len(lines[-1]) - 1 + length", "tail = len(lines[-1]) + length")
    assert wrong != COMMIT
    result = _verify(tmp_path, wrong)
    assert result.decision is Decision.DIFFERENT, result.reason
