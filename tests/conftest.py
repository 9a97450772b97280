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


# `make test` runs the suite on two xdist processes with `--dist loadgroup` (and the tests
# marked `serial` alone afterwards). A module- or session-scoped fixture of these tests is
# usually a whole real run of perfloop that several tests read; were its tests spread over
# both processes, each would build it. So every test that uses such a fixture joins one
# xdist group with the other tests that use it (and with theirs, transitively): the group
# runs on one process, which builds the fixture once. Pytest's own fixtures
# (tmp_path_factory and the like) share nothing costly and group nothing.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = _groups_of_shared_fixtures(items)
    for item, group in zip(items, groups, strict=True):
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
    # The long tests first, the quick ones last: whichever process finishes early takes the
    # next quick test, so neither waits long for the other at the end. (xdist starts with
    # the groups, the largest first.) A stable sort: the order within each kind is kept.
    heavy = {id(item) for item, group in zip(items, groups, strict=True) if group is not None}
    heavy |= {id(item) for item in items if item.get_closest_marker("slow")}
    heavy |= {id(item) for item in items if item.get_closest_marker("llm")}
    items.sort(key=lambda item: id(item) not in heavy)


def _groups_of_shared_fixtures(items: list[pytest.Item]) -> list[str | None]:
    """Per item, the name of its group of tests that share a module- or session-scoped
    fixture defined by these tests, or None."""
    parent: dict[str, str] = {}

    def root(key: str) -> str:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    shared: list[list[str]] = []
    for item in items:
        keys = []
        info = getattr(item, "_fixtureinfo", None)  # pytest's per-item fixture closure
        for name, definitions in info.name2fixturedefs.items() if info else ():
            definition = definitions[-1]  # the one this item gets (the closest override)
            if definition.scope in ("module", "session", "package", "class") and definition.baseid:
                key = f"{definition.baseid}::{name}"
                parent.setdefault(key, key)
                keys.append(key)
        for key in keys[1:]:
            parent[root(key)] = root(keys[0])
        shared.append(keys)
    return [root(keys[0]) if keys else None for keys in shared]
