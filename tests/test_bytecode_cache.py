"""Workload runs share a bytecode cache outside the project, and it never runs stale code."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from perfloop import bytecode
from perfloop.workload import RuntimeSpec, run_workload

BENCH = "import lib\nprint(lib.word())\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "perfloop" / "pycache"


def _project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    root.mkdir()
    (root / "bench.py").write_text(BENCH)
    (root / "lib.py").write_text("def word():\n    return 'alpha'\n")
    return root


def test_an_edit_of_the_same_size_in_the_same_second_is_run_not_the_cached_code(
    tmp_path: Path, cache: Path
) -> None:
    root = _project(tmp_path)
    first = run_workload("python bench.py", root, spec=RuntimeSpec())
    assert first.succeeded, first.stderr
    assert first.stdout.strip() == "alpha"
    lib = root / "lib.py"
    cached = bytecode.cached_path(lib, cache)
    header = cached.read_bytes()[:8]
    assert header[:4] == importlib.util.MAGIC_NUMBER
    assert int.from_bytes(header[4:8], "little") == 0b11  # checked hash-based (PEP 552)
    stamp = lib.stat()
    lib.write_text("def word():\n    return 'omega'\n")  # same size
    os.utime(lib, ns=(stamp.st_atime_ns, stamp.st_mtime_ns))  # same mtime: a timestamp pyc
    assert lib.stat().st_size == stamp.st_size  # would be trusted over the new source
    second = run_workload("python bench.py", root, spec=RuntimeSpec())
    assert second.stdout.strip() == "omega", second.stderr
    assert not list(root.rglob("__pycache__"))  # nothing written into the project


def test_the_standard_library_is_compiled_once_and_reused(tmp_path: Path, cache: Path) -> None:
    root = _project(tmp_path)
    (root / "bench.py").write_text("import fractions\n" + BENCH)
    assert run_workload("python bench.py", root).succeeded
    fractions = Path(sys.modules["os"].__file__).parent / "fractions.py"
    cached = bytecode.cached_path(fractions, cache)
    assert cached.exists()  # written by the workload's Python, under perfloop's cache
    written = cached.stat().st_mtime_ns
    assert run_workload("python bench.py", root).succeeded
    assert cached.stat().st_mtime_ns == written  # read, not compiled again


def test_another_interpreters_timestamp_bytecode_of_a_project_file_is_dropped(
    tmp_path: Path, cache: Path
) -> None:
    root = _project(tmp_path)
    other = bytecode.cached_path(root / "lib.py", cache, tag="cpython-39")
    other.parent.mkdir(parents=True)
    other.write_bytes(b"\x61\x0d\x0d\x0a" + (0).to_bytes(4, "little") + b"\0" * 8)
    bytecode.prepare_project(root, cache)
    assert not other.exists()
    assert bytecode.cached_path(root / "lib.py", cache).exists()


def test_a_candidate_run_reads_the_cache_but_writes_nothing_to_it(
    tmp_path: Path, cache: Path
) -> None:
    root = _project(tmp_path)
    (root / "bench.py").write_text("import fractions\n" + BENCH)
    run = run_workload("python bench.py", root, candidate_code=True)
    assert run.succeeded, run.stderr
    fractions = Path(sys.modules["os"].__file__).parent / "fractions.py"
    assert not bytecode.cached_path(fractions, cache).exists()
