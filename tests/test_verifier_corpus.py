"""The stateful corpus of benchmarks/verifier_strength.py is what it says: each original passes
its own tests, each equivalent candidate prints what the original prints on the workload and
passes the tests, and there are at least 20 of each kind of candidate."""

from __future__ import annotations

import contextlib
import io
import sys
import types
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from verifier_corpus.cases import Case
from verifier_corpus.stateful import STATEFUL_CASES


def run(source: str, case: Case) -> tuple[str, list[str]]:
    """What the workload prints with `source` as the module `target`, and the failing tests."""
    module = types.ModuleType("target")
    exec(compile(source, "target.py", "exec"), module.__dict__)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(case.workload, "bench.py", "exec"), dict(module.__dict__))
    tests = dict(module.__dict__)
    exec(compile(case.tests, "test_target.py", "exec"), tests)
    failing = []
    for name, test in tests.items():
        if name.startswith("test_"):
            try:
                test()
            except Exception:
                failing.append(name)
    return printed.getvalue(), failing


def test_the_stateful_corpus_has_twenty_pairs_of_each_kind() -> None:
    pairs = [pair for case in STATEFUL_CASES for pair in case.pairs]
    assert sum(not pair.equivalent for pair in pairs) >= 20
    assert sum(pair.equivalent for pair in pairs) >= 20
    assert len({(case.name, p.label) for case in STATEFUL_CASES for p in case.pairs}) == len(pairs)
    assert all("." in case.function for case in STATEFUL_CASES)  # methods of classes


@pytest.mark.parametrize("case", STATEFUL_CASES, ids=lambda case: case.name)
def test_equivalent_candidates_behave_like_the_original_on_its_workload(case: Case) -> None:
    expected, failing = run(case.original, case)
    assert expected and not failing
    for pair in case.pairs:
        if pair.equivalent:
            assert run(pair.source, case) == (expected, []), pair.label
