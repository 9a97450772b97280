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


# On two xdist processes with `--dist loadscope` (see the Makefile), each test module goes
# to one process as a whole, so a module-scoped fixture (usually a real run of perfloop
# that several tests read) is built once. The modules with long tests come first, the quick
# ones last, so whichever process finishes early takes the next quick module and neither
# waits long for the other at the end (with `--no-loadscope-reorder`, xdist hands modules
# out in this order). A stable sort: the order within each kind is kept.
# (`--dist loadgroup` would group by fixture across modules, but on pytest 9.2 it silently
# groups nothing: pytest-xdist issue 1386.)
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not getattr(config.option, "numprocesses", None):
        return  # one process: the order stays pytest's own
    long = {item.path for item in items if _is_long(item)}
    items.sort(key=lambda item: item.path not in long)


def _is_long(item: pytest.Item) -> bool:
    if item.get_closest_marker("slow") or item.get_closest_marker("llm"):
        return True
    info = getattr(item, "_fixtureinfo", None)  # pytest's per-item fixture closure
    return any(
        definitions[-1].scope != "function" and definitions[-1].baseid  # one of ours
        for definitions in (info.name2fixturedefs.values() if info else ())
    )
