"""The bytecode cache perfloop's workload runs share, kept outside the user's tree.

A workload run perfloop starts has PYTHONPYCACHEPREFIX set, so no `__pycache__` is
written into the user's project. With a fresh prefix per run (as before), every run
compiled the standard library, perfloop and the project again: 0.3-0.6 s per run on
chardet 5.2.0's 1.8 s workload. The prefix is now one folder per user,
`$XDG_CACHE_HOME/perfloop/pycache` (else `~/.cache/perfloop/pycache`), and kept
safe against stale bytecode this way:

- the project's own files (the `.py` files under the project root, not in hidden
  folders or virtual environments) are compiled by perfloop before each run as
  *checked hash-based* pycs (PEP 552): Python compares the source's hash with the
  one in the pyc at every import and recompiles on any difference (and writes the
  new pyc hash-based again), so an edit, a patch or a revert is never shadowed, even
  one of the same size in the same second. Another interpreter's timestamp pycs of
  those files are removed (it compiles them afresh, as with a fresh cache);
- everything else (the standard library, installed packages, perfloop) is cached as
  Python caches it by default: by source mtime and size. perfloop never rewrites
  those files.

Runs with candidate code in place read the cache and never write to it
(PYTHONDONTWRITEBYTECODE), so nothing compiled from a candidate outlives its run.
When the folder cannot be made or written, runs use a fresh prefix of their own.
Directories of sources that no longer exist (temporary projects) are pruned from the
cache at most once a day.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import py_compile
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path

_CHECKED_HASH_FLAGS = 0b11  # PEP 552: hash-based, check the source
_PRUNE_EVERY = 24 * 3600.0
_SKIPPED_FOLDERS = frozenset({"__pycache__", "node_modules", "site-packages"})


def shared_prefix() -> Path | None:
    """The shared cache folder (made if needed), or None when it cannot be written."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    prefix = base / "perfloop" / "pycache"
    try:
        prefix.mkdir(parents=True, exist_ok=True)
        if not os.access(prefix, os.W_OK | os.X_OK):
            return None
    except OSError:
        return None
    _prune_now_and_then(prefix)
    return prefix


def cached_path(source: Path, prefix: Path, tag: str | None = None) -> Path:
    """Where Python looks for the bytecode of `source` under `prefix` (as
    importlib.util.cache_from_source does with sys.pycache_prefix set)."""
    tag = tag or sys.implementation.cache_tag
    absolute = Path(os.path.abspath(source))
    return prefix / str(absolute.parent).lstrip(os.sep) / f"{absolute.stem}.{tag}.pyc"


def prepare_project(root: Path, prefix: Path) -> None:
    """Make the cached bytecode of every project source checked hash-based (see the
    module doc); compile only what is missing or not yet hash-based."""
    roots = {Path(os.path.abspath(root)), root.resolve()}  # both spellings Python may use
    for folder in roots:
        for source in project_sources(folder):
            _ensure_checked(source, prefix)


def project_sources(root: Path) -> Iterator[Path]:
    """The `.py` files under `root`, leaving out hidden folders, virtual environments,
    `__pycache__`, `node_modules` and `site-packages`."""
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [
            name
            for name in subfolders
            if not name.startswith(".")
            and name not in _SKIPPED_FOLDERS
            and not os.path.exists(os.path.join(folder, name, "pyvenv.cfg"))
        ]
        for name in files:
            if name.endswith(".py"):
                yield Path(folder, name)


def _ensure_checked(source: Path, prefix: Path) -> None:
    target = cached_path(source, prefix)
    try:
        with open(target, "rb") as handle:
            header = handle.read(8)
    except OSError:
        header = b""
    fresh = (
        header[:4] == importlib.util.MAGIC_NUMBER
        and int.from_bytes(header[4:8], "little") == _CHECKED_HASH_FLAGS
    )
    if not fresh:
        with contextlib.suppress(py_compile.PyCompileError, OSError, ValueError):
            py_compile.compile(  # written atomically (importlib's own writer)
                str(source),
                cfile=str(target),
                doraise=True,
                invalidation_mode=py_compile.PycInvalidationMode.CHECKED_HASH,
            )
    _drop_other_timestamp_pycs(source, target)


def _drop_other_timestamp_pycs(source: Path, ours: Path) -> None:
    """Another interpreter's pyc of a project file, unless hash-based, could go stale:
    remove it, so that interpreter compiles the file afresh."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(ours.parent):
            name = entry.name
            if not name.startswith(f"{source.stem}.") or not name.endswith(".pyc"):
                continue
            if name == ours.name:
                continue
            with contextlib.suppress(OSError):
                with open(entry.path, "rb") as handle:
                    flags = int.from_bytes(handle.read(8)[4:8], "little")
                if not flags & 0b1:
                    os.unlink(entry.path)


def forget(source: Path) -> None:
    """Remove the shared cache's bytecode of `source` (after perfloop rewrote it)."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    folder = cached_path(source, base / "perfloop" / "pycache").parent
    with contextlib.suppress(OSError):
        for entry in os.scandir(folder):
            if entry.name.startswith(f"{Path(source).stem}.") and entry.name.endswith(".pyc"):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)


def _prune_now_and_then(prefix: Path) -> None:
    """Remove cached folders whose source folder is gone, at most once a day."""
    stamp = prefix / ".pruned"
    try:
        if time.time() - stamp.stat().st_mtime < _PRUNE_EVERY:
            return
    except OSError:
        pass
    with contextlib.suppress(OSError):
        stamp.touch()
    for folder, subfolders, _ in os.walk(prefix):
        source = os.sep + os.path.relpath(folder, prefix)
        kept = []
        for name in subfolders:
            if os.path.isdir(os.path.join(source, name)):
                kept.append(name)
            else:
                shutil.rmtree(os.path.join(folder, name), ignore_errors=True)
        subfolders[:] = kept
