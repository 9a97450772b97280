"""Pinned sdists from PyPI for the tests that run perfloop on real libraries.

Each is downloaded once with pip into ~/.cache/perfloop-bench (the cache
benchmarks/real_libraries.py uses too); a test that needs one is skipped only when
PyPI cannot be reached.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pytest

CACHE = Path.home() / ".cache" / "perfloop-bench"


def cached_sdist(spec: str, filename: str) -> Path:
    """The sdist of `spec` ("name==version"), named `filename`, from the cache or PyPI."""
    path = CACHE / filename
    if path.exists():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    # Into a folder of its own, then renamed into place: the tests run on two processes,
    # and one must never read an sdist the other is still writing.
    with tempfile.TemporaryDirectory(dir=CACHE) as downloading:
        done = subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:",
             "--quiet", spec, "-d", downloading],
            capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        fetched = Path(downloading) / filename
        if done.returncode != 0 or not fetched.exists():
            pytest.skip(f"cannot download {spec} from PyPI (offline?): {done.stderr[-300:]}")
        os.replace(fetched, path)
    return path


def unpacked(sdist: Path, into: Path) -> Path:
    """The sdist unpacked under `into`; its root folder."""
    with tarfile.open(sdist) as archive:
        archive.extractall(into, filter="data")
    (root,) = [path for path in into.iterdir() if path.is_dir()]
    return root
