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
    ref = FunctionRef("shop", "cheapest")
    assert _extra_code_notes("import heapq\ndef cheapest(p):\n    return 1\n", ref) == ()
    (note,) = _extra_code_notes(
        "LIMIT = 3\ndef helper():\n    pass\ndef cheapest(p):\n    return 1\n", ref
    )
    assert "the other 2 top-level statement(s) in it were ignored" in note


def test_module_names_come_from_paths_that_python_can_import(tmp_path: Path) -> None:
    project = Project(tmp_path)
    assert module_name("pkg/mod.py", project) == "pkg.mod"
    assert module_name("pkg/__init__.py", project) == "pkg"
    assert module_name("scripts/my-tool.py", project) is None
    assert module_name("README.md", project) is None
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    assert module_name("src/pkg/mod.py", project) == "pkg.mod"
