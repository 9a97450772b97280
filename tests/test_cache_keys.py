"""What a cached target's key depends on: its own source and the project code it reaches,
and nothing else of its module; and the cache file's own troubles (damaged, another
perfloop's) never stop a run."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from perfloop.model import CallRecord, FunctionRef, TargetCapture
from perfloop.project import Project
from perfloop.store.cache import CACHE_FILE, CacheKey, ResultCache
from perfloop.store.cache_keys import capture_fingerprint, function_dependencies

PACKAGE = {
    "pkg/__init__.py": "",
    "pkg/util.py": """
        SCALE = 3

        def helper(x):
            return x * SCALE

        def unrelated(x):
            return x - 1
    """,
    "pkg/core.py": """
        import pkg.util as u
        from .util import helper

        LIMIT = 10

        def uses_helper(values):
            return [helper(v) for v in values if v < LIMIT]

        def uses_module(values):
            return [u.unrelated(v) for v in values]

        def neighbour(values):
            return sorted(values)

        class Basket:
            tax = 2

            def total(self, prices):
                return sum(self._each(p) for p in prices)

            def _each(self, price):
                return price * self.tax

            def describe(self):
                return "basket"
    """,
}


def dependencies(root: Path, qualname: str, module: str = "pkg.core"):
    path = root / Path(*module.split(".")).with_suffix(".py")
    return function_dependencies(Project(root), FunctionRef(module, qualname), path.read_text())


def edited(root: Path, relative: str, old: str, new: str) -> None:
    path = root / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


@pytest.mark.parametrize(
    ("qualname", "file", "old", "new", "changes"),
    [
        # another function of the same module: nothing of this target changes
        ("uses_helper", "pkg/core.py", "sorted(values)", "list(values)", set()),
        # its own body
        ("uses_helper", "pkg/core.py", "if v < LIMIT", "if v <= LIMIT", {"function"}),
        # a module constant it reads
        ("uses_helper", "pkg/core.py", "LIMIT = 10", "LIMIT = 11", {"callees"}),
        # a function it imports from another module, and what that one reads
        ("uses_helper", "pkg/util.py", "x * SCALE", "x * SCALE + 0", {"callees"}),
        ("uses_helper", "pkg/util.py", "SCALE = 3", "SCALE = 4", {"callees"}),
        # a function of that module it does not reach
        ("uses_helper", "pkg/util.py", "x - 1", "x - 2", set()),
        # through `import pkg.util as u; u.unrelated(...)`
        ("uses_module", "pkg/util.py", "x - 1", "x - 2", {"callees"}),
        ("uses_module", "pkg/util.py", "x * SCALE", "x * SCALE + 0", set()),
        # a method: the methods it reaches through self, and class attributes
        ("Basket.total", "pkg/core.py", "price * self.tax", "self.tax * price", {"callees"}),
        ("Basket.total", "pkg/core.py", "tax = 2", "tax = 3", {"function"}),
        ("Basket.total", "pkg/core.py", 'return "basket"', 'return "cart"', set()),
    ],
)
def test_a_target_depends_on_its_source_and_what_it_reaches_only(
    make_project, qualname: str, file: str, old: str, new: str, changes: set[str]
) -> None:
    root = make_project(PACKAGE)
    before = dependencies(root, qualname)
    edited(root, file, old, new)
    after = dependencies(root, qualname)
    changed = {
        name for name in ("function", "callees") if getattr(before, name) != getattr(after, name)
    }
    assert changed == changes


def test_the_recorded_calls_fingerprint_changes_with_any_recorded_byte() -> None:
    ref = FunctionRef("m", "f")
    record = CallRecord(0, b"args", b"outcome", "", "f(1)")
    capture = TargetCapture(ref, 1, (record,))
    assert capture_fingerprint(capture) == capture_fingerprint(TargetCapture(ref, 1, (record,)))
    other = CallRecord(0, b"args", b"outcomf", "", "f(1)")
    assert capture_fingerprint(capture) != capture_fingerprint(TargetCapture(ref, 1, (other,)))
    assert capture_fingerprint(capture) != capture_fingerprint(TargetCapture(ref, 2, (record,)))


KEY = CacheKey((("function", "abc"), ("python", "CPython 3.11.7")))


def test_a_damaged_cache_file_is_moved_aside_and_a_new_one_started(tmp_path: Path) -> None:
    (tmp_path / CACHE_FILE).write_bytes(b"this is not a database, it only has its name" * 100)
    cache, note = ResultCache.open(tmp_path)
    assert cache is not None and note is not None
    assert "could not be read" in note and "moved to cache.db.unreadable-" in note
    assert list(tmp_path.glob("cache.db.unreadable-*"))
    cache.put("target", KEY, "run-1", ("a", 1), function="m:f")
    entry = cache.get("target", KEY, tuple)
    assert entry is not None and entry.payload == ("a", 1) and entry.run_id == "run-1"
    cache.close()


def test_a_cache_of_another_perfloop_is_left_alone_and_not_used(tmp_path: Path) -> None:
    path = tmp_path / CACHE_FILE
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE entries (x)")
    connection.execute("PRAGMA user_version=99")
    connection.commit()
    connection.close()
    before = path.read_bytes()
    cache, note = ResultCache.open(tmp_path)
    assert cache is None
    assert note is not None and "another perfloop (cache schema 99" in note
    assert path.read_bytes() == before


def test_a_payload_that_is_not_perfloop_data_is_a_miss_with_a_note(tmp_path: Path) -> None:
    cache, _ = ResultCache.open(tmp_path)
    assert cache is not None
    cache.put("target", KEY, "run-1", ("fine",))
    connection = sqlite3.connect(tmp_path / CACHE_FILE)
    evil = b"cos\nsystem\n(S'echo hacked'\ntR."
    connection.execute("UPDATE entries SET payload=?", (evil,))
    connection.commit()
    connection.close()
    assert cache.get("target", KEY, tuple) is None
    assert any("was not used" in note for note in cache.notes)
    cache.close()


def test_a_package_that_imports_its_own_submodules_by_name_is_followed_once(
    make_project,
) -> None:
    # attrs 25.3.0: attr/__init__.py has `from . import converters, ...`; a target that
    # reads `attr.converters`-style names followed that statement back into the package
    # itself, forever: `perfloop optimize` stopped with RecursionError
    root = make_project(
        {
            "attr/__init__.py": "from . import converters\nfrom ._funcs import asdict\n",
            "attr/converters.py": "def optional(x):\n    return x\n",
            "attr/_funcs.py": (
                "import attr\nfrom . import converters\n\n\n"
                "def asdict(inst):\n    return converters.optional(attr.converters)\n"
            ),
        }
    )
    found = dependencies(root, "asdict", "attr._funcs")
    assert "def optional(x)" in found.callees
    assert found.modules == ("attr", "attr._funcs", "attr.converters")
