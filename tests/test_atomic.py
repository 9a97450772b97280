"""perfloop.atomic: the one way perfloop replaces a file."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from perfloop.atomic import commit, stage, write_atomic


@pytest.fixture
def umask_027() -> Iterator[None]:
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_an_existing_file_keeps_its_mode_and_gets_the_exact_bytes(tmp_path: Path) -> None:
    target = tmp_path / "tool.py"
    target.write_text("old\n")
    target.chmod(0o755)
    write_atomic(target, "new\r\nline\n")
    assert target.read_bytes() == b"new\r\nline\n"  # newlines as given, not translated
    assert mode(target) == 0o755
    assert [p.name for p in tmp_path.iterdir()] == ["tool.py"]  # no temporary left


def test_a_new_file_gets_the_mode_open_would_give_it(tmp_path: Path, umask_027: None) -> None:
    write_atomic(tmp_path / "report.md", b"# report\n")
    (tmp_path / "plain.md").write_text("# plain\n")
    assert mode(tmp_path / "report.md") == mode(tmp_path / "plain.md") == 0o640


def test_a_staged_file_changes_nothing_until_it_is_committed(tmp_path: Path) -> None:
    target = tmp_path / "shop.py"
    target.write_text("old\n")
    target.chmod(0o644)
    staged = stage(target, "new\n")
    assert target.read_text() == "old\n"
    assert mode(staged) == 0o644 and staged.parent == tmp_path
    commit(staged, target)
    assert target.read_text() == "new\n"
    assert not staged.exists()
