"""A container of module state that the call's own arguments hold.

simplejson 3.19.3 (pure Python) interns an object's keys through a `memo` dict:
`JSONObject(state, ..., memo)` gets the very `memo` of `simplejson._default_decoder`, a
decoder the package keeps, and adds keys to it; `JSONArray` reaches it through its
`scan_once` callback. Tried as a new user, both (16.6% of a workload) were unverifiable:
"replaying the original does not reproduce its recorded calls (module state after the
call differs: simplejson._default_decoder['memo']: ... 2 keys missing)". Replay put the
recorded memo in place by refilling the worker's own dict, so the argument and the
module no longer held one dict; and on a document's first object, whose memo was still
as the import left it, the decoder was not recorded at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pypi_sdists import cached_sdist, unpacked

import perfloop
from perfloop.results import Decision

DECODER = '''
def parse_word(word, memo):
    """Intern a word through the decoder's memo, as simplejson's JSONObject does keys."""
    word = memo.setdefault(word, word)
    return word.upper()


class Decoder:
    def __init__(self):
        self.memo = {}
        self.strict = True

    def decode(self, text):
        try:
            return [parse_word(word, self.memo) for word in text.split()]
        finally:
            self.memo.clear()
'''
PACKAGE = """
from pkg.decoder import Decoder

_default_decoder = Decoder()


def decode(text):
    return _default_decoder.decode(text)
"""
BENCH = """
import pkg

for i in range(50):
    print(pkg.decode(" ".join(f"w{j}" for j in range(i % 7 + 3))))
"""
SAME = """
def parse_word(word, memo):
    word = memo.setdefault(word, word)
    return str.upper(word)
"""
FORGETS = """
def parse_word(word, memo):
    word = memo.get(word, word)
    return word.upper()
"""


@pytest.fixture
def project(make_project) -> Path:
    return make_project({"pkg/__init__.py": PACKAGE, "pkg/decoder.py": DECODER, "bench.py": BENCH})


def _verify(project: Path, source: str) -> perfloop.VerifyResult:
    return perfloop.verify(
        "pkg.decoder:parse_word",
        source,
        root=project,
        workload="python bench.py",
        tiers=("replay",),
        mutants=0,
    )


def test_the_original_replays_when_its_argument_is_the_modules_container(project) -> None:
    result = _verify(project, SAME)
    assert result.decision is Decision.EQUIVALENT, result.reason
    assert result.verdict is not None and result.verdict.calls_checked >= 5


def test_a_rewrite_that_no_longer_fills_the_shared_container_is_caught(project) -> None:
    result = _verify(project, FORGETS)
    assert result.decision is Decision.DIFFERENT, result.reason
    assert "missing key 'w0'" in (result.reason or "")


WORKLOAD = """
import simplejson

DOCS = [
    {"alpha": [1, 2, {"beta": "x", "gamma": [True, None]}], "delta": {"alpha": 1.5}},
    [{"k": "v", "alpha": [[], {}]}, {"k": "w"}, "d\\u00e9j\\u00e0 vu"],
]
for doc in DOCS * 5:
    text = simplejson.dumps(doc, sort_keys=True, indent=2)
    assert simplejson.loads(text) == doc
    print(len(text))
"""


def _function_source(path: Path, name: str) -> str:
    source = path.read_text(encoding="utf-8")
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            text = ast.get_source_segment(source, node)
            assert text is not None
            return text + "\n"
    raise AssertionError(f"{name} not found")


@pytest.mark.slow
@pytest.mark.parametrize("function", ["JSONObject", "JSONArray"])
def test_simplejsons_decoder_functions_replay_as_themselves(tmp_path: Path, function) -> None:
    tree = unpacked(cached_sdist("simplejson==3.19.3", "simplejson-3.19.3.tar.gz"), tmp_path)
    (tree / "workload.py").write_text(WORKLOAD, encoding="utf-8")
    original = _function_source(tree / "simplejson" / "decoder.py", function)
    same = original.replace("pairs = []", "pairs = list()", 1)  # in other words
    same = same.replace("values = []", "values = list()", 1)
    assert same != original
    result = perfloop.verify(
        f"simplejson.decoder:{function}",
        same,
        root=tree,
        workload="python workload.py",
        tiers=("replay",),
        mutants=0,
    )
    assert result.decision is Decision.EQUIVALENT, result.reason
    assert result.verdict is not None and result.verdict.calls_checked >= 4
