"""The patch: merged per file, refused when files changed, never half-written."""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest

from perfloop.model import Candidate, FunctionRef
from perfloop.patch import (
    ApplyRefused,
    FileChange,
    apply_changes,
    merge_candidates,
    revert_changes,
    splice_function,
    unified_diff,
)

ORIGINAL = '''"""Pricing."""
import math


def cheapest(prices):
    return sorted(prices)[0]


class Cart:
    def total(self, prices):
        out = 0
        for p in prices:
            out += p
        return out
'''


def candidate(qualname: str, module_source: str) -> Candidate:
    return Candidate(FunctionRef("shop", qualname), "rule:test", "", module_source, "", "shop.py")


def test_two_candidates_in_one_file_are_merged_with_their_imports() -> None:
    first = candidate(
        "cheapest",
        ORIGINAL.replace("import math\n", "import heapq\nimport math\n").replace(
            "return sorted(prices)[0]", "return min(prices)"
        ),
    )
    second = candidate(
        "Cart.total",
        ORIGINAL.replace(
            "        out = 0\n        for p in prices:\n            out += p\n        return out",
            "        return sum(prices)",
        ),
    )
    merged = merge_candidates(ORIGINAL, [first, second])
    assert "return min(prices)" in merged
    assert "return sum(prices)" in merged
    assert merged.startswith('"""Pricing."""\nimport math\nimport heapq\n')
    compile(merged, "shop.py", "exec")


def test_the_diff_names_the_file_relative_to_the_root() -> None:
    diff = unified_diff([FileChange("pkg/shop.py", "a = 1\n", "a = 2\n")])
    assert diff.splitlines()[:2] == ["--- a/pkg/shop.py", "+++ b/pkg/shop.py"]
    assert "-a = 1" in diff and "+a = 2" in diff


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        (root / name).write_text(text)


def test_apply_writes_every_file_and_keeps_backups(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 1\n"})
    changes = [FileChange("a.py", "x = 1\n", "x = 2\n"), FileChange("b.py", "y = 1\n", "y = 2\n")]
    apply_changes(tmp_path, changes, tmp_path / "backup")
    assert (tmp_path / "a.py").read_text() == "x = 2\n"
    assert (tmp_path / "b.py").read_text() == "y = 2\n"
    assert (tmp_path / "backup" / "a.py").read_text() == "x = 1\n"
    revert_changes(tmp_path, changes)
    assert (tmp_path / "a.py").read_text() == "x = 1\n"


def test_apply_refuses_when_a_file_changed_since_the_run_started(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 1  # edited by the user meanwhile\n"})
    changes = [FileChange("a.py", "x = 1\n", "x = 2\n"), FileChange("b.py", "y = 1\n", "y = 2\n")]
    with pytest.raises(
        ApplyRefused, match=r"b\.py changed since this run read it; nothing was written"
    ):
        apply_changes(tmp_path, changes, tmp_path / "backup")
    assert (tmp_path / "a.py").read_text() == "x = 1\n"
    assert (tmp_path / "b.py").read_text() == "y = 1  # edited by the user meanwhile\n"


def test_a_failed_write_restores_the_files_already_replaced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write(tmp_path, {"a.py": "x = 1\n", "b.py": "y = 1\n"})
    changes = [FileChange("a.py", "x = 1\n", "x = 2\n"), FileChange("b.py", "y = 1\n", "y = 2\n")]
    real_replace = os.replace

    def failing_replace(source: str, target: str) -> None:
        if str(target).endswith("b.py") and "backup" not in str(target):
            raise OSError("disk full")
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", failing_replace)
    with pytest.raises(ApplyRefused, match="every file was restored"):
        apply_changes(tmp_path, changes, tmp_path / "backup")
    monkeypatch.undo()
    assert (tmp_path / "a.py").read_text() == "x = 1\n"
    assert (tmp_path / "b.py").read_text() == "y = 1\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.py", "b.py", "backup"]


def test_apply_removes_the_stale_bytecode_of_a_patched_file(tmp_path: Path) -> None:
    write(tmp_path, {"a.py": "x = 1\n"})
    cached = Path(importlib.util.cache_from_source(str(tmp_path / "a.py")))
    cached.parent.mkdir()
    cached.write_bytes(b"stale")
    apply_changes(tmp_path, [FileChange("a.py", "x = 1\n", "x = 2\n")], tmp_path / "backup")
    assert not cached.exists()


def test_a_constant_added_above_a_def_at_the_top_of_a_file_is_spaced_as_pep_8_says() -> None:
    """The def's blank lines (none, at the top) go above the new constant, and two blank
    lines between it and the def: the patch read "SCALE = 3\\ndef total" below three
    blank lines."""
    module = "def total(xs):\n    return sum(xs) * 3\n\n\ndef mean(xs):\n    return 0\n"
    candidate = "SCALE = 3\n\n\ndef total(xs):\n    return sum(xs) * SCALE\n"
    assert splice_function(module, "total", candidate).startswith(
        "SCALE = 3\n\n\ndef total(xs):\n    return sum(xs) * SCALE\n\n\ndef mean(xs):"
    )
    # below another definition, the constant takes the def's two blank lines, as before
    later = splice_function(module, "mean", "FLOOR = 0\n\n\ndef mean(xs):\n    return FLOOR\n")
    assert "return sum(xs) * 3\n\n\nFLOOR = 0\n\n\ndef mean(xs):\n    return FLOOR\n" in later
