"""How an outside candidate's text becomes a whole module: the forms a person or agent sends."""

from __future__ import annotations

from pathlib import Path

import pytest

from perfloop.model import FunctionRef
from perfloop.outside.candidate import CandidateError, Target, _extra_code_notes, splice_candidate
from perfloop.outside.changes import module_name
from perfloop.patch import SpliceError, splice_function
from perfloop.project import Project

MODULE = '''"""Prices."""
import math


def cheapest(prices):
    return sorted(prices)[0]


class Cart:
    rate = 2

    def total(self, prices):
        out = 0
        for p in prices:
            out += p
        return out

    def count(self):
        return 0
'''


def test_a_function_with_the_imports_it_needs_replaces_only_that_function() -> None:
    new = splice_function(
        MODULE,
        "cheapest",
        "import heapq\n\ndef cheapest(prices):\n    return heapq.nsmallest(1, prices)[0]\n",
    )
    assert new.startswith('"""Prices."""\nimport math\nimport heapq\n')
    assert "return heapq.nsmallest(1, prices)[0]" in new
    assert new.split("class Cart:")[1] == MODULE.split("class Cart:")[1]


def test_a_method_may_come_indented_or_as_a_plain_def_and_keeps_its_place() -> None:
    indented = "    def total(self, prices):\n        return sum(prices)\n"
    plain = "def total(self, prices):\n    return sum(prices)\n"
    for text in (indented, plain):
        new = splice_function(MODULE, "Cart.total", text)
        assert "    def total(self, prices):\n        return sum(prices)\n\n    def count" in new
        assert "    rate = 2\n\n    def total" in new
        compile(new, "shop.py", "exec")


def test_a_whole_module_gives_its_version_of_the_function_only() -> None:
    other = MODULE.replace("return sorted(prices)[0]", "return min(prices)").replace(
        "return 0", "return 99"
    )
    new = splice_function(MODULE, "Cart.count", other)
    assert "return 99" in new
    assert "return sorted(prices)[0]" in new  # the other function is not taken


def test_what_cannot_be_spliced_says_what_is_missing() -> None:
    with pytest.raises(SpliceError, match="defines no function 'cheapest'"):
        splice_function(MODULE, "cheapest", "def other(x):\n    return x\n")
    with pytest.raises(SpliceError, match="does not parse"):
        splice_function(MODULE, "cheapest", "def cheapest(prices)\n    return 1\n")
    with pytest.raises(SpliceError, match=r"no function 'Cart\.missing' to replace"):
        splice_function(MODULE, "Cart.missing", "def missing(self):\n    return 1\n")


def test_a_candidate_that_cannot_be_used_is_a_usage_error_with_the_expected_form() -> None:
    target = Target(FunctionRef("shop", "cheapest"), "shop.py", MODULE)
    with pytest.raises(CandidateError, match="Give the new source of the function `cheapest`"):
        splice_candidate(target, "print('hello')\n", "outside:test")
    candidate = splice_candidate(target, "def cheapest(prices):\n    return min(prices)\n", "o")
    assert candidate.function_source == "def cheapest(prices):\n    return min(prices)\n"
    assert candidate.path == "shop.py"


def test_extra_code_beside_the_function_is_named_as_ignored() -> None:
    target = Target(FunctionRef("shop", "cheapest"), "shop.py", MODULE)

    def notes(text: str) -> tuple[str, ...]:
        return _extra_code_notes(text, target, splice_candidate(target, text, "o").module_source)

    assert notes("import heapq\ndef cheapest(p):\n    return 1\n") == ()
    (note,) = notes("LIMIT = 3\ndef helper():\n    pass\ndef cheapest(p):\n    return 1\n")
    assert "2 other top-level statement(s) of the candidate source were ignored" in note


# wcwidth 0.1.8 -> 69dc30c "Optimize wcwidth()": new module constants and a helper given a
# new parameter, sent with the function; taking the function alone made the maintainer's
# edit "DIFFERENT: _bisearch() takes 2 positional arguments but 3 were given".
WIDTHS = """from .tables import ZERO


def _bisearch(ucs, table):
    ubound = len(table) - 1
    return int(any(low <= ucs <= high for low, high in table[: ubound + 1]))


def wcwidth(wc):
    ucs = ord(wc)
    if ucs == 0 or 0x200B <= ucs <= 0x200F:
        return 0
    return 1 - _bisearch(ucs, ZERO)


def wcswidth(text):
    return sum(wcwidth(c) for c in text)
"""

FASTER_WIDTH = """# made by hand
ZERO_WIDTH_CF = set([0, 0x200B, 0x200C, 0x200D, 0x200E, 0x200F])

UBOUND_ZERO = len(ZERO) - 1
UNUSED = 3


def _bisearch(ucs, table, ubound):
    return int(any(low <= ucs <= high for low, high in table[: ubound + 1]))


def wcwidth(wc):
    ucs = ord(wc)
    if ucs in ZERO_WIDTH_CF:
        return 0
    return 1 - _bisearch(ucs, ZERO, UBOUND_ZERO)
"""


def test_the_helpers_and_constants_a_candidate_function_uses_come_with_it() -> None:
    target = Target(FunctionRef("widths", "wcwidth"), "widths.py", WIDTHS)
    candidate = splice_candidate(target, FASTER_WIDTH, "outside:test")
    new = candidate.module_source
    assert "def _bisearch(ucs, table, ubound):" in new and "def _bisearch(ucs, table):" not in new
    assert new.index("ZERO_WIDTH_CF = set(") < new.index("def wcwidth(")
    assert new.index("UBOUND_ZERO = len(ZERO) - 1") < new.index("def wcwidth(")
    assert "UNUSED" not in new  # not used by the function: not taken
    assert new.endswith(WIDTHS[WIDTHS.index("def wcswidth(") :])  # the rest byte for byte
    compile(new, "widths.py", "exec")
    taken, ignored = _extra_code_notes(FASTER_WIDTH, target, new)  # no other caller
    assert "new: ZERO_WIDTH_CF, UBOUND_ZERO" in taken and "replaced: _bisearch" in taken
    assert "1 other top-level statement(s)" in ignored


def test_a_replaced_helper_that_other_functions_call_is_named() -> None:
    module = WIDTHS + "\n\ndef in_table(c):\n    return _bisearch(ord(c), ZERO)\n"
    target = Target(FunctionRef("widths", "wcwidth"), "widths.py", module)
    new = splice_candidate(target, FASTER_WIDTH, "outside:test").module_source
    notes = _extra_code_notes(FASTER_WIDTH, target, new)
    assert "`_bisearch` is also used by in_table: only the tests and rollout tiers" in notes[1]


def test_module_names_come_from_paths_that_python_can_import(tmp_path: Path) -> None:
    project = Project(tmp_path)
    assert module_name("pkg/mod.py", project) == "pkg.mod"
    assert module_name("pkg/__init__.py", project) == "pkg"
    assert module_name("scripts/my-tool.py", project) is None
    assert module_name("README.md", project) is None
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    assert module_name("src/pkg/mod.py", project) == "pkg.mod"


def test_a_method_given_as_a_bare_def_is_not_also_added_at_the_top_level() -> None:
    # packaging 26.2's Tag.__init__ sent unindented: the note said "new: __init__" and a
    # copy of the method landed before the class
    target = Target(FunctionRef("shop", "Cart.total"), "shop.py", MODULE)
    text = "def total(self, prices):\n    return sum(prices)\n"
    candidate = splice_candidate(target, text, "outside:test")
    assert candidate.module_source.count("def total(") == 1
    assert "\n        return sum(prices)\n" in candidate.module_source
    assert _extra_code_notes(text, target, candidate.module_source) == ()


def test_a_method_the_new_method_calls_on_self_comes_with_it() -> None:
    # python-dateutil 16561fc changes _ymd.resolve_ymd and the method it calls as
    # self._resolve_from_stridxs (a new parameter): a bare def of that method replaces the
    # class's, and is not added as a module-level function
    target = Target(FunctionRef("shop", "Cart.total"), "shop.py", MODULE)
    text = (
        "def total(self, prices):\n    return self.count(prices) + sum(prices)\n\n\n"
        "def count(self, prices):\n    return len(prices)\n\n\n"
        "def unused(self):\n    return 2\n"
    )
    candidate = splice_candidate(target, text, "outside:test")
    new = candidate.module_source
    assert new.count("def count(") == 1 and "    def count(self, prices):\n" in new
    assert "def unused(" not in new
    assert new.index("class Cart:") < new.index("def count(")
    compile(new, "shop.py", "exec")
    taken, ignored = _extra_code_notes(text, target, new)
    assert "replaced: Cart.count" in taken
    assert "1 other top-level statement(s)" in ignored


def test_the_methods_of_a_class_sent_whole_come_with_the_target() -> None:
    target = Target(FunctionRef("shop", "Cart.total"), "shop.py", MODULE)
    text = (
        "class Cart:\n    rate = 2\n\n"
        "    def total(self, prices):\n        return self._sum(prices)\n\n"
        "    def _sum(self, prices):\n        return sum(prices)\n\n"
        "    def count(self):\n        return 0\n"
    )
    new = splice_candidate(target, text, "outside:test").module_source
    assert "        return self._sum(prices)\n\n    def _sum(self, prices):\n" in new
    assert new.count("def count(self):") == 1
    compile(new, "shop.py", "exec")


# pycodestyle's "reduces execution time from ~3300 ns to ~2800" (PR 1291): the new check
# iterates `pairwise(tokens)`, bound by a version-dependent block above it. The block was
# "ignored", and the maintainer's edit was DIFFERENT: "name 'pairwise' is not defined".
KEYWORDS = """
import sys


def missing_whitespace_after_keyword(tokens):
    for tok0, tok1 in zip(tokens, tokens[1:]):
        if tok0 == "if" and tok1 == "(":
            yield tok0
"""
WITH_PAIRWISE = """
if sys.version_info < (3, 10):
    from itertools import tee

    def pairwise(iterable):
        a, b = tee(iterable)
        next(b, None)
        return zip(a, b)
else:
    from itertools import pairwise

try:
    from unused_module import NOT_NEEDED
except ImportError:
    NOT_NEEDED = None


def missing_whitespace_after_keyword(tokens):
    for tok0, tok1 in pairwise(tokens):
        if tok0 == "if" and tok1 == "(":
            yield tok0
"""


def test_a_block_that_binds_a_name_the_new_function_uses_comes_with_it() -> None:
    target = Target(FunctionRef("checks", "missing_whitespace_after_keyword"), "c.py", KEYWORDS)
    new = splice_candidate(target, WITH_PAIRWISE, "outside:test").module_source
    block = new.index("if sys.version_info < (3, 10):")
    assert block < new.index("def missing_whitespace_after_keyword(")
    assert "from itertools import pairwise" in new
    assert "NOT_NEEDED" not in new  # a block the function does not use stays out
    namespace: dict[str, object] = {}
    exec(compile(new, "c.py", "exec"), namespace)
    function = namespace["missing_whitespace_after_keyword"]
    assert list(function(["if", "(", "x"])) == ["if"]  # type: ignore[operator]
    taken, ignored = _extra_code_notes(WITH_PAIRWISE, target, new)
    assert "new: pairwise, tee" in taken
    assert "1 other top-level statement(s)" in ignored  # the try block


# A maintainer's speedup that changes a constant with the function reading it: kept as the
# module had it, the new function would run, and be timed, with the old list.
KEYWORDS_LIST = """KEYWORDS = ['if', 'else', 'for', 'while']
OTHER = 1


def is_keyword(word):
    return word in KEYWORDS


def count(words):
    return sum(1 for w in words if w in KEYWORDS)
"""
KEYWORDS_SET = """KEYWORDS = frozenset(['if', 'else', 'for', 'while'])
OTHER = 2


def is_keyword(word):
    return not KEYWORDS.isdisjoint((word,))
"""


def test_a_constant_the_new_function_reads_in_a_new_form_is_replaced() -> None:
    target = Target(FunctionRef("words", "is_keyword"), "words.py", KEYWORDS_LIST)
    new = splice_candidate(target, KEYWORDS_SET, "outside:test").module_source
    assert new.startswith("KEYWORDS = frozenset(['if', 'else', 'for', 'while'])\nOTHER = 1\n")
    assert new.count("KEYWORDS =") == 1  # replaced in its place, not added again
    namespace: dict[str, object] = {}
    exec(compile(new, "words.py", "exec"), namespace)
    assert namespace["is_keyword"]("for") is True  # type: ignore[operator]
    taken, used, ignored = _extra_code_notes(KEYWORDS_SET, target, new)
    assert "replaced: KEYWORDS" in taken
    assert "`KEYWORDS` is also used by count" in used
    assert "1 other top-level statement(s)" in ignored  # OTHER: the function does not read it


STRINGS = """def serialize_name(value):
    return value


def serialize_string_value(value):
    return "".join(r"\\"" if c == '"' else r"\\\\" if c == "\\\\" else c for c in value)
"""
# tinycss2 1.5.0's serialize_string_value (ce505d3): the pattern is built in two lines that
# bind the same name, the second reading the first
STRINGS_FAST = r"""import re

_replacement = {'"': r'\"', '\\': r'\\'}
_pattern = ''.join(re.escape(char) for char in _replacement)
_pattern = re.compile(f'[{_pattern}]')
def _match(match):
    return _replacement[match.group(0)]
def serialize_string_value(value):
    return _pattern.sub(_match, value)
"""


@pytest.mark.parametrize("present", [False, True], ids=["new", "changed"])
def test_a_name_the_new_source_binds_in_several_lines_comes_with_all_of_them(
    present: bool,
) -> None:
    """perfloop took only the last `_re_string_value = ...` line, so the maintainer's
    version could not be loaded ("NameError: name '_re_string_value' is not defined")
    and verify was UNDECIDED; where the module has the name already (one line), the new
    source's lines take the place of that line."""
    module = ("_pattern = None\n\n\n" if present else "") + STRINGS
    target = Target(FunctionRef("serializer", "serialize_string_value"), "serializer.py", module)
    new = splice_candidate(target, STRINGS_FAST, "outside:test").module_source
    assert new.count("_pattern = ''.join(") == 1
    assert new.count("_pattern = re.compile(") == 1
    assert "_pattern = None" not in new
    assert new.index("_pattern = ''.join(") < new.index("_pattern = re.compile(")
    namespace: dict[str, object] = {}
    exec(compile(new, "serializer.py", "exec"), namespace)
    assert namespace["serialize_string_value"]('a"b\\c') == 'a\\"b\\\\c'  # type: ignore[operator]
    (taken,) = _extra_code_notes(STRINGS_FAST, target, new)
    assert ("replaced: _pattern" if present else "new: _replacement, _pattern, _match") in taken


TINYCSS2_FAST = r"""import re

_replacement_string_value = {
    '"': r'\"',
    '\\': r'\\',
    '\n': r'\A ',
    '\r': r'\D ',
    '\f': r'\C ',
}
_re_string_value = ''.join(re.escape(char) for char in _replacement_string_value)
_re_string_value = re.compile(f'[{_re_string_value}]', re.MULTILINE)
def _serialize_string_value_match(match):
    return _replacement_string_value[match.group(0)]
def serialize_string_value(value):
    return _re_string_value.sub(_serialize_string_value_match, value)
"""


def test_tinycss2s_faster_string_serializer_goes_into_its_real_module(tmp_path: Path) -> None:
    """tinycss2 1.4.0's serializer.py with the maintainer's 1.5.0 version (ce505d3, merged
    as b06111d) put in as perfloop puts it: it loads and escapes as the original does."""
    from pypi_sdists import cached_sdist, unpacked

    root = unpacked(cached_sdist("tinycss2==1.4.0", "tinycss2-1.4.0.tar.gz"), tmp_path)
    source = (root / "tinycss2" / "serializer.py").read_text(encoding="utf-8")
    target = Target(
        FunctionRef("tinycss2.serializer", "serialize_string_value"), "tinycss2/serializer.py",
        source,
    )  # fmt: skip
    new = splice_candidate(target, TINYCSS2_FAST, "outside:test").module_source
    before: dict[str, object] = {}
    after: dict[str, object] = {}
    exec(compile(source, "serializer.py", "exec"), before)
    exec(compile(new, "serializer.py", "exec"), after)
    for text in ["", "plain", 'a "quoted" \\ path', "lines\n\r\f end", "\\\\\n\n\"'"]:
        assert after["serialize_string_value"](text) == before["serialize_string_value"](text)  # type: ignore[operator]
    assert after["serialize_string_value"] is not before["serialize_string_value"]
    assert "_re_string_value.sub(" in new
