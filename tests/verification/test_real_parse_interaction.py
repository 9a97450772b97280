"""parse 1.19.0 (r1chardj0n3s/parse, from its sdist), as a new user's workload calls it.

`Parser.findall` returns a `ResultIterator`, an iterator class of parse's own that calls
`Parser.evaluate_result` for each item. The interaction tier drives a `Parser` through
`findall`, `search` and `evaluate_result` calls, and compared each answer of the original
twice: with its second run (is it stable?), then with the candidate's. The first
comparison pulled the iterators, so the second found the original's empty: every rewrite
of `evaluate_result` and `_expand_named_fields` (the two hottest functions of the
workload, 47% of it) "behaved differently" ("expected 0 items, got 9 items"), the rules'
and a person's alike. An iterator a call returns is now pulled by the call, with its
version in place, and both comparisons read the same items.

The maintainers' own speed-up of `_expand_named_fields` (71ee32b, "optimize
_expand_named_fields", in parse 1.20.0) goes through as well: the same on every recorded
call and sequence, and different on one input no format string makes (a field named ''),
where the old code raised and the new one returns.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.results import Decision

WORKLOAD = """
import parse

compiled = [
    parse.compile("{host}:{port:d} {method} {path} {status:d}"),
    parse.compile("{user[name]} <{user[email]}> joined {group[name][full]}"),
    parse.compile("{:d}-{:d}-{:d} {level:w} {message}"),
]
lines = []
for i in range(40):
    lines.append(f"host{i % 7}.example.org:{8000 + i} GET /item/{i} {200 + i % 5}")
    lines.append(f"user{i} <user{i}@mail.example> joined team{i % 9}")
    lines.append(f"{2000 + i % 20}-{1 + i % 12}-{1 + i % 28} WARN message {i}")
total = 0
for line in lines:
    for parser in compiled:
        found = parser.parse(line)
        if found is not None:
            total += len(found.named) + len(found.fixed)
    total += sum(found[0] for found in parse.findall("{:d}", line))
    found = parse.search("{user[name]} <{email}>", line)
    total += 0 if found is None else len(found.named)
print("fields", total)
"""

# the conversions and `m.span` in locals, as the hoisting rules and a person would write it
EVALUATE_RESULT = """
def evaluate_result(self, m):
    conversions = self._type_conversions
    fixed_fields = list(m.groups())
    for n in self._fixed_fields:
        if n in conversions:
            fixed_fields[n] = conversions[n](fixed_fields[n], m)
    fixed_fields = tuple(fixed_fields[n] for n in self._fixed_fields)
    groupdict = m.groupdict()
    named_fields = {}
    name_map = {}
    for k in self._named_fields:
        korig = self._group_to_name_map[k]
        name_map[korig] = k
        if k in conversions:
            value = conversions[k](groupdict[k], m)
        else:
            value = groupdict[k]
        named_fields[korig] = value
    span = m.span
    spans = {n: span(name_map[n]) for n in named_fields}
    spans.update((i, span(n + 1)) for i, n in enumerate(self._fixed_fields))
    return Result(fixed_fields, self._expand_named_fields(named_fields), spans)
"""

# r1chardj0n3s/parse 71ee32b (MIT), the method as committed
EXPAND_71EE32B = """
def _expand_named_fields(self, named_fields):
    result = {}
    for field, value in named_fields.items():
        # split 'aaa[bbb][ccc]...' into 'aaa' and '[bbb][ccc]...'
        n = field.find('[')
        if n == -1:
            basename, subkeys = field, ''
        else:
            basename, subkeys = field[:n], field[n:]

        # create nested dictionaries {'aaa': {'bbb': {'ccc': ...}}}
        d = result
        k = basename

        if subkeys:
            for subkey in re.findall(r'\\[[^\\]]+\\]', subkeys):
                d = d.setdefault(k, {})
                k = subkey[1:-1]

        # assign the value to the last key
        d[k] = value

    return result
"""


@pytest.fixture(scope="module")
def parse_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tree = unpacked(
        cached_sdist("parse==1.19.0", "parse-1.19.0.tar.gz"), tmp_path_factory.mktemp("parse")
    )
    (tree / "workload.py").write_text(WORKLOAD, encoding="utf-8")
    return tree


def _verify(tree: Path, target: str, source: str, tiers: tuple[str, ...]) -> perfloop.VerifyResult:
    return perfloop.verify(
        f"parse:Parser.{target}",
        source,
        root=tree,
        workload="python workload.py",
        tiers=tiers,
        mutants=0,
        project_tests=False,
    )


@pytest.mark.slow
def test_a_rewrite_of_what_findall_calls_back_passes_the_sequences(parse_tree: Path) -> None:
    result = _verify(parse_tree, "evaluate_result", EVALUATE_RESULT, ("replay", "interaction"))
    assert result.decision is Decision.EQUIVALENT, result.reason
    runs = {run.tier: run for run in result.verdict.runs}  # type: ignore[union-attr]
    assert runs["replay"].outcome == "same" and runs["replay"].inputs >= 50
    assert runs["interaction"].outcome == "same" and runs["interaction"].inputs >= 20


@pytest.mark.slow
def test_a_wrong_span_is_still_found(parse_tree: Path) -> None:
    wrong = EVALUATE_RESULT.replace("span(n + 1)", "span(n)")
    assert wrong != EVALUATE_RESULT
    result = _verify(parse_tree, "evaluate_result", wrong, ("replay", "interaction"))
    assert result.decision is Decision.DIFFERENT, result.reason


@pytest.mark.slow
def test_the_maintainers_edit_differs_only_where_the_old_code_raised(parse_tree: Path) -> None:
    """Where callers reach it, the same; fuzzing finds the field name no format string
    makes, and says what each side did there."""
    called = _verify(parse_tree, "_expand_named_fields", EXPAND_71EE32B, ("replay", "interaction"))
    assert called.decision is Decision.EQUIVALENT, called.reason

    fuzzed = _verify(parse_tree, "_expand_named_fields", EXPAND_71EE32B, ("replay", "fuzz"))
    assert fuzzed.decision is Decision.DIFFERENT, fuzzed.reason
    example = fuzzed.counterexample
    assert example is not None and example.tier == "fuzz"
    assert "where the original raised builtins.AttributeError" in example.description
