"""Shared fixtures: small real projects written into a temporary folder."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

# Property tests are deterministic (the same examples every run) and have no per-example
# deadline: CI machines are shared, and a slow example is not a failure.
settings.register_profile("perfloop", derandomize=True, deadline=None, print_blob=True)
settings.load_profile("perfloop")

ProjectFactory = Callable[[dict[str, str]], Path]


@pytest.fixture
def make_project(tmp_path: Path) -> ProjectFactory:
    """Write {relative path: source} under a fresh project root and return the root."""

    def make(files: dict[str, str]) -> Path:
        root = tmp_path / "project"
        for relative, text in files.items():
            path = root / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text).lstrip("\n"))
        return root

    return make
